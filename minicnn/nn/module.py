"""Module, Parameter and the containers (Sequential, ModuleList, ModuleDict), as in torch.nn.

A ``Module`` is an object that owns three kinds of state, each kept in its own
ordered dict and registered simply by assigning an attribute:

* ``Parameter`` s (learnable tensors: ``self.weight = Parameter(...)``),
* buffers (tensors that are state but not learned, e.g. BatchNorm's
  ``running_mean``; registered with ``register_buffer``),
* sub-modules (``self.conv = Conv2d(...)``).

Walking these dicts recursively gives ``parameters()``, ``named_modules()``,
``state_dict()`` with torch's dotted key names (``features.0.weight``), and
``to()`` that moves everything to another backend or dtype in place.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple

from minicnn import backend
from minicnn.tensor import Tensor

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "StateDictError",
           "IncompatibleKeys"]


class Parameter(Tensor):
    """A Tensor that a Module registers as learnable (``requires_grad=True`` by default).

    ``Parameter(t)`` shares ``t``'s array; a Parameter is always a leaf of the graph.
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = backend.numpy_module().zeros((0,), dtype=backend.get_default_dtype())
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self.data.copy(), requires_grad=self.requires_grad)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (backend.to_numpy(self.data), self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    return Parameter(array, requires_grad)


class StateDictError(RuntimeError, ValueError):
    """A state_dict that does not fit a module (missing, unexpected or mis-shaped entries).

    A RuntimeError like torch's, and a ValueError like minicnn's other boundary errors.
    ``missing_keys``, ``unexpected_keys`` and ``mismatched`` (key -> (expected, found)
    shapes) carry the details.
    """

    def __init__(self, message, missing_keys=(), unexpected_keys=(), mismatched=None):
        super().__init__(message)
        self.missing_keys = list(missing_keys)
        self.unexpected_keys = list(unexpected_keys)
        self.mismatched = dict(mismatched or {})


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _RemovableHandle:
    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_hook_ids = itertools.count()


def _raw_array(value, like=None):
    """The array inside a Tensor / numpy array / torch tensor, on ``like``'s backend."""
    if isinstance(value, Tensor):
        arr = value.data
    elif backend.is_array(value):
        arr = value
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        arr = value.detach().cpu().numpy()
    else:
        arr = backend.numpy_module().asarray(value)
    if like is not None:
        arr = backend.to_backend(arr, backend.backend_of(like).name)
    return arr


def _shape_of(value):
    if isinstance(value, Tensor):
        return value.shape
    shape = getattr(value, "shape", None)
    if shape is None:
        return tuple(backend.numpy_module().shape(value))
    return tuple(int(s) for s in shape)


def _parse_to(args, kwargs):
    """(backend name or None, dtype or None) from ``to('cupy')``, ``to('float64')``, ``to(b, dtype)``."""
    target, dtype = None, kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"to(): unexpected keyword arguments {sorted(kwargs)}")
    for a in list(args) + ([device] if device is not None else []):
        if a is None:
            continue
        if isinstance(a, str) and a not in ("float32", "float64", "float", "double", "float16"):
            try:
                target = backend.get_backend(a).name
            except ValueError:
                try:  # a dtype name such as 'int32' (refused below) rather than a backend
                    dtype = backend.resolve_dtype(a)
                except TypeError:
                    raise ValueError(f"Module.to: {a!r} is neither a backend "
                                     f"({backend.available_backends()}) nor a dtype") from None
        elif isinstance(a, backend.Backend):
            target = a.name
        else:
            dtype = a
    if dtype is not None:
        dtype = backend.resolve_dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only floating dtypes are allowed, got {dtype}")
    return target, dtype


