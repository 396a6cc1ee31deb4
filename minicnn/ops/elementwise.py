"""Element-wise math: exp, log, sqrt, abs, clamp (activations live in functional/activation.py)."""
from __future__ import annotations

from minicnn import backend
from minicnn.ops._common import as_operand
from minicnn.tensor import Function, Tensor


def _tensor(x, op):
    x = as_operand(x, op)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


class Exp(Function):
    """y = exp(x);  dL/dx = g * y."""

    def forward(self, x):
        self.y = backend.array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = log(x);  dL/dx = g / x."""

    def forward(self, x):
        self.x = x
        return backend.array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    """y = sqrt(x);  dL/dx = g / (2 y)."""

    def forward(self, x):
        self.y = backend.array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    """y = |x|;  dL/dx = g * sign(x)  (0 at x = 0, as torch)."""

    def forward(self, x):
        self.x = x
        return backend.array_module(x).abs(x)

    def backward(self, g):
        return g * backend.array_module(g).sign(self.x)


class Clamp(Function):
    """y = min(max(x, lo), hi);  dL/dx = g where lo <= x <= hi, else 0 (torch's convention)."""

    def forward(self, x, lo, hi):
        xp = backend.array_module(x)
        self.x, self.lo, self.hi = x, lo, hi
        return xp.clip(x, lo, hi)

    def backward(self, g):
        keep = True
        if self.lo is not None:
            keep = self.x >= self.lo
        if self.hi is not None:
            keep = keep & (self.x <= self.hi)
        return g * keep, None, None


def exp(x):
    return Exp.apply(_tensor(x, "exp"))


def log(x):
    return Log.apply(_tensor(x, "log"))


def sqrt(x):
    return Sqrt.apply(_tensor(x, "sqrt"))


def abs(x):
    return Abs.apply(_tensor(x, "abs"))


def clamp(x, min=None, max=None):
    """Limit ``x`` to ``[min, max]``; either bound may be None (torch.clamp)."""
    x = _tensor(x, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, (int, float)):
            raise TypeError(f"clamp: {name} must be a number or None, got {type(v).__name__}")
    return Clamp.apply(x, min, max)


clip = clamp
