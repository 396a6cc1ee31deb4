"""Array backends: the only module in minicnn that imports numpy or cupy.

Every op asks ``array_module(*arrays)`` for the module that owns its inputs and
calls ``xp.<function>`` on it, so the same op code runs on NumPy (CPU) and CuPy
(GPU). Where the two libraries differ, the difference lives here behind one
named helper (``as_strided``, ``scatter_add``, ``to_numpy``...).

A backend is registered by name. ``numpy`` is always present; ``cupy`` is
registered lazily and raises a clear error when asked for on a machine without
a usable GPU. Tests register a stand-in backend to exercise device logic on a
CPU-only machine.
"""
from __future__ import annotations

import contextlib
import threading

import numpy

__all__ = [
    "Backend", "register_backend", "get_backend", "available_backends",
    "array_module", "backend_of", "to_backend", "to_numpy", "as_strided",
    "scatter_add", "get_default_dtype", "set_default_dtype", "default_dtype",
    "resolve_dtype", "is_array", "cupy_available", "cupy_unavailable_reason",
    "numpy_module", "synchronize", "asarray", "array_like",
]


class Backend:
    """A named array library: its module, its array type and how to move data.

    ``xp`` is the numpy-compatible module ops call; ``array_type`` identifies the
    arrays this backend owns; ``from_numpy``/``to_numpy`` move data in and out.
    """

    def __init__(self, name, xp, array_type, from_numpy, to_numpy, synchronize=None):
        self.name = name
        self.xp = xp
        self.array_type = array_type
        self.from_numpy = from_numpy
        self.to_numpy = to_numpy
        self.synchronize = synchronize or (lambda: None)

    def __repr__(self):
        return f"Backend({self.name!r})"


_BACKENDS: dict[str, Backend] = {}
_state = threading.local()


def register_backend(backend: Backend) -> Backend:
    """Make ``backend`` available under ``backend.name`` (replacing any old one)."""
    _BACKENDS[backend.name] = backend
    return backend


def unregister_backend(name: str) -> None:
    _BACKENDS.pop(name, None)


register_backend(Backend("numpy", numpy, numpy.ndarray, lambda a: a, lambda a: a))


def _try_import_cupy():
    try:
        import cupy  # noqa: F401  (optional dependency)
    except Exception as exc:  # ImportError, or a CUDA library failing to load
        return None, f"cupy is not installed or failed to import ({type(exc).__name__}: {exc})"
    try:
        ok = bool(cupy.is_available())
    except Exception as exc:
        return None, f"cupy cannot reach a GPU ({type(exc).__name__}: {exc})"
    if not ok:
        return None, "cupy is installed but cupy.is_available() is False (no CUDA GPU or driver found)"
    return cupy, None


_cupy_cache: list = []


def _cupy():
    if not _cupy_cache:
        _cupy_cache.append(_try_import_cupy())
    return _cupy_cache[0]


def cupy_available() -> bool:
    """True when CuPy imports and sees a usable GPU."""
    return _cupy()[0] is not None


def cupy_unavailable_reason() -> str | None:
    """Why CuPy cannot be used here, or None when it can."""
    return _cupy()[1]


def _register_cupy():
    cp, reason = _cupy()
    if cp is None:
        raise RuntimeError(
            f"backend 'cupy' was requested but {reason}. Use backend='numpy', or install "
            "the GPU extra (pip install 'minicnn[gpu]') on a machine with an NVIDIA GPU.")
    return register_backend(Backend(
        "cupy", cp, cp.ndarray, cp.asarray, cp.asnumpy,
        synchronize=lambda: cp.cuda.get_current_stream().synchronize()))


def get_backend(name) -> Backend:
    """The registered backend called ``name`` (``'numpy'`` or ``'cupy'``, or a test stand-in)."""
    if isinstance(name, Backend):
        return name
    if not isinstance(name, str):
        raise TypeError(f"backend must be a name such as 'numpy' or 'cupy', got {type(name).__name__} {name!r}")
    if name in ("cpu",):
        name = "numpy"
    if name in ("cuda", "gpu"):
        name = "cupy"
    if name in _BACKENDS:
        return _BACKENDS[name]
    if name == "cupy":
        return _register_cupy()
    raise ValueError(f"unknown backend {name!r}; available: {sorted(set(_BACKENDS) | {'cupy'})}")


def available_backends() -> list[str]:
    """Names of the backends usable on this machine right now."""
    names = [n for n in _BACKENDS]
    if "cupy" not in names and cupy_available():
        names.append("cupy")
    return names


def is_array(x) -> bool:
    return any(isinstance(x, b.array_type) for b in _BACKENDS.values())


def backend_of(x) -> Backend:
    """The backend that owns array ``x`` (the most specific registered type wins)."""
    best = None
    for b in _BACKENDS.values():
        if isinstance(x, b.array_type):
            if best is None or issubclass(b.array_type, best.array_type):
                best = b
    if best is None:
        raise TypeError(f"expected an array of a registered backend, got {type(x).__name__}")
    return best


