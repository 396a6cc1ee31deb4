"""Ops that change where or how values are stored: backend moves, dtype casts, copies, comparisons."""
from __future__ import annotations

from minicnn import backend
from minicnn.ops._common import binary_operands
from minicnn.tensor import Function, Tensor


class ToBackend(Function):
    """y = x on another backend (e.g. NumPy -> CuPy);  dL/dx = g moved back."""

    def forward(self, x, name):
        self.source = backend.backend_of(x).name
        return backend.to_backend(x, name)

    def backward(self, g):
        return backend.to_backend(g, self.source), None


class Cast(Function):
    """y = x as another dtype;  dL/dx = g cast back to x's dtype."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype), None


class Clone(Function):
    """y = a copy of x;  dL/dx = g."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def compare(name, a, b):
    """Element-wise comparison giving a bool Tensor (not differentiable)."""
    a, b = binary_operands(name, a, b)
    xp = backend.array_module(*(t.data for t in (a, b) if isinstance(t, Tensor)), op=name)
    raw = [t.data if isinstance(t, Tensor) else t for t in (a, b)]
    return Tensor(xp.asarray(getattr(xp, name)(*raw)))
