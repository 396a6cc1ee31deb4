"""Saving and loading state_dicts: ``.npz`` natively, torch ``.pth`` files when torch is installed.

``save(state_dict, path)`` writes a NumPy ``.npz`` archive (one array per key,
keys kept verbatim, e.g. ``features.0.weight``). The file is written to a
temporary file in the same folder and renamed into place, so a crash never
leaves a half-written file behind.

``load(path)`` returns an OrderedDict name -> minicnn Tensor (NumPy backend). It reads

* ``.npz`` archives written by ``save`` (or ``numpy.savez``), and
* torch state_dicts (``torch.save(model.state_dict(), 'x.pth')``, torchvision's
  ``vgg19-dcbb9e9d.pth`` ...) through ``torch.load(weights_only=True)``; torch is
  needed only for this.

The format is chosen by content, not only by extension: an ``.npz`` archive is a
zip of ``.npy`` members; anything else is handed to torch.
"""
from __future__ import annotations

import os
import zipfile
from collections import OrderedDict

from minicnn import backend
from minicnn.atomic import atomic_write
from minicnn.tensor import Tensor

__all__ = ["save", "load", "save_npz_atomic"]

_np = backend.numpy_module()

TORCH_MISSING = ("reading the torch file {path!r} needs PyTorch, which is not installed. Install it "
                 "(pip install torch) or, on a machine that has it, convert the file once with "
                 "`minicnn convert-weights IN.pth OUT.npz` and load the .npz instead.")


def _to_numpy(value, key):
    if isinstance(value, Tensor):
        return backend.to_numpy(value.data)
    if backend.is_array(value):
        return backend.to_numpy(value)
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # torch.Tensor
        return value.detach().cpu().numpy()
    if isinstance(value, (int, float, bool, list, tuple)):
        return _np.asarray(value)
    raise TypeError(f"save: value for key {key!r} is a {type(value).__name__}, expected a tensor or array")


def save_npz_atomic(arrays: dict, path) -> str:
    """Write ``arrays`` (name -> numpy array) to ``path`` as ``.npz``, via a temp file + os.replace."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: folder {folder!r} for {path!r} does not exist")
    with atomic_write(path) as f:
        _np.savez(f, **arrays)
    return path


def save(state_dict, path) -> str:
    """Write a state_dict (name -> Tensor / NumPy array / torch tensor) to ``path`` as ``.npz``.

    Values are stored as NumPy arrays with their dtype (GPU tensors are copied to
    the host). The write is atomic. Returns the path.
    """
    if hasattr(state_dict, "state_dict") and callable(state_dict.state_dict):
        raise TypeError("save: expected a state_dict (name -> tensor); pass model.state_dict(), not the model")
    if not hasattr(state_dict, "items"):
        raise TypeError(f"save: expected a mapping name -> tensor, got {type(state_dict).__name__}")
    arrays = OrderedDict()
    for k, v in state_dict.items():
        if not isinstance(k, str):
            raise TypeError(f"save: keys must be strings, got {k!r}")
        arrays[k] = _to_numpy(v, k)
    return save_npz_atomic(arrays, path)


def _is_npz(path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return bool(names) and all(n.endswith(".npy") for n in names)


def _load_npz(path):
    try:
        with _np.load(path, allow_pickle=False) as data:
            return OrderedDict((k, Tensor(_np.asarray(data[k]))) for k in data.files)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ValueError(f"load: {path!r} is not a readable .npz weights file "
                         f"({type(exc).__name__}: {exc})") from None


def _load_torch(path):
    try:
        import torch
    except ImportError:
        raise ImportError(TORCH_MISSING.format(path=path)) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError ... on bad files
        raise ValueError(f"load: {path!r} is not a readable weights file (.npz or torch state_dict): "
                         f"{type(exc).__name__}: {str(exc)[:300]}") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict) and not any(
            isinstance(v, torch.Tensor) for v in obj.values()):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"load: {path!r} holds a {type(obj).__name__}, not a state_dict "
                         "(a mapping name -> tensor)")
    return OrderedDict((str(k), Tensor(v.detach().cpu().numpy())) for k, v in obj.items())


def load(path):
    """Read a state_dict from ``path`` (``.npz``, or a torch ``.pth`` when torch is installed).

    Returns an OrderedDict name -> minicnn Tensor. A missing file raises
    FileNotFoundError, an unreadable or non-weights file ValueError, both naming
    the path; a torch file without torch installed raises ImportError saying how
    to convert it.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such weights file: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"load: {path!r} is a folder, not a weights file")
    if path.lower().endswith(".npz") or _is_npz(path):
        return _load_npz(path)
    with open(path, "rb") as f:
        head = f.read(4)
    # torch files are zip archives (PK..) or, in the legacy format, a pickle (0x80 protocol byte)
    if not (head.startswith(b"PK") or head[:1] == b"\x80"):
        raise ValueError(f"load: {path!r} is neither an .npz archive nor a torch state_dict file "
                         f"(starts with {head!r})")
    return _load_torch(path)
