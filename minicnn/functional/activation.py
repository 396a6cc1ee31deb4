"""Activations (torch.nn.functional names): relu, leaky_relu, elu, gelu, sigmoid, tanh,
softplus, softmax, log_softmax.

Each is a Function whose backward multiplies the incoming gradient by the
local derivative (element-wise ops) or applies the softmax Jacobian-vector
product (softmax, log_softmax), without ever forming the Jacobian.
"""
from __future__ import annotations

import math
import warnings

from minicnn import backend
from minicnn.ops._common import normalize_dim
from minicnn.tensor import Function, Tensor

_NUMBER = (int, float)


def _check(x, op, floating=False):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if floating and x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {x.dtype}")


def _check_number(op, name, position, value):
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Number, "
                        f"not {type(value).__name__}")


# --- element-wise -------------------------------------------------------------------

class ReLU(Function):
    """y = max(x, 0);  dL/dx = g * [x > 0]  (0 at x = 0, as torch)."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, g):
        return g * self.mask


class LeakyReLU(Function):
    """y = x if x > 0 else s*x;  dL/dx = g * (1 if x > 0 else s)  (s at x = 0, as torch)."""

    def forward(self, x, slope):
        xp = backend.array_module(x)
        self.mask, self.slope = x > 0, slope
        return xp.where(self.mask, x, x * slope)

    def backward(self, g):
        xp = backend.array_module(g)
        return xp.where(self.mask, g, g * self.slope), None


class ELU(Function):
    """y = x if x > 0 else a*(exp(x) - 1);  dL/dx = g * (1 if x > 0 else a*exp(x) = y + a)."""

    def forward(self, x, alpha):
        xp = backend.array_module(x)
        self.mask, self.alpha = x > 0, alpha
        # exp of min(x, 0) so positive inputs never overflow in the unused branch
        self.y = xp.where(self.mask, x, alpha * xp.expm1(xp.minimum(x, 0)))
        return self.y

    def backward(self, g):
        xp = backend.array_module(g)
        return xp.where(self.mask, g, g * (self.y + self.alpha)), None


class GELU(Function):
    """Gaussian error linear unit, y = x * Phi(x) with Phi the standard normal CDF.

    exact ('none'):  y = x/2 (1 + erf(x/sqrt 2));
                     dL/dx = g * (Phi(x) + x * phi(x)),  phi(x) = exp(-x^2/2)/sqrt(2 pi).
    'tanh':          y = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3);
                     dL/dx = g * (1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3*0.044715 x^2)),  t = tanh(u).
    """

    def forward(self, x, approximate):
        xp = backend.array_module(x)
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            self.t = xp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + backend.erf(x * (1 / math.sqrt(2))))
        return x * self.cdf

    def backward(self, g):
        xp = backend.array_module(g)
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du), None
        pdf = xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return g * (self.cdf + x * pdf), None


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dL/dx = g * y * (1 - y)."""

    def forward(self, x):
        xp = backend.array_module(x)
        e = xp.exp(-xp.abs(x))  # never overflows: exp of a non-positive number
        self.y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class Tanh(Function):
    """y = tanh(x);  dL/dx = g * (1 - y^2)."""

    def forward(self, x):
        self.y = backend.array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


class Softplus(Function):
    """y = log(1 + exp(b*x)) / b, and y = x where b*x > threshold (torch's linear region).

    dL/dx = g * sigmoid(b*x) = g * z / (z + 1) with z = exp(b*x), and g where b*x > threshold.
    """

    def forward(self, x, beta, threshold):
        xp = backend.array_module(x)
        bx = x * beta
        self.linear = bx > threshold
        # clip so the unused branch cannot overflow; log1p(exp) is exact where it is used
        self.z = xp.exp(xp.minimum(bx, threshold))
        return xp.where(self.linear, x, xp.log1p(self.z) / beta)

    def backward(self, g):
        xp = backend.array_module(g)
        return xp.where(self.linear, g, g * (self.z / (self.z + 1))), None, None


# --- along a dimension ------------------------------------------------------------------

class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m) along ``dim``, m = max_j x_j (the shift changes nothing
    mathematically and keeps exp from overflowing).

    dL/dx = y * (g - sum_j g_j y_j)   (the Jacobian diag(y) - y y^T applied to g).
    """

    def forward(self, x, dim):
        xp = backend.array_module(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        self.y, self.dim = e / e.sum(axis=dim, keepdims=True), dim
        return self.y

    def backward(self, g):
        y = self.y
        return y * (g - (g * y).sum(axis=self.dim, keepdims=True)), None


class LogSoftmax(Function):
    """y_i = x_i - m - log sum_j exp(x_j - m) along ``dim``, m = max_j x_j (numerically stable).

    dL/dx = g - exp(y) * sum_j g_j   (exp(y) is the softmax).
    """

    def forward(self, x, dim):
        xp = backend.array_module(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        self.y = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.dim = dim
        return self.y

    def backward(self, g):
        xp = backend.array_module(g)
        return g - xp.exp(self.y) * g.sum(axis=self.dim, keepdims=True), None


# --- public functions -------------------------------------------------------------------

def relu(input, inplace=False):
    """max(input, 0). ``inplace`` is accepted for torch compatibility; a new tensor is always returned."""
    _check(input, "relu")
    return ReLU.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where input > 0, else negative_slope * input. ``inplace`` is accepted and ignored."""
    _check(input, "leaky_relu")
    _check_number("leaky_relu", "negative_slope", 2, negative_slope)
    return LeakyReLU.apply(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """input where input > 0, else alpha * (exp(input) - 1). ``inplace`` is accepted and ignored."""
    _check(input, "elu", floating=True)
    _check_number("elu", "alpha", 2, alpha)
    return ELU.apply(input, alpha)


def gelu(input, approximate="none"):
    """x * Phi(x) (``approximate='none'``) or its tanh approximation (``approximate='tanh'``)."""
    _check(input, "gelu", floating=True)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate argument must be either none or tanh, got {approximate!r}")
    return GELU.apply(input, approximate)


def sigmoid(input):
    _check(input, "sigmoid")
    return Sigmoid.apply(input)


def tanh(input):
    _check(input, "tanh")
    return Tanh.apply(input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta*input)) / beta, reverting to the identity where beta*input > threshold."""
    _check(input, "softplus", floating=True)
    _check_number("softplus", "beta", 2, beta)
    _check_number("softplus", "threshold", 3, threshold)
    return Softplus.apply(input, beta, threshold)


def _softmax_dim(op, input, dim):
    if dim is None:
        # torch's legacy implicit choice, with its deprecation warning
        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. "
                      f"Change the call to include dim=X as an argument.", stacklevel=3)
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}")
    return normalize_dim(op, dim, input.ndim)[0]


def _along_dim(fn, op, input, dim, dtype):
    _check(input, op)
    if dtype is not None:
        input = input.to(dtype=dtype)
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor (or pass dtype=), got dtype {input.dtype}")
    d = _softmax_dim(op, input, dim)
    if input.ndim == 0:  # a single element along its only "dimension"
        return fn.apply(input.reshape(1), 0).reshape(())
    return fn.apply(input, d)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (max-subtracted, so large inputs do not overflow).

    ``dtype`` casts the input first, as torch's. ``dim=None`` uses torch's deprecated implicit choice.
    """
    return _along_dim(Softmax, "softmax", input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - log(sum(exp(x))) along ``dim``, computed as (x - m) - log(sum(exp(x - m))), m = max."""
    return _along_dim(LogSoftmax, "log_softmax", input, dim, dtype)
