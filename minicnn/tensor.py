"""Tensor and reverse-mode automatic differentiation.

A ``Tensor`` wraps one array (NumPy or CuPy) and, when it was produced by a
differentiable op while gradients are being recorded, remembers the
``Function`` that made it. The graph is built as the program runs
(define-by-run). ``loss.backward()`` walks it in reverse topological order and
calls each ``Function.backward`` with the gradient of the loss with respect to
that function's output; the function returns the gradients for its inputs.

Every op is a ``Function`` subclass whose ``forward`` and ``backward`` sit next
to each other; ``Function.apply`` does the bookkeeping (unwrapping tensors,
checking backends, deciding whether to record the graph).
"""
from __future__ import annotations

import contextlib
import functools
import threading

from minicnn import backend

__all__ = ["Tensor", "Function", "tensor", "no_grad", "enable_grad", "is_grad_enabled",
           "set_grad_enabled", "unbroadcast"]

_grad_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether new ops record the graph (False inside ``no_grad()``)."""
    return getattr(_grad_state, "enabled", True)


class set_grad_enabled:
    """Context manager and decorator that turns graph recording on or off."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = is_grad_enabled()
        _grad_state.enabled = self.mode

    def __exit__(self, *exc):
        _grad_state.enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """``with no_grad():`` ops inside build no graph (inference, optimizer updates)."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    def __init__(self):
        super().__init__(True)


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting.

    If ``y = f(x)`` broadcast ``x`` of shape ``shape`` to ``grad.shape``, every
    copy of an element of ``x`` contributed to ``y``, so dL/dx is the sum of the
    gradients of its copies: sum over the leading dims that broadcasting added,
    and over dims where ``x`` had size 1.
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Function:
    """One differentiable op: ``forward`` on raw arrays and its ``backward``.

    Subclasses implement::

        def forward(self, *arrays_and_args, **kwargs) -> array (or (array, extra...))
        def backward(self, grad_output) -> one gradient per positional input

    ``self.needs_input_grad[i]`` tells whether input ``i`` wants a gradient; a
    backward that returns None for an input saves the work. Anything forward
    needs later is stored on ``self``. Non-Tensor positional inputs (Python
    numbers, shapes) get None as their gradient.
    """

    needs_input_grad: tuple = ()
    inputs: tuple | None = ()     # per positional input: parent node, leaf Tensor or None
    retained = None               # the output Tensor, when it asked to retain_grad()

    @classmethod
    def apply(cls, *args, **kwargs):
        arrays = [a.data for a in args if isinstance(a, Tensor)]
        backend.array_module(*arrays, op=cls.op_name())
        need = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        track = is_grad_enabled() and any(need)
        ctx = cls()
        ctx.needs_input_grad = need if track else tuple(False for _ in args)
        raw = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        out = ctx.forward(*raw, **kwargs)
        extras = ()
        if isinstance(out, tuple):
            out, *extras = out
            extras = [_as_array(e, arrays) for e in extras]
        out = _as_array(out, arrays)
        result = Tensor(out, requires_grad=track)
        if track:
            # Edges point at the parents' nodes (or at leaf tensors), never at
            # intermediate tensors, so an activation's array is freed as soon as
            # no backward needs it (torch keeps graph nodes, not tensors, alive).
            ctx.inputs = tuple(_edge(a) if isinstance(a, Tensor) and a.requires_grad else None
                               for a in args)
            ctx.out_shape, ctx.out_dtype = result.shape, result.dtype
            result._ctx = ctx
        if extras:
            return (result, *(Tensor(e) for e in extras))
        return result

    @classmethod
    def op_name(cls) -> str:
        return getattr(cls, "name", None) or cls.__name__.lower()

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad_output):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def release(self):
        """Drop saved arrays after backward so their memory can be reused."""
        keep = {"needs_input_grad"}
        for k in list(vars(self)):
            if k not in keep:
                delattr(self, k)
        self.inputs = None


def _edge(t):
    """What a graph edge to ``t`` points at: its node, or the tensor itself for leaves."""
    if t._ctx is None:
        return t
    return t._ctx


def _as_array(value, inputs):
    """Full reductions give NumPy scalars: make them 0-d arrays of the inputs' backend."""
    if backend.is_array(value) or not inputs:
        return value if backend.is_array(value) else backend.numpy_module().asarray(value)
    return backend.array_like(value, inputs[0])


