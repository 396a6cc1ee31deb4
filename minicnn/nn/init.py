"""Weight initialisers with torch.nn.init's names; each fills a Tensor in place and returns it.

Random values are drawn on the CPU from minicnn's seedable generator
(``minicnn.manual_seed``) -- or from the ``generator`` argument, a
``numpy.random.Generator`` -- in the tensor's dtype (float32 draws straight into
the weight, no float64 temporary: VGG's 100M-weight classifier stays cheap), then
moved to the tensor's backend. So a seed gives the same weights on NumPy and CuPy.

``skip_init()`` is a context manager inside which layer constructors leave their
weights unset (zeros): models that load or re-initialise every weight anyway
(``minicnn.models.vgg19``) use it to avoid drawing them twice.

Fan-in / fan-out of a weight of shape (out, in, *kernel) are
``in * prod(kernel)`` and ``out * prod(kernel)``, as in torch.
"""
from __future__ import annotations

import contextlib
import math
import threading

from minicnn import backend
from minicnn.factories import generator as _default_generator
from minicnn.tensor import Tensor

__all__ = ["skip_init", "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_",
           "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]

_np = backend.numpy_module()


def _check(tensor, op):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a minicnn Tensor, got {type(tensor).__name__}")


def _fill(tensor, values):
    """Write NumPy ``values`` into ``tensor``'s array (same dtype and backend), in place."""
    arr = backend.to_backend(_np.asarray(values).astype(tensor.dtype, copy=False), tensor.backend)
    if getattr(tensor.data.flags, "writeable", True):
        tensor.data[...] = arr
    else:
        tensor.data = arr.copy()
    return tensor


_skip = threading.local()


@contextlib.contextmanager
def skip_init():
    """Inside ``with skip_init():`` layers are built without drawing their default initial weights."""
    old = getattr(_skip, "on", False)
    _skip.on = True
    try:
        yield
    finally:
        _skip.on = old


def init_skipped() -> bool:
    """True inside ``skip_init()`` (layers check it before ``reset_parameters``)."""
    return getattr(_skip, "on", False)


def _draw(tensor, kind, p, q, generator):
    """Fill ``tensor`` in place with U(p, q) (kind 'uniform') or N(p, q^2) (kind 'normal')."""
    g = _gen(generator)
    dt = tensor.dtype
    draw_dt = dt if dt in (_np.float32, _np.float64) else _np.dtype(_np.float64)
    data = tensor.data
    direct = (type(data) is _np.ndarray and data.dtype == draw_dt and data.flags.c_contiguous
              and data.flags.writeable)
    out = data if direct else _np.empty(tensor.shape, dtype=draw_dt)
    if kind == "uniform":
        g.random(out=out, dtype=draw_dt)
        out *= (q - p)
        out += p
        if draw_dt == _np.float32 and q > p:  # float32 rounding can land on q itself
            _np.minimum(out, _np.nextafter(_np.float32(q), _np.float32(p)), out=out)
    else:
        g.standard_normal(out=out, dtype=draw_dt)
        out *= q
        out += p
    if not direct:
        _fill(tensor, out)
    return tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended std gain for a nonlinearity (torch's table: relu sqrt(2), tanh 5/3 ...)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (got shape {tensor.shape})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _gen(generator):
    return generator if generator is not None else _default_generator()


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with U(a, b)."""
    _check(tensor, "uniform_")
    return _draw(tensor, "uniform", a, b, generator)


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with N(mean, std^2)."""
    _check(tensor, "normal_")
    return _draw(tensor, "normal", mean, std, generator)


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None):
    """Fill with N(mean, std^2) restricted to [a, b] (redraws values outside)."""
    _check(tensor, "trunc_normal_")
    g = _gen(generator)
    vals = g.normal(mean, std, tensor.shape)
    bad = (vals < a) | (vals > b)
    while bad.any():
        vals[bad] = g.normal(mean, std, int(bad.sum()))
        bad = (vals < a) | (vals > b)
    return _fill(tensor, vals)


def constant_(tensor, val: float):
    _check(tensor, "constant_")
    return _fill(tensor, _np.full(tensor.shape, val))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, _np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return _draw(tensor, "uniform", -a, a, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _draw(tensor, "normal", 0.0, std, generator)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None):
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015).

    Layers use ``a=sqrt(5)``, which gives bound = 1 / sqrt(fan_in) -- torch's default.
    """
    _check(tensor, "kaiming_uniform_")
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(_fan(tensor, mode))
    return _draw(tensor, "uniform", -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    _check(tensor, "kaiming_normal_")
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(_fan(tensor, mode))
    return _draw(tensor, "normal", 0.0, std, generator)
