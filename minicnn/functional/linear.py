"""Fully connected layer and dropout (torch.nn.functional names): linear, dropout."""
from __future__ import annotations

from minicnn import backend
from minicnn.factories import generator
from minicnn.tensor import Function, Tensor


class Linear(Function):
    """y = x W^T + b over the last axis of x (any leading dims), W of shape (out, in).

    dL/dx = g W,   dL/dW = sum over leading dims of g^T x (one (out, in) GEMM on the
    flattened rows),   dL/db = g summed over every leading dim.
    """

    def forward(self, x, weight, bias):
        self.x, self.weight = x, weight
        y = x @ weight.T
        if bias is not None:
            y = y + bias
        return y

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        k = self.weight.shape[1]
        gx = g @ self.weight if need_x else None
        gw = g.reshape(-1, g.shape[-1]).T @ self.x.reshape(-1, k) if need_w else None
        gb = g.reshape(-1, g.shape[-1]).sum(axis=0) if need_b else None
        return gx, gw, gb


class Dropout(Function):
    """y = x * mask / (1 - p), mask_i ~ Bernoulli(1 - p) (inverted dropout: E[y] = x).

    dL/dx = g * mask / (1 - p).
    """

    def forward(self, x, mask, scale):
        self.kept = mask * x.dtype.type(scale)  # 0 or 1/(1-p), in x's dtype
        return x * self.kept

    def backward(self, g):
        return g * self.kept, None, None


def linear(input, weight, bias=None):
    """input @ weight.T + bias; input (*, in) or (in,), weight (out, in), bias (out,) or None."""
    op = "linear"
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is None and name == "bias":
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if input.ndim < 1:
        raise ValueError(f"{op}: input needs at least 1 dim, but it is 0D (shape {input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"{op}: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    out_f, in_f = weight.shape
    if input.shape[-1] != in_f:
        rows = input.numel() // input.shape[-1] if input.shape[-1] else 0
        raise ValueError(f"{op}: mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} "
                         f"and {in_f}x{out_f}): input {input.shape}, weight {weight.shape}")
    if bias is not None and bias.shape != (out_f,):
        raise ValueError(f"{op}: bias must have shape ({out_f},) to match weight {weight.shape}, "
                         f"got {bias.shape}")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        got = [str(t.dtype) for t in (input, weight, bias) if t is not None]
        raise TypeError(f"{op}: input, weight and bias must share a dtype, got {', '.join(got)}")
    return Linear.apply(input, weight, bias)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1 - p) (inverted dropout).

    The mask comes from minicnn's seedable generator (``minicnn.manual_seed``), drawn on
    the CPU and moved to the input's backend, so a seed gives the same mask on every
    backend (not torch's mask). ``training=False`` or ``p=0`` returns ``input`` itself;
    ``p=1`` zeroes everything. ``inplace`` is accepted and ignored.
    """
    op = "dropout"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {input.dtype}")
    if not training or p == 0:
        return input
    mask = generator().random(input.shape) >= p  # uniform [0, 1) >= p: kept with probability 1 - p
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0     # p = 1 keeps nothing
    return Dropout.apply(input, backend.array_like(mask, input.data), scale)
