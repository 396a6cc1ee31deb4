"""Matrix product with NumPy's batching and broadcasting rules (torch.matmul)."""
from __future__ import annotations

from minicnn import backend
from minicnn.ops._common import as_operand
from minicnn.tensor import Function, Tensor, unbroadcast


class MatMul(Function):
    """Y = A @ B over the last two axes, batch axes broadcast.

    dL/dA = G @ B^T,  dL/dB = A^T @ G  (^T swaps the last two axes), each then
    summed over the batch axes that broadcasting added.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        xp = backend.array_module(g)
        na, nb = self.needs_input_grad
        ga = unbroadcast(g @ xp.swapaxes(self.b, -1, -2), self.a.shape) if na else None
        gb = unbroadcast(xp.swapaxes(self.a, -1, -2) @ g, self.b.shape) if nb else None
        return ga, gb


def matmul(a, b):
    """Matrix product; 1-D operands are treated as a row (left) or column (right) vector."""
    a, b = as_operand(a, "matmul"), as_operand(b, "matmul")
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul: both operands must be Tensors or arrays, not Python numbers")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dim, got shapes {a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({k_a} != {k_b})")
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    try:
        backend.numpy_module().broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dims of shapes {a.shape} and {b.shape} cannot be broadcast") from None
    y = MatMul.apply(a2, b2)
    if a.ndim == 1:
        y = y.squeeze(-2)
    if b.ndim == 1:
        y = y.squeeze(-1)
    return y
