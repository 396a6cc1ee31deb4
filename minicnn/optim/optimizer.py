"""The Optimizer base class (torch.optim.Optimizer's API) and state_dict <-> .npz helpers.

An optimizer holds ``param_groups`` (a list of dicts: ``'params'`` plus the
hyper-parameters of that group, so a scheduler can change ``group['lr']``
between steps) and ``state`` (a dict from parameter Tensor to that parameter's
buffers: momentum, Adam moments, ...). ``step()`` reads the gradients in
``p.grad`` and updates ``p.data`` *in place*, under ``no_grad()``, with the
array module of the parameter (``xp = backend.array_module(p.data)``), so the
same code runs on NumPy, CuPy or any registered backend.

Saving and resuming
-------------------
``state_dict()`` returns plain Python containers (dicts, lists, numbers,
strings, None) and NumPy arrays, all *copies*, laid out like torch's::

    {"state": {0: {"step": 3, "exp_avg": ndarray, ...}, 1: {...}},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}]}

Parameters are named by their position across all groups, so the dict can be
loaded into a fresh optimizer built over the same parameters in the same
order; ``load_state_dict`` copies the arrays onto each parameter's backend and
dtype. To keep it in an ``.npz`` file (no pickle)::

    arrays = state_dict_to_arrays(opt.state_dict(), prefix="optim/")
    numpy.savez("ckpt.npz", **model_arrays, **arrays)
    ...
    with numpy.load("ckpt.npz", allow_pickle=False) as f:
        opt.load_state_dict(state_dict_from_arrays(f, prefix="optim/"))

``state_dict_to_arrays`` stores every array under its own key and the rest of
the structure as one JSON string (key ``prefix + "__meta__"``); floats survive
the round trip exactly (JSON writes the shortest repr that reads back
bit-for-bit).
"""
from __future__ import annotations

import copy
import json
import numbers

from minicnn import backend
from minicnn.tensor import Tensor, enable_grad

__all__ = ["Optimizer", "required", "state_dict_to_arrays", "state_dict_from_arrays"]


class _RequiredParameter:
    """Marks a hyper-parameter that every param group must give (no default)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else t.__qualname__


class Optimizer:
    """Base class: param groups, per-parameter state, zero_grad, state_dict.

    Subclasses pass their hyper-parameter ``defaults`` (a dict) and implement
    ``step(closure=None)``.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        if isinstance(params, dict):
            params = [params]
        self.state: dict = {}
        self.param_groups: list[dict] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # --- groups ------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (others from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {_typename(param_group)}")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in param_group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
        if seen.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # --- gradients -----------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (default) or fill them with zeros.

        With ``set_to_none=False`` the grad Tensor object is kept and its values
        become zeros (a fresh array: gradient arrays may be shared between
        tensors, so they are never overwritten in place).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    xp = backend.array_module(p.grad.data)
                    p.grad.data = xp.zeros_like(p.grad.data)

    def step(self, closure=None):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.step")

    @staticmethod
    def _evaluate(closure):
        """Run ``closure`` with gradient recording on (steps themselves run under no_grad)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # --- saving and resuming -----------------------------------------------------------
    def _index_of_params(self):
        index, order = {}, []
        for g in self.param_groups:
            for p in g["params"]:
                if id(p) not in index:
                    index[id(p)] = len(order)
                    order.append(p)
        return index, order

    def state_dict(self) -> dict:
        """The optimizer's state as plain Python plus NumPy arrays (all copies); see module doc."""
        index, _ = self._index_of_params()
        groups = []
        for g in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in g["params"]]
            groups.append(saved)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                if p in self.state:
                    state[index[id(p)]] = _to_host(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict()`` returned: hyper-parameters and buffers (copied onto
        each parameter's backend, floating arrays cast to the parameter's dtype)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with keys 'state' and 'param_groups' "
                             f"(as returned by state_dict()), got {_typename(state_dict)}")
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(self.param_groups, saved_groups):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 "the size of optimizer's group")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            for saved_idx, p in zip(s["params"], g["params"]):
                id_map[saved_idx] = p
        new_state = {}
        for k, v in state_dict["state"].items():
            key = int(k) if isinstance(k, str) and k.isdigit() else k
            if key not in id_map:
                raise ValueError(f"load_state_dict: state entry {k!r} names no parameter "
                                 f"(parameters are 0..{len(id_map) - 1})")
            p = id_map[key]
            new_state[p] = _to_param(v, p)
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            s = dict(s)
            for k, v in g.items():  # JSON turns tuples (betas) into lists: give them back
                if isinstance(v, tuple) and isinstance(s.get(k), list):
                    s[k] = tuple(s[k])
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.state = new_state
        self.param_groups[:] = new_groups

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k not in ("params", "param_names"):
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