class Tensor:
    """An n-dimensional array that can record the ops applied to it.

    Attributes mirror torch.Tensor: ``data`` (the raw array), ``grad`` (a
    Tensor after backward, for leaves that require grad), ``requires_grad``,
    ``grad_fn`` (the Function that made it, or None for a leaf).
    """

    __array_priority__ = 1000
    __array_ufunc__ = None  # numpy must defer to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        if not backend.is_array(data):
            raise TypeError(f"Tensor expects an array; use minicnn.tensor(...) for {type(data).__name__}")
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {data.dtype}")
        self.data = data
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._ctx = None

    # --- basic properties ------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def backend(self) -> str:
        return backend.backend_of(self.data).name

    device = backend

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def is_leaf(self):
        return self._ctx is None

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        extra = f", grad_fn=<{type(self._ctx).__name__}>" if self._ctx is not None else (
            ", requires_grad=True" if self.requires_grad else "")
        be = "" if self.backend == "numpy" else f", backend='{self.backend}'"
        body = repr(backend.to_numpy(self.data)).replace("array(", "tensor(", 1)
        return body[:-1] + f"{be}{extra})" if body.endswith(")") else body

    # --- conversion ------------------------------------------------------------
    def numpy(self):
        """The values as a numpy.ndarray (a host copy for GPU tensors). Refuses tensors in a graph."""
        if self.requires_grad:
            raise RuntimeError("numpy(): call .detach() first on a tensor that requires grad")
        return backend.to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted, got shape {self.shape}")
        return backend.to_numpy(self.data).reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def __array__(self, dtype=None, copy=None):
        a = backend.to_numpy(self.data)
        return a.astype(dtype) if dtype is not None else a

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with shape {self.shape} is ambiguous")
        return bool(self.item())

    def to(self, target=None, dtype=None):
        """Move to a backend (``'numpy'``, ``'cupy'``) and/or cast to a dtype. Differentiable."""
        out = self
        if target is not None:
            try:
                dt = backend.resolve_dtype(target) if not isinstance(target, str) or \
                    target in ("float32", "float64", "float", "double", "float16") else None
            except TypeError:
                dt = None
            if dt is not None:
                dtype = dt
            else:
                name = backend.get_backend(target).name
                if name != out.backend:
                    out = _ops.ToBackend.apply(out, name)
        if dtype is not None:
            dtype = backend.resolve_dtype(dtype)
            if dtype != out.dtype:
                out = _ops.Cast.apply(out, dtype)
        return out

    def cpu(self):
        return self.to("numpy")

    def cuda(self):
        return self.to("cupy")

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    def type_as(self, other):
        return self.to(dtype=other.dtype)

    # --- graph -------------------------------------------------------------------
    def detach(self):
        """The same values, cut off from the graph (shares the array)."""
        return Tensor(self.data)

    def clone(self):
        return _ops.Clone.apply(self)

    def requires_grad_(self, flag: bool = True):
        if not self.is_leaf:
            raise RuntimeError("requires_grad_: can only change the flag of leaf tensors")
        if flag and self.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if self._ctx is not None:
            self._ctx.retained = self
        return self

    def zero_grad_(self):
        self.grad = None
        return self

    def backward(self, gradient=None, retain_graph: bool = False):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        The graph is walked once in reverse topological order found by an
        iterative depth-first search (no recursion, so 10,000-op chains work).
        A tensor used by several ops receives the sum of their gradients.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: tensor does not require grad and has no grad_fn")
        xp = backend.array_module(self.data)
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for scalar "
                                   f"outputs, got shape {self.shape}")
            g = xp.ones_like(self.data)
        else:
            g = gradient.data if isinstance(gradient, Tensor) else xp.asarray(gradient, dtype=self.dtype)
            if tuple(g.shape) != self.shape:
                raise ValueError(f"backward: gradient shape {tuple(g.shape)} does not match "
                                 f"tensor shape {self.shape}")
        if self._ctx is None:
            self._accumulate(g)
            return
        order = _topological_order(self._ctx)
        grads = {id(self._ctx): g}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if isinstance(node, Tensor):  # a leaf: the end of a path
                node._accumulate(g)
                continue
            if node.retained is not None:
                node.retained._accumulate(g)
            if node.inputs is None:
                raise RuntimeError("backward: trying to go through the graph a second time; "
                                   "pass retain_graph=True to the first backward()")
            in_grads = node.backward(g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for parent, need, gi in zip(node.inputs, node.needs_input_grad, in_grads):
                if parent is None or not need or gi is None:
                    continue
                leaf = isinstance(parent, Tensor)
                shape = parent.shape if leaf else parent.out_shape
                if not backend.is_array(gi):  # 0-d NumPy math returns scalars
                    gi = backend.array_like(gi, g, parent.dtype if leaf else parent.out_dtype)
                if tuple(gi.shape) != shape:
                    raise RuntimeError(f"{type(node).__name__}.backward returned a gradient of shape "
                                       f"{tuple(gi.shape)} for an input of shape {shape}")
                prev = grads.get(id(parent))
                grads[id(parent)] = gi if prev is None else prev + gi
            if not retain_graph:
                node.release()

    def _accumulate(self, g):
        if g.dtype != self.dtype:
            g = g.astype(self.dtype)
        if self.grad is None:
            writeable = getattr(getattr(g, "flags", None), "writeable", True)
            self.grad = Tensor(g.copy() if g is self.data or not writeable else g)
        else:
            self.grad = Tensor(self.grad.data + g)

    # --- operators (implemented in minicnn.ops) ---------------------------------
    def __add__(self, o): return _ops.add(self, o)
    def __radd__(self, o): return _ops.add(o, self)
    def __sub__(self, o): return _ops.sub(self, o)
    def __rsub__(self, o): return _ops.sub(o, self)
    def __mul__(self, o): return _ops.mul(self, o)
    def __rmul__(self, o): return _ops.mul(o, self)
    def __truediv__(self, o): return _ops.div(self, o)
    def __rtruediv__(self, o): return _ops.div(o, self)
    def __pow__(self, o): return _ops.pow(self, o)
    def __rpow__(self, o): return _ops.pow(o, self)
    def __matmul__(self, o): return _ops.matmul(self, o)
    def __rmatmul__(self, o): return _ops.matmul(o, self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __getitem__(self, idx): return _ops.getitem(self, idx)

    def __setitem__(self, idx, value):
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("in-place assignment into a tensor that requires grad; use no_grad()")
        idx = _ops.unwrap_index(idx)
        self.data[idx] = value.data if isinstance(value, Tensor) else value

    def __lt__(self, o): return _ops.compare("less", self, o)
    def __le__(self, o): return _ops.compare("less_equal", self, o)
    def __gt__(self, o): return _ops.compare("greater", self, o)
    def __ge__(self, o): return _ops.compare("greater_equal", self, o)
    def __eq__(self, o): return _ops.compare("equal", self, o)
    def __ne__(self, o): return _ops.compare("not_equal", self, o)
    __hash__ = object.__hash__

    # --- methods with torch.Tensor's names ----------------------------------------
    def add(self, o): return _ops.add(self, o)
    def sub(self, o): return _ops.sub(self, o)
    def mul(self, o): return _ops.mul(self, o)
    def div(self, o): return _ops.div(self, o)
    def neg(self): return _ops.neg(self)
    def pow(self, e): return _ops.pow(self, e)
    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def sqrt(self): return _ops.sqrt(self)
    def abs(self): return _ops.abs(self)
    def tanh(self): return _ops.tanh(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def relu(self): return _ops.relu(self)
    def clamp(self, min=None, max=None): return _ops.clamp(self, min, max)
    clip = clamp
    def maximum(self, o): return _ops.maximum(self, o)
    def minimum(self, o): return _ops.minimum(self, o)
    def matmul(self, o): return _ops.matmul(self, o)
    def sum(self, dim=None, keepdim=False): return _ops.sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim=False): return _ops.mean(self, dim, keepdim)
    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return _ops.var(self, dim, unbiased=unbiased, keepdim=keepdim, correction=correction)
    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return _ops.std(self, dim, unbiased=unbiased, keepdim=keepdim, correction=correction)
    def max(self, dim=None, keepdim=False): return _ops.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return _ops.min(self, dim, keepdim)
    def amax(self, dim=None, keepdim=False): return _ops.amax(self, dim, keepdim)
    def amin(self, dim=None, keepdim=False): return _ops.amin(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return _ops.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return _ops.argmin(self, dim, keepdim)
    def reshape(self, *shape): return _ops.reshape(self, *shape)
    def view(self, *shape): return _ops.reshape(self, *shape)
    def view_as(self, other): return _ops.reshape(self, other.shape)
    def permute(self, *dims): return _ops.permute(self, *dims)
    def transpose(self, dim0, dim1): return _ops.transpose(self, dim0, dim1)
    def flatten(self, start_dim=0, end_dim=-1): return _ops.flatten(self, start_dim, end_dim)
    def unsqueeze(self, dim): return _ops.unsqueeze(self, dim)
    def squeeze(self, dim=None): return _ops.squeeze(self, dim)
    def expand(self, *shape): return _ops.expand(self, *shape)
    def contiguous(self): return self

    @property
    def T(self):
        return _ops.permute(self, *reversed(range(self.ndim)))


def _topological_order(root):
    """Graph nodes (Functions and leaf Tensors) reachable from ``root``, inputs before users."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if not isinstance(node, Tensor) and node.inputs:
            for p in node.inputs:
                if p is not None and id(p) not in seen:
                    stack.append((p, False))
    return order


def tensor(data, requires_grad: bool = False, dtype=None, backend=None):
    """A new leaf Tensor from a list, number, array or Tensor (copies, like torch.tensor).

    Floating data gets ``dtype`` or, for Python numbers and lists, the default
    dtype (float32); integer and bool data keep their kind unless ``dtype`` says.
    """
    from minicnn import backend as _be
    if isinstance(data, Tensor):
        data = data.data
    if _be.is_array(data):
        name = backend or _be.backend_of(data).name
        arr = _be.to_backend(data, name)
        arr = arr.astype(_be.resolve_dtype(dtype)) if dtype is not None else arr.copy()
    else:
        np_ = _be.numpy_module()
        probe = np_.asarray(data)
        if probe.dtype == object:
            raise TypeError(f"tensor(): cannot build a tensor from {type(data).__name__} {data!r:.80}")
        if dtype is not None:
            dt = _be.resolve_dtype(dtype)
        elif probe.dtype.kind == "f":
            dt = _be.get_default_dtype()
        else:
            dt = probe.dtype
        arr = _be.asarray(probe.astype(dt), backend=backend or "numpy")
    return Tensor(arr, requires_grad=requires_grad)


from minicnn import ops as _ops  # noqa: E402  (ops import Tensor/Function from this module)
