"""The 8 flips/rotations of a square image (the dihedral group D4) on the last two axes.

Transform t in 0..7 rotates by 90 degrees t % 4 times, then mirrors left-right when t >= 4.
Training uses them as augmentation (``per_item``: one transform per batch item); the x8
self-ensembles of the denoiser and the super-resolution networks run the model on each
transformed input, undo the transform on the output (``untransform``) and average.
"""
from __future__ import annotations

import numpy as np


def transform(a, t):
    """``a`` with transform ``t`` applied to its last two axes (a view)."""
    b = np.rot90(a, t % 4, axes=(-2, -1))
    return b[..., ::-1] if t >= 4 else b


def untransform(a, t):
    """The inverse of ``transform(., t)``: untransform(transform(a, t), t) == a."""
    b = a[..., ::-1] if t >= 4 else a
    return np.rot90(b, -(t % 4), axes=(-2, -1))


def per_item(a, t):
    """a[i] transformed by t[i] for every item i of the first axis (square last two axes)."""
    out = np.empty_like(a)
    for k in range(8):                               # a loop over the 8 transforms, not over items
        sel = np.nonzero(t == k)[0]
        if sel.size:
            out[sel] = transform(a[sel], k)
    return out


def ensemble(fn, x, first=None):
    """The mean of untransform(fn(transform(x, t)), t) over the 8 transforms, as float64.

    ``first``: fn(x) when the caller already has it (transform 0 is the identity), so it is
    not computed again."""
    acc = None
    for t in range(8):
        y = fn(np.ascontiguousarray(transform(x, t))) if t or first is None else first
        y = untransform(np.asarray(y, dtype=np.float64), t)
        acc = y if acc is None else acc + y
    return acc / 8.0
