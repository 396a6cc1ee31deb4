"""Atomic writes and input checks for files the algorithms read and write."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from minicnn.atomic import atomic_path as _atomic_path


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path next to ``path``; rename it into place only if the block succeeds.

    For writers that want a file name rather than a file object (matplotlib,
    Pillow with a format guessed from the name); built on ``minicnn.atomic``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_path(path, suffix=suffix or path.suffix) as tmp:
        yield tmp


def check_output_path(path, what="output"):
    """Refuse before any work an output whose folder cannot be created or written."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a folder; give a file name such as out.png")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{what} folder {str(parent)!r} cannot be created: {e.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{what} folder {str(parent)!r} is not writable")
    return path


def check_input_file(path, what="input"):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a folder, expected a file")
    return path


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def list_images(folder, what="dataset"):
    """The image files in ``folder`` (sorted), with clear errors for a missing, non-folder or empty path."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{what} folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise ValueError(f"{what} {str(folder)!r} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{what} folder {str(folder)!r} has no images ({', '.join(IMAGE_SUFFIXES)})")
    return files
