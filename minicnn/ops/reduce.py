"""Reductions: sum, mean, var, std, max/min (with and without dim), amax/amin, argmax/argmin."""
from __future__ import annotations

import builtins
import collections

from minicnn import backend
from minicnn.ops._common import normalize_dim
from minicnn.tensor import Function, Tensor


def _expand_back(g, in_shape, axes, keepdim):
    """Reshape a reduced gradient to keepdim form, then broadcast to the input shape."""
    xp = backend.array_module(g)
    if not keepdim:
        g = g.reshape(tuple(1 if i in axes else n for i, n in enumerate(in_shape)))
    return xp.broadcast_to(g, in_shape)


class Sum(Function):
    """y = sum over ``axes`` of x;  dL/dx = g broadcast back over the summed axes."""

    def forward(self, x, axes, keepdim):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(self, g):
        return _expand_back(g, self.shape, self.axes, self.keepdim), None, None


class Mean(Function):
    """y = mean over ``axes``;  dL/dx = g / N broadcast back, N = number of reduced elements."""

    def forward(self, x, axes, keepdim):
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        self.n = 1
        for a in axes:
            self.n *= x.shape[a]
        return x.mean(axis=axes, keepdims=keepdim)

    def backward(self, g):
        return _expand_back(g / self.n, self.shape, self.axes, self.keepdim), None, None


class Var(Function):
    """y = sum((x - mean)^2) / (N - correction);  dL/dx = g * 2 (x - mean) / (N - correction)."""

    def forward(self, x, axes, keepdim, correction):
        n = 1
        for a in axes:
            n *= x.shape[a]
        self.axes, self.keepdim, self.shape = axes, keepdim, x.shape
        self.centered = x - x.mean(axis=axes, keepdims=True)
        self.denom = builtins.max(n - correction, 0)
        xp = backend.array_module(x)
        sq = (self.centered * self.centered).sum(axis=axes, keepdims=keepdim)
        if self.denom == 0:
            return sq * xp.asarray(float("nan"), dtype=x.dtype)
        return sq / self.denom

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        return g * self.centered * (2.0 / self.denom if self.denom else float("nan")), None, None, None


class Extreme(Function):
    """y = max (or min) over ``axes``;  the gradient is split evenly among the tied maxima.

    This is torch's rule for ``amax``/``amin`` and for ``max()``/``min()`` without dim.
    """

    def forward(self, x, axes, keepdim, largest):
        xp = backend.array_module(x)
        y = (x.max if largest else x.min)(axis=axes, keepdims=True)
        self.mask = (x == y)
        self.count = self.mask.sum(axis=axes, keepdims=True)
        self.axes, self.keepdim, self.shape = axes, keepdim, x.shape
        return y if keepdim else xp.squeeze(y, axis=axes)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        return g * self.mask / self.count, None, None, None


class ExtremeAlong(Function):
    """(values, indices) = max (or min) along one dim;  dL/dx = g at the returned index, 0 elsewhere."""

    def forward(self, x, dim, keepdim, largest):
        xp = backend.array_module(x)
        idx = (x.argmax if largest else x.argmin)(axis=dim)
        idx_k = xp.expand_dims(idx, dim)
        vals = xp.take_along_axis(x, idx_k, axis=dim)
        self.idx_k, self.dim, self.keepdim, self.shape = idx_k, dim, keepdim, x.shape
        if not keepdim:
            return xp.squeeze(vals, axis=dim), idx
        return vals, idx_k

    def backward(self, g):
        xp = backend.array_module(g)
        if not self.keepdim:
            g = xp.expand_dims(g, self.dim)
        out = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(out, self.idx_k, g, axis=self.dim)
        return out, None, None, None


MaxResult = collections.namedtuple("max", ["values", "indices"])
MinResult = collections.namedtuple("min", ["values", "indices"])


def _check(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def sum(x, dim=None, keepdim=False):
    _check(x, "sum")
    return Sum.apply(x, normalize_dim("sum", dim, x.ndim), keepdim)


def mean(x, dim=None, keepdim=False):
    _check(x, "mean")
    if x.dtype.kind != "f":
        raise TypeError(f"mean: expected a floating tensor, got dtype {x.dtype}")
    return Mean.apply(x, normalize_dim("mean", dim, x.ndim), keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance with Bessel's correction by default (torch.var): divide by N - correction."""
    _check(x, "var")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return Var.apply(x, normalize_dim("var", dim, x.ndim), keepdim, correction)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(x, dim, unbiased, keepdim, correction).sqrt()


def _extreme(x, dim, keepdim, largest, op, result):
    _check(x, op)
    if x.numel() == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")
    if dim is None:
        return Extreme.apply(x, normalize_dim(op, None, x.ndim), False, largest)
    (d,) = normalize_dim(op, dim, x.ndim)
    values, indices = ExtremeAlong.apply(x, d, keepdim, largest)
    return result(values, indices)


def max(x, dim=None, keepdim=False):
    """Largest element, or (values, indices) along ``dim`` (torch.max)."""
    return _extreme(x, dim, keepdim, True, "max", MaxResult)


def min(x, dim=None, keepdim=False):
    return _extreme(x, dim, keepdim, False, "min", MinResult)


def amax(x, dim=None, keepdim=False):
    _check(x, "amax")
    return Extreme.apply(x, normalize_dim("amax", dim, x.ndim), keepdim, True)


def amin(x, dim=None, keepdim=False):
    _check(x, "amin")
    return Extreme.apply(x, normalize_dim("amin", dim, x.ndim), keepdim, False)


def argmax(x, dim=None, keepdim=False):
    _check(x, "argmax")
    if dim is None:
        return Tensor(backend.array_module(x.data).asarray(x.data.reshape(-1).argmax()))
    (d,) = normalize_dim("argmax", dim, x.ndim)
    idx = x.data.argmax(axis=d)
    return Tensor(backend.array_module(idx).expand_dims(idx, d) if keepdim else idx)


def argmin(x, dim=None, keepdim=False):
    _check(x, "argmin")
    if dim is None:
        return Tensor(backend.array_module(x.data).asarray(x.data.reshape(-1).argmin()))
    (d,) = normalize_dim("argmin", dim, x.ndim)
    idx = x.data.argmin(axis=d)
    return Tensor(backend.array_module(idx).expand_dims(idx, d) if keepdim else idx)