class Module:
    """Base class of every layer and model (torch.nn.Module's API).

    Subclasses call ``super().__init__()`` first, assign parameters, buffers and
    sub-modules as attributes, and implement ``forward``. Calling the module
    runs ``forward`` (plus any forward hooks).
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # --- registration ------------------------------------------------------------
    def _check_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call "
                                 f"(call super().__init__() first in {type(self).__name__}.__init__)")

    def register_parameter(self, name: str, param):
        """Add ``param`` (a Parameter or None) under ``name``."""
        self._check_init("parameters")
        _check_name(name, self, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(minicnn.nn.Parameter or None required)")
        self.__dict__.pop(name, None)
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True):
        """Add a non-learnable state tensor (or None). Non-persistent buffers stay out of state_dict."""
        self._check_init("buffers")
        _check_name(name, self, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(minicnn.Tensor or None required)")
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module):
        """Add a sub-module (or None) under ``name``."""
        self._check_init("child modules")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        if isinstance(value, Parameter):
            self._check_init("parameters")
            d.pop(name, None)
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._check_init("child modules")
            d.pop(name, None)
            self.add_module(name, value)
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(minicnn.nn.Parameter or None expected)")
            d["_parameters"][name] = None
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(minicnn.nn.Module or None expected)")
            d["_modules"][name] = None
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(minicnn.Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg in d and name in d[reg]:
                return d[reg][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for reg in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(reg, {}):
                del self.__dict__[reg][name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # --- calling -----------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def register_forward_hook(self, hook):
        """``hook(module, inputs, output)`` runs after forward; a non-None result replaces the output."""
        key = next(_hook_ids)
        self._forward_hooks[key] = hook
        return _RemovableHandle(self._forward_hooks, key)

    def register_forward_pre_hook(self, hook):
        """``hook(module, inputs)`` runs before forward; a non-None result replaces the inputs."""
        key = next(_hook_ids)
        self._forward_pre_hooks[key] = hook
        return _RemovableHandle(self._forward_pre_hooks, key)

    # --- walking the tree --------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) for this module and every descendant, each once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in mods:
            for name, t in getattr(m, registry).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str):
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}' (looking up {target!r})")
            mod = mod._modules[part]
        return mod

    # --- modes and gradients -----------------------------------------------------
    def train(self, mode: bool = True):
        """Set training mode on this module and all descendants (Dropout, BatchNorm care)."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(): mode is expected to be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True):
        """Forget accumulated gradients (``grad = None``, or zero-filled with set_to_none=False)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor(backend.array_module(p.grad.data).zeros_like(p.grad.data))

    def apply(self, fn):
        """Call ``fn`` on every child (recursively) and then on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- moving and casting ------------------------------------------------------
    def _apply_arrays(self, convert):
        """Replace every parameter's and buffer's array (and gradient) by ``convert(array)``."""
        for m in self.modules():
            for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                if t is None:
                    continue
                t.data = convert(t.data)
                if t.grad is not None:
                    t.grad = Tensor(convert(t.grad.data))
        return self

    def to(self, *args, **kwargs):
        """Move parameters and buffers to a backend and/or cast floating ones to a dtype, in place.

        ``to('cupy')``, ``to('numpy')``, ``to('float64')``, ``to('cupy', 'float32')``,
        ``to(dtype=minicnn.float64)``. Integer buffers (``num_batches_tracked``) keep
        their dtype, as in torch. Returns self.
        """
        target, dtype = _parse_to(args, dict(kwargs))

        def convert(a):
            if target is not None:
                a = backend.to_backend(a, target)
            if dtype is not None and a.dtype.kind == "f" and a.dtype != dtype:
                a = a.astype(dtype)
            return a
        return self._apply_arrays(convert)

    def double(self):
        return self.to("float64")

    def float(self):
        return self.to("float32")

    def cpu(self):
        return self.to("numpy")

    def cuda(self):
        return self.to("cupy")

    # --- state_dict --------------------------------------------------------------
    def state_dict(self, prefix: str = "", keep_vars: bool = False):
        """An OrderedDict dotted name -> Tensor of parameters and persistent buffers.

        Keys are torch's (``features.0.weight``, ``bn.running_mean``). The tensors
        share memory with the module (detached unless ``keep_vars``).
        """
        out = OrderedDict()
        self._save_to_state_dict(out, prefix, keep_vars)
        return out

    def _save_to_state_dict(self, out, prefix, keep_vars):
        # Like torch: own parameters, own persistent buffers, then each child in order. A module
        # registered under two names appears under both (no de-duplication here).
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m._save_to_state_dict(out, f"{prefix}{name}.", keep_vars)

    def _state_slots(self):
        """dotted name -> the Parameter/buffer Tensor a state_dict entry is loaded into."""
        return self.state_dict(keep_vars=True)

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from ``state_dict`` (name -> minicnn/NumPy/torch tensor) into this module.

        Values are cast to each parameter's dtype and moved to its backend. With
        ``strict=True`` missing and unexpected keys are errors; a shape mismatch is
        always an error. The error (StateDictError, a RuntimeError and ValueError)
        names the first bad key with the expected and found shapes and lists all
        missing, unexpected and mis-shaped keys. Nothing is copied when it fails.
        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict: expected a mapping name -> tensor, got {type(state_dict).__name__}")
        slots = self._state_slots()
        missing = [k for k in slots if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in slots]
        mismatched = OrderedDict()
        for k, t in slots.items():
            if k in state_dict:
                found = _shape_of(state_dict[k])
                if tuple(found) != t.shape:
                    mismatched[k] = (t.shape, tuple(found))
        if mismatched or (strict and (missing or unexpected)):
            raise StateDictError(_describe_mismatch(type(self).__name__, slots, missing, unexpected,
                                                    mismatched, strict),
                                 missing, unexpected, mismatched)
        for k, t in slots.items():
            if k not in state_dict:
                continue
            arr = _raw_array(state_dict[k], like=t.data)
            if arr.dtype != t.dtype:
                arr = arr.astype(t.dtype)
            if arr is t.data:
                continue
            if getattr(t.data.flags, "writeable", True):
                t.data[...] = arr
            else:
                t.data = arr.copy()
        return IncompatibleKeys(missing, unexpected)

    # --- printing ----------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr line (override in layers)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            text = _indent(repr(m), 2)
            lines.append(f"({name}): {text}")
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _check_name(name, module, kind):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if "." in name or name == "":
        raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
    if name in module.__dict__ and name not in module._parameters and name not in module._buffers:
        raise KeyError(f"attribute '{name}' already exists")


