"""Small helpers shared by the layers: argument normalisation and parameter allocation."""
from __future__ import annotations

from minicnn import backend
from minicnn.nn.module import Parameter
from minicnn.tensor import Tensor

_np = backend.numpy_module()


def _ntuple(n, name="argument", layer="layer"):
    def parse(x):
        if isinstance(x, (list, tuple)):
            if len(x) != n:
                raise ValueError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {x!r}")
            return tuple(x)
        return (x,) * n
    return parse


def pair(x, name="argument", layer="layer"):
    """``3 -> (3, 3)``; a 2-tuple passes through."""
    return _ntuple(2, name, layer)(x)


def check_positive_ints(layer, **values):
    for name, v in values.items():
        vals = v if isinstance(v, tuple) else (v,)
        if any(not isinstance(a, int) or isinstance(a, bool) or a <= 0 for a in vals):
            raise ValueError(f"{layer}: {name} must be positive integers, got {v!r}")


def new_array(shape, fill=0.0, device=None, dtype=None):
    """A ``fill``-filled array of ``shape`` on backend ``device`` (default numpy) and dtype (default float32)."""
    dt = backend.resolve_dtype(dtype)
    # np.zeros gets lazily zeroed pages from the OS: much cheaper than writing zeros for big weights
    arr = _np.zeros(tuple(shape), dtype=dt) if fill == 0 else _np.full(tuple(shape), fill, dtype=dt)
    return backend.asarray(arr, backend=device or "numpy")


def new_parameter(shape, fill=0.0, device=None, dtype=None):
    return Parameter(new_array(shape, fill, device, dtype))


def new_buffer(shape, fill=0.0, device=None, dtype=None):
    return Tensor(new_array(shape, fill, device, dtype))
