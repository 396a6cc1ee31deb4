"""User images for the algorithms: a file, a built-in sample name or an array, sized by its longest side.

    from algorithms.common.images import load_rgb
    img = load_rgb("photo.jpg", "input", size=512)     # (3, H, W) float64 NumPy array in [0, 1]
    img = load_rgb("astronaut", "input", size=256)     # a scikit-image sample (minicnn.io.sample_names())

Reading, colour conversion (grayscale -> RGB, alpha onto white, 16-bit) and the Lanczos
resize are ``minicnn.io``'s; this module only decides what the source is and turns every
failure into a one-line error that names the argument (``what``) and the value, raised
before any work starts.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["load_rgb", "resolve_source", "save_rgb"]


def resolve_source(source, what="input"):
    """'file' or 'sample' for a path or sample name; FileNotFoundError naming ``what`` otherwise."""
    from minicnn import io as mio
    path = Path(os.fspath(source))
    if path.exists():
        if path.is_dir():
            raise ValueError(f"{what} {str(path)!r} is a folder, expected an image file")
        return "file"
    if str(source) in mio.sample_names():
        return "sample"
    raise FileNotFoundError(f"{what} file {str(source)!r} does not exist (and it is not a sample name: "
                            f"{', '.join(mio.sample_names())})")


def load_rgb(source, what="input", size=None, dtype="float64") -> np.ndarray:
    """An image as a (3, H, W) NumPy array in [0, 1].

    ``source``: a file path, a sample name (``minicnn.io.sample_names()``), or an array
    (H, W), (H, W, C) with C in 1..4 (uint8/uint16/float in [0, 1]) or (3, H, W) float.
    ``size``: None keeps the size, an int resizes so the LONGEST side has ``size`` pixels
    (aspect ratio kept, Lanczos), a pair (height, width) resizes to exactly that.
    """
    from minicnn import io as mio
    if size is not None and not isinstance(size, (tuple, list)):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"{what}: size must be a positive number of pixels (longest side), got {size!r}")
        size = int(size)
    if isinstance(source, (str, os.PathLike)):
        kind = resolve_source(source, what)
        try:
            if kind == "sample":
                arr = mio.load_sample(str(source), size=size, as_tensor=False, dtype=dtype)
            else:
                arr = mio.load_image(source, size=size, as_tensor=False, dtype=dtype)
        except (ValueError, OSError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"{what} {str(source)!r} is not a readable image ({msg})") from None
        return arr[0]
    if hasattr(source, "data") and hasattr(source, "numpy"):      # a minicnn Tensor
        source = source.numpy()
    if not isinstance(source, np.ndarray):
        raise TypeError(f"{what} must be an image path, a sample name or a NumPy array, "
                        f"got {type(source).__name__}")
    a = source
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 2, 3, 4):
        a = np.moveaxis(a, 0, 2)                                    # (C, H, W) -> (H, W, C)
    try:
        t = mio.to_tensor(a, mode="RGB", dtype=dtype)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    out = t.numpy()[0]
    if size is not None:
        from minicnn.imresize import imresize
        h, w = out.shape[1:]
        if isinstance(size, (tuple, list)):
            hw = (int(size[0]), int(size[1]))
        else:
            f = size / max(h, w)
            hw = (max(1, int(round(h * f))), max(1, int(round(w * f))))
        if hw != (h, w):
            out = np.clip(imresize(out, output_shape=hw), 0.0, 1.0)
    return out


def save_rgb(image, path):
    """Write a (3, H, W) / (H, W, 3) image in [0, 1] atomically (format from the extension)."""
    from minicnn import io as mio
    return mio.save_image(np.asarray(image), path)
