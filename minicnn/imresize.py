"""MATLAB-compatible ``imresize``: bicubic (and bilinear / nearest) resizing with antialiasing.

Super-resolution papers (SRCNN, ESPCN, VDSR, ...) make their low-resolution
images with MATLAB's ``imresize(img, 1/s, 'bicubic')`` and report bicubic
baselines with ``imresize(lr, s, 'bicubic')``. Their numbers (bicubic on Set5 x3:
30.39 dB) are only comparable when the same resampling is used, so this module
re-implements MATLAB's algorithm on minicnn's array backends (NumPy or CuPy).

The algorithm, one axis at a time (a separable filter)
-------------------------------------------------------
For an axis of ``n_in`` samples resized by ``scale`` (= n_out / n_in) to
``n_out = ceil(n_in * scale)`` samples, output sample ``x = 1..n_out`` (1-based,
as MATLAB) sits at input coordinate::

    u = x / scale + 0.5 * (1 - 1 / scale)        # pixel centres map onto pixel centres

and is a weighted sum of the input samples ``i = left .. left + P - 1`` with::

    left = floor(u - width / 2),   P = ceil(width) + 2
    w_i  = h(u - i) / sum_j h(u - j)              # weights normalised to sum 1

* ``bicubic``: h is Keys' cubic convolution kernel with a = -0.5 (support 2, width 4)::

      h(t) = 1.5|t|^3 - 2.5|t|^2 + 1            for |t| <= 1
      h(t) = -0.5|t|^3 + 2.5|t|^2 - 4|t| + 2    for 1 < |t| <= 2,  0 beyond

* ``bilinear``: the triangle 1 - |t| (width 2); ``nearest``: the box [-0.5, 0.5) (width 1).
* **Antialiasing** (MATLAB's default except for ``nearest``): when shrinking
  (scale < 1) the kernel is stretched to ``h_s(t) = scale * h(scale * t)`` and its
  width to ``width / scale``, so it low-pass filters before subsampling.
* **Borders**: indices outside ``1..n_in`` are mirrored *symmetrically*
  (``... 2 1 | 1 2 3 ... n | n n-1 ...``, the edge sample repeated), as MATLAB's
  ``aux = [1:n, n:-1:1]`` with modular indexing.
* The axis with the smaller scale is resized first (MATLAB's order); with equal
  scales the first of ``axes`` (rows) goes first.
* Integer images (uint8) are filtered in float64 and rounded back to the input
  dtype with saturation after each axis, as MATLAB does; float images keep their
  dtype (weights are computed in float64 and cast to it).

Differences from PIL's ``Image.resize(..., Image.BICUBIC)``
-----------------------------------------------------------
PIL uses the same kernel (a = -0.5), the same pixel-centre mapping and the same
antialiasing stretch when shrinking, so *interior* pixels of a float ('F' mode)
image agree with this module to float32 rounding. They differ in:

1. **Borders**: PIL drops the taps that fall outside the image and renormalises
   the remaining weights; MATLAB (and this module) mirror the image instead. The
   first and last ~2 (upscaling) or ~2/scale (downscaling) rows/columns differ.
2. **Rounding**: for 8-bit images PIL computes with fixed-point coefficients
   (22 fractional bits) and resizes the width before the height, rounding to
   uint8 after each pass; MATLAB's ``uint8`` path also rounds after each pass but
   filters with float64 weights and goes rows-first. Papers apply imresize on float images
   in [0, 1] (no intermediate rounding), which is what the super-resolution
   pipeline here does.
3. Output size: PIL takes the size you give; ``imresize`` with a scale uses
   ``ceil(n * scale)``.

``tests/test_imresize.py`` checks this module against hand-derived values
(constant images, linear ramps, a 1-D case worked out on paper, a literal
scalar transcription of MATLAB's ``contributions``) and against PIL's interior.
"""
from __future__ import annotations

import math

from minicnn import backend

__all__ = ["imresize", "cubic", "contributions"]

_METHODS = ("bicubic", "bilinear", "nearest")


