"""Argument checks shared by the basic ops: operands, broadcasting, dims."""
from __future__ import annotations

from minicnn import backend
from minicnn.tensor import Tensor

SCALARS = (int, float, bool)


def as_operand(x, op: str):
    """A Tensor or a Python number; arrays become (non-grad) Tensors, anything else is refused."""
    if isinstance(x, Tensor) or (isinstance(x, SCALARS)):
        return x
    if backend.is_array(x):
        return Tensor(x)
    raise TypeError(f"{op}: expected a Tensor or a number, got {type(x).__name__}")


def shape_of(x):
    return x.shape if isinstance(x, Tensor) else ()


def check_broadcast(op: str, *xs):
    """Raise ValueError naming ``op`` and the shapes when they do not broadcast together."""
    shapes = [shape_of(x) for x in xs]
    try:
        return backend.numpy_module().broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{op}: shapes {listed} cannot be broadcast together") from None


def binary_operands(op: str, a, b):
    a, b = as_operand(a, op), as_operand(b, op)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}: at least one operand must be a Tensor")
    check_broadcast(op, a, b)
    return a, b


def normalize_dim(op: str, dim, ndim: int):
    """``dim`` (int, tuple or None) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not isinstance(d, int):
            raise TypeError(f"{op}: dim must be an int or tuple of ints, got {dim!r}")
        lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
        if not lo <= d <= hi:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims "
                             f"(expected in [{lo}, {hi}])")
        out.append(d % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim!r} repeats an axis")
    return tuple(sorted(out))


def grad_of(needed: bool, fn):
    """``fn()`` when the gradient is needed, else None (skips unrequested work)."""
    return fn() if needed else None