def _to_host(value):
    """Deep copy of a state value with every array as a NumPy copy."""
    if backend.is_array(value):
        return backend.to_numpy(value).copy()
    if isinstance(value, Tensor):
        return backend.to_numpy(value.data).copy()
    if isinstance(value, dict):
        return {k: _to_host(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_host(v) for v in value)
    return copy.deepcopy(value)


def _to_param(value, p):
    """Deep copy of a saved state value, arrays moved to ``p``'s backend (floats in ``p``'s dtype)."""
    if backend.is_array(value):
        host = backend.to_numpy(value)
        dtype = p.dtype if host.dtype.kind == "f" else host.dtype
        return backend.to_backend(host.astype(dtype, copy=True), p.backend)
    if isinstance(value, dict):
        return {k: _to_param(v, p) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_param(v, p) for v in value)
    return copy.deepcopy(value)


# --- .npz-friendly form ---------------------------------------------------------------

def state_dict_to_arrays(state_dict, prefix: str = "") -> dict:
    """A flat ``{name: numpy array}`` form of a state dict, ready for ``numpy.savez``.

    Arrays go under ``prefix + "arrayN"``; the structure around them (dicts
    with their key types, lists, tuples, numbers, strings, None) is one JSON
    string under ``prefix + "__meta__"``. Works for optimizer and scheduler
    state dicts alike.
    """
    np = backend.numpy_module()
    arrays = {}

    def enc(v):
        if isinstance(v, Tensor):
            v = v.data
        if backend.is_array(v):
            key = f"{prefix}array{len(arrays)}"
            arrays[key] = backend.to_numpy(v).copy()
            return {"__array__": key}
        if isinstance(v, dict):
            return {"__dict__": [[enc(k), enc(x)] for k, x in v.items()]}
        if isinstance(v, tuple):
            return {"__tuple__": [enc(x) for x in v]}
        if isinstance(v, list):
            return [enc(x) for x in v]
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, numbers.Real):
            return float(v)
        raise TypeError(f"state_dict_to_arrays: cannot store a value of type {_typename(v)} "
                        f"({v!r:.60}); only arrays, numbers, strings, None, lists, tuples and "
                        "dicts can be saved")

    meta = json.dumps(enc(state_dict))
    arrays[prefix + "__meta__"] = np.array(meta)
    return arrays


def state_dict_from_arrays(arrays, prefix: str = "") -> dict:
    """Inverse of ``state_dict_to_arrays`` (``arrays``: a dict or an open ``numpy.load`` file)."""
    meta_key = prefix + "__meta__"
    if meta_key not in arrays:
        raise KeyError(f"state_dict_from_arrays: no {meta_key!r} entry; these arrays were not "
                       f"written by state_dict_to_arrays with prefix={prefix!r}")
    meta = json.loads(str(arrays[meta_key]))

    def dec(v):
        if isinstance(v, list):
            return [dec(x) for x in v]
        if isinstance(v, dict):
            if "__array__" in v:
                return backend.to_numpy(arrays[v["__array__"]]).copy()
            if "__tuple__" in v:
                return tuple(dec(x) for x in v["__tuple__"])
            if "__dict__" in v:
                return {_hashable(dec(k)): dec(x) for k, x in v["__dict__"]}
        return v

    return dec(meta)


def _hashable(k):
    return tuple(_hashable(x) for x in k) if isinstance(k, (list, tuple)) else k
