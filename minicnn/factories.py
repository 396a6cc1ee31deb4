"""Tensor constructors with torch's names: zeros, ones, full, rand, randn, arange, *_like.

``device`` names a backend ('numpy' or 'cupy'), as torch's ``device`` names
'cpu' or 'cuda'. Random constructors draw from one seedable generator
(``manual_seed``) on the CPU and then move the values, so a seed gives the same
numbers on every backend.
"""
from __future__ import annotations

from minicnn import backend as _be
from minicnn.tensor import Tensor

_np = _be.numpy_module()
_rng = [_np.random.default_rng(0)]


def manual_seed(seed: int):
    """Reseed minicnn's generator (used by rand, randn and layer initialisation)."""
    _rng[0] = _np.random.default_rng(seed)
    return _rng[0]


def generator():
    return _rng[0]


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, int) or s < 0:
            raise ValueError(f"expected a shape of non-negative ints, got {size!r}")
    return tuple(size)


def _make(values, dtype, device, requires_grad):
    if dtype is None and values.dtype.kind != "f":
        dt = values.dtype
    else:
        dt = _be.resolve_dtype(dtype)
    return Tensor(_be.asarray(values.astype(dt, copy=False), backend=device), requires_grad=requires_grad)


def zeros(*size, dtype=None, device="numpy", requires_grad=False):
    return _make(_np.zeros(_shape(size)), dtype, device, requires_grad)


def ones(*size, dtype=None, device="numpy", requires_grad=False):
    return _make(_np.ones(_shape(size)), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device="numpy", requires_grad=False):
    size = (size,) if isinstance(size, int) else tuple(size)
    return _make(_np.full(_shape(size), float(fill_value)), dtype, device, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.backend, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, device=t.backend, requires_grad=requires_grad)


def rand(*size, dtype=None, device="numpy", requires_grad=False, generator=None):
    return _make((generator or _rng[0]).random(_shape(size)), dtype, device, requires_grad)


def randn(*size, dtype=None, device="numpy", requires_grad=False, generator=None):
    return _make((generator or _rng[0]).standard_normal(_shape(size)), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device="numpy"):
    """Evenly spaced values in [start, end); integer arguments give an int64 tensor, as torch."""
    if end is None:
        start, end = 0, start
    return _make(_np.arange(start, end, step), dtype, device, False)