def array_module(*arrays, op: str = "op"):
    """The array module (numpy, cupy, ...) that owns all of ``arrays``.

    Scalars and None are ignored. Arrays of two different backends raise a
    ValueError naming ``op`` and both backends, before any work is done.
    """
    found = None
    for a in arrays:
        if a is None or isinstance(a, (int, float, bool, complex)) or not is_array(a):
            continue
        b = backend_of(a)
        if found is None:
            found = b
        elif b is not found:
            raise ValueError(
                f"{op}: arrays from two backends met ('{found.name}' and '{b.name}'); "
                f"move them to one backend first with .to('{found.name}')")
    return (found or _BACKENDS["numpy"]).xp


def to_backend(array, name):
    """A copy (or the same array) of ``array`` on backend ``name``."""
    target = get_backend(name)
    source = backend_of(array)
    if source is target:
        return array
    return target.from_numpy(source.to_numpy(array))


def to_numpy(array):
    """``array`` as a plain numpy.ndarray (copied off the GPU if needed)."""
    if isinstance(array, numpy.ndarray) and type(array) is numpy.ndarray:
        return array
    return numpy.asarray(backend_of(array).to_numpy(array))


def asarray(data, dtype=None, backend="numpy"):
    """``data`` (list, scalar or array) as an array of ``backend``."""
    b = get_backend(backend)
    if is_array(data):
        data = to_backend(data, b)
        return data.astype(dtype, copy=False) if dtype is not None else data
    return b.from_numpy(numpy.asarray(data, dtype=dtype))


def array_like(value, like, dtype=None):
    """``value`` (often a NumPy scalar from a full reduction) as an array of ``like``'s backend."""
    if is_array(value) and backend_of(value) is backend_of(like):
        return value if dtype is None else value.astype(dtype, copy=False)
    return backend_of(like).from_numpy(numpy.asarray(to_numpy(value) if is_array(value) else value,
                                                     dtype=dtype))


def synchronize(name="numpy"):
    """Block until queued device work of backend ``name`` has finished (no-op on CPU)."""
    get_backend(name).synchronize()


def numpy_module():
    """The numpy module itself, for code outside ops that needs CPU arrays (I/O, plots)."""
    return numpy


# --- where NumPy and CuPy differ -------------------------------------------------

def as_strided(x, shape, strides):
    """A read-only strided view of ``x`` (numpy.lib.stride_tricks vs cupy.lib.stride_tricks)."""
    xp = array_module(x)
    if xp is numpy or backend_of(x).xp is numpy:
        return numpy.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def scatter_add(target, indices, values):
    """``target[indices] += values`` with repeated indices accumulated.

    Callers route gradients with it only where indices can repeat; NumPy uses
    ``bincount`` on flat indices (much faster than ``np.add.at``), CuPy its atomic
    ``scatter_add``. ``indices`` index the flattened ``target``.
    """
    xp = array_module(target, indices, values, op="scatter_add")
    flat = target.reshape(-1)
    if xp is numpy:
        flat += numpy.bincount(indices.reshape(-1), weights=values.reshape(-1),
                               minlength=flat.size).astype(flat.dtype, copy=False)
    else:
        # CuPy's ufunc.at is an atomic scatter on the device, the fast path there.
        xp.add.at(flat, indices.reshape(-1), values.reshape(-1))
    return target


# --- dtypes ------------------------------------------------------------------------

_FLOAT_DTYPES = {"float32": numpy.float32, "float64": numpy.float64,
                 "float": numpy.float32, "double": numpy.float64}


def resolve_dtype(dtype):
    """A numpy dtype from a name, numpy dtype or torch-like alias; None gives the default."""
    if dtype is None:
        return get_default_dtype()
    if isinstance(dtype, str):
        if dtype not in _FLOAT_DTYPES:
            try:
                return numpy.dtype(dtype)
            except TypeError:
                raise TypeError(f"unknown dtype {dtype!r}; use 'float32' or 'float64'") from None
        return numpy.dtype(_FLOAT_DTYPES[dtype])
    return numpy.dtype(dtype)


def get_default_dtype():
    """The dtype new floating tensors get (float32 unless changed)."""
    return getattr(_state, "dtype", numpy.dtype(numpy.float32))


def set_default_dtype(dtype):
    d = resolve_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _state.dtype = d


@contextlib.contextmanager
def default_dtype(dtype):
    """Temporarily change the default floating dtype (``with default_dtype('float64'):``)."""
    old = get_default_dtype()
    set_default_dtype(dtype)
    try:
        yield
    finally:
        _state.dtype = old


float32 = numpy.dtype(numpy.float32)
float64 = numpy.dtype(numpy.float64)


def erf(x):
    """Element-wise error function, keeping ``x``'s dtype (used by the exact GELU).

    NumPy has no ``erf``: SciPy's ufunc is used when installed, otherwise
    ``math.erf`` element by element (correct, slow); CuPy uses ``cupyx.scipy.special.erf``.
    """
    if isinstance(x, (numpy.ndarray, numpy.generic)):  # 0-d math gives NumPy scalars
        try:
            from scipy.special import erf as _erf
        except ImportError:
            import math
            return numpy.vectorize(math.erf, otypes=[x.dtype])(x).astype(x.dtype, copy=False)
        return _erf(x).astype(x.dtype, copy=False)
    from cupyx.scipy.special import erf as _cupy_erf  # noqa: cupy-only path
    return _cupy_erf(x)