def cubic(t, xp):
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``), element-wise on ``t``."""
    a = xp.abs(t)
    a2 = a * a
    a3 = a2 * a
    return ((1.5 * a3 - 2.5 * a2 + 1) * (a <= 1)
            + (-0.5 * a3 + 2.5 * a2 - 4 * a + 2) * ((1 < a) & (a <= 2)))


def _triangle(t, xp):
    return (t + 1) * ((-1 <= t) & (t < 0)) + (1 - t) * ((0 <= t) & (t <= 1))


def _box(t, xp):
    return ((-0.5 <= t) & (t < 0.5)) * 1.0


_KERNELS = {"bicubic": (cubic, 4.0), "bilinear": (_triangle, 2.0), "nearest": (_box, 1.0)}


def contributions(n_in, n_out, scale, method="bicubic", antialiasing=True, xp=None):
    """Weights and source indices of one axis: arrays ``(n_out, P)`` (float64, int64, 0-based).

    ``out[x] = sum_k weights[x, k] * in[indices[x, k]]``. Columns whose weights are
    all zero are dropped, as MATLAB does (it changes no value, only the work).
    """
    xp = xp or backend.numpy_module()
    kernel, width = _KERNELS[method]
    if scale < 1 and antialiasing:
        def h(t):
            return scale * kernel(scale * t, xp)
        width = width / scale
    else:
        def h(t):
            return kernel(t, xp)
    x = xp.arange(1, n_out + 1, dtype=xp.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = xp.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + xp.arange(taps, dtype=xp.float64)[None, :]   # 1-based source positions
    w = h(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = xp.concatenate([xp.arange(n_in), xp.arange(n_in - 1, -1, -1)])   # [1..n, n..1] - 1
    idx = mirror[((idx.astype(xp.int64) - 1) % (2 * n_in))]
    keep = backend.to_numpy(xp.any(w != 0, axis=0))
    cols = [k for k in range(taps) if keep[k]]
    return w[:, cols], idx[:, cols]


def _resize_axis(a, axis, n_out, scale, method, antialiasing, xp):
    w, idx = contributions(a.shape[axis], n_out, scale, method, antialiasing, xp)
    w = w.astype(a.dtype, copy=False)
    shape = [1] * a.ndim
    shape[axis] = n_out
    out = None
    for k in range(w.shape[1]):          # a loop over kernel taps (<= 4/scale + 3), not pixels
        term = xp.take(a, idx[:, k], axis=axis) * w[:, k].reshape(shape)
        out = term if out is None else out + term
    return out


def imresize(image, scale=None, output_shape=None, method="bicubic", antialiasing=None, axes=(-2, -1)):
    """Resize the two ``axes`` of ``image`` as MATLAB's ``imresize`` does.

    ``image``: a NumPy/CuPy array or a minicnn Tensor (its values are resized, no
    gradient is recorded), e.g. (H, W), (C, H, W) or (N, C, H, W); pass
    ``axes=(0, 1)`` for (H, W, C) images. Give ``scale`` (a number, or one per
    axis; output size ``ceil(n * scale)``) or ``output_shape`` (two sizes; the
    scale of each axis is then ``out / in``). ``method``: 'bicubic' (default),
    'bilinear' or 'nearest'. ``antialiasing`` defaults to True except for 'nearest'.
    Returns the same kind of object with the same dtype.
    """
    from minicnn.tensor import Tensor
    is_tensor = isinstance(image, Tensor)
    a = image.data if is_tensor else image
    if not backend.is_array(a):
        raise TypeError(f"imresize: image must be an array or Tensor, got {type(image).__name__}")
    if method not in _METHODS:
        raise ValueError(f"imresize: method must be one of {_METHODS}, got {method!r}")
    if not (isinstance(axes, (tuple, list)) and len(axes) == 2):
        raise ValueError(f"imresize: axes must be a pair of axes, got {axes!r}")
    if a.ndim < 2:
        raise ValueError(f"imresize: image must have at least 2 dimensions, got shape {tuple(a.shape)}")
    ax = [int(d) % a.ndim for d in axes]
    if ax[0] == ax[1]:
        raise ValueError(f"imresize: axes must be two different axes, got {axes!r}")
    n_in = [a.shape[d] for d in ax]
    if (scale is None) == (output_shape is None):
        raise ValueError("imresize: give exactly one of scale and output_shape")
    if scale is not None:
        scales = list(scale) if isinstance(scale, (tuple, list)) else [scale, scale]
        if len(scales) != 2 or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0
                                       for s in scales):
            raise ValueError(f"imresize: scale must be a positive number or a pair of them, got {scale!r}")
        scales = [float(s) for s in scales]
        n_out = [int(math.ceil(n * s)) for n, s in zip(n_in, scales)]
    else:
        if not (isinstance(output_shape, (tuple, list)) and len(output_shape) == 2 and
                all(isinstance(n, int) and n > 0 for n in output_shape)):
            raise ValueError(f"imresize: output_shape must be two positive ints, got {output_shape!r}")
        n_out = [int(n) for n in output_shape]
        scales = [o / i for o, i in zip(n_out, n_in)]
    if min(n_in) < 1:
        raise ValueError(f"imresize: image has an empty axis, shape {tuple(a.shape)}")
    if antialiasing is None:
        antialiasing = method != "nearest"
    xp = backend.array_module(a, op="imresize")
    kind = a.dtype.kind
    if kind == "b":
        raise TypeError("imresize: boolean images are not supported; convert to uint8 or float first")
    work = a
    order = sorted(range(2), key=lambda i: scales[i])     # smaller scale first; stable: rows first
    for i in order:
        if kind == "f":
            work = _resize_axis(work, ax[i], n_out[i], scales[i], method, antialiasing, xp)
        else:   # MATLAB's integer path: filter in double, round and saturate after each pass
            info = xp.iinfo(a.dtype)
            work = _resize_axis(work.astype(xp.float64), ax[i], n_out[i], scales[i], method,
                                antialiasing, xp)
            work = xp.clip(xp.round(work), info.min, info.max).astype(a.dtype)
    return Tensor(work) if is_tensor else work
