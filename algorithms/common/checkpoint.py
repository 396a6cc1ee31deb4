"""Checkpoints: nested training state (model, optimizer, scheduler, RNG, history) in one .npz.

Nested dicts/lists of arrays and Python scalars are flattened to npz keys plus a
JSON description of the structure, so a checkpoint needs neither pickle nor torch
and restores exactly (same arrays, same dtypes, same RNG state).
"""
from __future__ import annotations

import json

import numpy as np

from algorithms.common.files import atomic_path
from minicnn import backend

_ARRAY = "__array__"


def _flatten(obj, arrays, prefix):
    if isinstance(obj, dict):
        if not all(isinstance(k, (str, int)) for k in obj):
            raise TypeError(f"checkpoint: dict keys must be str or int at {prefix!r}")
        return {"__dict__": [[k, _flatten(v, arrays, f"{prefix}/{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__" if isinstance(obj, list) else "__tuple__":
                [_flatten(v, arrays, f"{prefix}/{i}") for i, v in enumerate(obj)]}
    if hasattr(obj, "data") and backend.is_array(getattr(obj, "data", None)):
        obj = obj.data  # a Tensor
    if backend.is_array(obj) or isinstance(obj, np.generic):
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_numpy(np.asarray(obj) if isinstance(obj, np.generic) else obj)
        return {_ARRAY: key, "scalar": isinstance(obj, np.generic)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"checkpoint: cannot store {type(obj).__name__} at {prefix!r}")


def _unflatten(node, arrays):
    if isinstance(node, dict):
        if _ARRAY in node:
            a = arrays[node[_ARRAY]]
            return a[()] if node.get("scalar") else a
        if "__dict__" in node:
            return {k: _unflatten(v, arrays) for k, v in node["__dict__"]}
        if "__list__" in node:
            return [_unflatten(v, arrays) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(_unflatten(v, arrays) for v in node["__tuple__"])
    return node


def save_checkpoint(path, state: dict):
    """Write ``state`` (nested dicts/lists of arrays, Tensors and scalars) atomically to ``path``."""
    arrays: dict = {}
    tree = _flatten(state, arrays, "")
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, __tree__=np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8), **arrays)


def load_checkpoint(path) -> dict:
    """The state saved by ``save_checkpoint``; ValueError naming the file if it is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist") from None
    except Exception as e:
        raise ValueError(f"checkpoint {str(path)!r} cannot be read ({type(e).__name__}: {e})") from None
    if "__tree__" not in arrays:
        raise ValueError(f"checkpoint {str(path)!r} is not a minicnn checkpoint (no __tree__ entry)")
    tree = json.loads(arrays.pop("__tree__").tobytes().decode())
    return _unflatten(tree, arrays)


def rng_state(gen) -> dict:
    """A numpy Generator's state as JSON-friendly data (for exact resume)."""
    return json.loads(json.dumps(gen.bit_generator.state))


def set_rng_state(gen, state: dict):
    gen.bit_generator.state = state
    return gen