def _indent(text, n):
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * n + line for line in rest])


def _describe_mismatch(owner, slots, missing, unexpected, mismatched, strict):
    bad = [k for k in slots if k in mismatched or (strict and k in missing)]
    lines = [f"Error(s) in loading state_dict for {owner}:"]
    if bad:
        k = bad[0]
        found = f"shape {mismatched[k][1]}" if k in mismatched else "no such key"
        lines.append(f"  first bad key '{k}': expected shape {slots[k].shape}, found {found}")
    elif unexpected:
        lines.append(f"  first bad key '{unexpected[0]}': not expected by the model")
    if strict and missing:
        lines.append(f"  missing key(s) ({len(missing)}): " + ", ".join(f'"{k}"' for k in missing[:20])
                     + (" ..." if len(missing) > 20 else ""))
    if strict and unexpected:
        lines.append(f"  unexpected key(s) ({len(unexpected)}): " + ", ".join(f'"{k}"' for k in unexpected[:20])
                     + (" ..." if len(unexpected) > 20 else ""))
    if mismatched:
        lines.append(f"  size mismatch ({len(mismatched)}): " + "; ".join(
            f"'{k}': expected {e}, found {f}" for k, (e, f) in list(mismatched.items())[:20]))
    return "\n".join(lines)


# --- containers ---------------------------------------------------------------------

class _ModuleSequence(Module):
    """What Sequential and ModuleList share: integer indexing, length, iteration, append/extend/insert."""

    def _index(self, idx):
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for {type(self).__name__} of length {n}")
        return idx % n

    def _renumber(self, mods):
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)
        return self


class Sequential(_ModuleSequence):
    """Runs its modules in order. ``Sequential(a, b, c)`` or ``Sequential(OrderedDict(name=mod))``.

    Indexing gives a module, slicing a Sequential that keeps the original keys
    (so ``features[:5]`` still has ``0.weight``), like torch.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (dict, OrderedDict)):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        if isinstance(idx, str):
            return self._modules[idx]
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._index(idx)]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        if isinstance(idx, slice):
            for k in keys[idx]:
                del self._modules[k]
        else:
            del self._modules[keys[self._index(idx)]]

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input


class ModuleList(_ModuleSequence):
    """A list of modules, registered so their parameters are found (no forward of its own)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx, module):
        self.add_module(str(self._index(idx)), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        del mods[idx if isinstance(idx, slice) else self._index(idx)]
        self._renumber(mods)

    def __iadd__(self, modules):
        return self.extend(modules)


class ModuleDict(Module):
    """An ordered dict of modules, registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self.add_module(k, m)
