"""Shape ops: reshape/view, permute/transpose, flatten, (un)squeeze, expand, indexing, cat, stack.

None of these change values, so each backward only moves the gradient back
into the input's layout.
"""
from __future__ import annotations

from minicnn import backend
from minicnn.ops._common import normalize_dim
from minicnn.tensor import Function, Tensor


def _check(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def _shape_args(op, shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if not isinstance(s, int):
            raise TypeError(f"{op}: shape entries must be ints, got {shape!r}")
    return tuple(shape)


class Reshape(Function):
    """y = x viewed with a new shape;  dL/dx = g reshaped to x's shape."""

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape), None


class Permute(Function):
    """y = x with axes reordered by ``dims``;  dL/dx = g with the inverse permutation."""

    def forward(self, x, dims):
        xp = backend.array_module(x)
        self.inverse = tuple(sorted(range(len(dims)), key=lambda i: dims[i]))
        return xp.transpose(x, dims)

    def backward(self, g):
        return backend.array_module(g).transpose(g, self.inverse), None


class Expand(Function):
    """y = x broadcast to ``shape``;  dL/dx = g summed over the broadcast axes."""

    def forward(self, x, shape):
        self.shape = x.shape
        return backend.array_module(x).broadcast_to(x, shape)

    def backward(self, g):
        from minicnn.tensor import unbroadcast
        return unbroadcast(g, self.shape), None


def unwrap_index(idx):
    """An index with Tensors replaced by their arrays (for numpy/cupy indexing)."""
    if isinstance(idx, tuple):
        return tuple(unwrap_index(i) for i in idx)
    if isinstance(idx, Tensor):
        return idx.data
    if isinstance(idx, list):
        return backend.numpy_module().asarray(idx)
    return idx


def _is_basic(idx):
    parts = idx if isinstance(idx, tuple) else (idx,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class GetItem(Function):
    """y = x[idx];  dL/dx = zeros with g scattered back to the indexed places.

    Basic indexing (ints, slices) never repeats an element, so the gradient is
    assigned; advanced indexing may, so it is scatter-added.
    """

    def forward(self, x, idx):
        self.shape, self.idx, self.dtype = x.shape, idx, x.dtype
        return x[idx]

    def backward(self, g):
        xp = backend.array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.idx):
            out[self.idx] = g
        else:
            flat = xp.arange(out.size).reshape(self.shape)[self.idx]
            backend.scatter_add(out, flat, xp.broadcast_to(g, flat.shape))
        return out, None


class Cat(Function):
    """y = concatenation along ``dim``;  each input's gradient is its slice of g."""

    def forward(self, *xs, dim):
        xp = backend.array_module(*xs)
        self.dim = dim
        self.bounds = []
        start = 0
        for x in xs:
            self.bounds.append((start, start + x.shape[dim]))
            start += x.shape[dim]
        return xp.concatenate(xs, axis=dim)

    def backward(self, g):
        out = []
        for need, (a, b) in zip(self.needs_input_grad, self.bounds):
            sl = [slice(None)] * g.ndim
            sl[self.dim] = slice(a, b)
            out.append(g[tuple(sl)] if need else None)
        return tuple(out)


class Stack(Function):
    """y = inputs stacked along a new ``dim``;  each input's gradient is g indexed at its place."""

    def forward(self, *xs, dim):
        self.dim = dim
        return backend.array_module(*xs).stack(xs, axis=dim)

    def backward(self, g):
        xp = backend.array_module(g)
        return tuple(xp.take(g, i, axis=self.dim) if need else None
                     for i, need in enumerate(self.needs_input_grad))


def reshape(x, *shape):
    _check(x, "reshape")
    shape = _shape_args("reshape", shape)
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if shape.count(-1) > 1 or any(s < -1 for s in shape) or (
            -1 not in shape and known != x.numel()) or (
            -1 in shape and (known == 0 or x.numel() % known)):
        raise ValueError(f"reshape: shape {list(shape)} is invalid for input of size {x.numel()} "
                         f"(shape {x.shape})")
    return Reshape.apply(x, shape)


view = reshape


def permute(x, *dims):
    _check(x, "permute")
    dims = _shape_args("permute", dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: number of dims {len(dims)} does not match the tensor's {x.ndim} "
                         f"(shape {x.shape})")
    nd = [normalize_dim("permute", d, x.ndim)[0] for d in dims]
    if sorted(nd) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of 0..{x.ndim - 1}")
    return Permute.apply(x, tuple(nd))


def transpose(x, dim0, dim1):
    _check(x, "transpose")
    (a,), (b,) = normalize_dim("transpose", dim0, x.ndim), normalize_dim("transpose", dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(x, tuple(dims))


def flatten(x, start_dim=0, end_dim=-1):
    _check(x, "flatten")
    if x.ndim == 0:
        return reshape(x, 1)
    (s,), (e,) = normalize_dim("flatten", start_dim, x.ndim), normalize_dim("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    n = 1
    for d in x.shape[s:e + 1]:
        n *= d
    return Reshape.apply(x, x.shape[:s] + (n,) + x.shape[e + 1:])


def unsqueeze(x, dim):
    _check(x, "unsqueeze")
    (d,) = normalize_dim("unsqueeze", dim, x.ndim + 1)
    return Reshape.apply(x, x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x, dim=None):
    _check(x, "squeeze")
    if dim is None:
        return Reshape.apply(x, tuple(s for s in x.shape if s != 1))
    dims = normalize_dim("squeeze", dim, x.ndim)
    return Reshape.apply(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def expand(x, *shape):
    _check(x, "expand")
    shape = _shape_args("expand", shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: target shape {shape} has fewer dims than the tensor's {x.shape}")
    full = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    try:
        ok = backend.numpy_module().broadcast_shapes(x.shape, full) == full
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"expand: shape {x.shape} cannot be expanded to {shape}")
    return Expand.apply(x, full)


def getitem(x, idx):
    _check(x, "getitem")
    idx = unwrap_index(idx)
    try:
        return GetItem.apply(x, idx)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor shape {x.shape})") from None


def _seq(op, tensors):
    if isinstance(tensors, Tensor) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}: expected a sequence of Tensors, got {type(tensors).__name__}")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of Tensors")
    for t in tensors:
        _check(t, op)
    return tensors


def cat(tensors, dim=0):
    """Join tensors along an existing ``dim`` (torch.cat)."""
    tensors = _seq("cat", tensors)
    (d,) = normalize_dim("cat", dim, tensors[0].ndim)
    ref = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref)) if j != d):
            raise ValueError(f"cat: sizes of tensors must match except in dimension {d}; "
                             f"tensor 0 has shape {ref} and tensor {i} has shape {t.shape}")
    return Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors, dim=0):
    """Join same-shape tensors along a new ``dim`` (torch.stack)."""
    tensors = _seq("stack", tensors)
    (d,) = normalize_dim("stack", dim, tensors[0].ndim + 1)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: expects each tensor to be equal size, but got {tensors[0].shape} "
                             f"at entry 0 and {t.shape} at entry {i}")
    return Stack.apply(*tensors, dim=d)
