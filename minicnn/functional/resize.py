"""Resizing (torch.nn.functional names): interpolate, pixel_shuffle, pixel_unshuffle.

``interpolate`` works on 4-D (N, C, H, W) input. Every mode is separable: the
output is ``A_h @ x @ A_w^T`` where ``A_h`` (out_h x H) and ``A_w`` (out_w x W)
hold each output pixel's interpolation weights over its input row/column, so the
backward pass is the transposed product ``A_h^T @ g @ A_w``. The matrices are
banded and are applied through their few non-zeros per row (a gather per tap).
They are built with exactly torch's index and weight rules (``ATen/native/UpSample.h``):

* source position of output i (no align_corners):  ``scale * (i + 0.5) - 0.5``
  where ``scale = 1 / scale_factor`` when the user gave scale_factor (and did not
  ask for recompute_scale_factor), else ``in / out``; clamped at 0 except for cubic.
  With align_corners: ``i * (in - 1) / (out - 1)``.
* bilinear: the two neighbours with weights ``1 - t`` and ``t``; an axis whose size
  does not change is copied unchanged (torch's special case).
* bicubic: the four neighbours ``floor(src) - 1 .. floor(src) + 2`` (indices clamped
  to the border) weighted by Keys' cubic convolution with a = -0.75.
* antialias (bilinear/bicubic): torch's widened filter: support scaled by in/out
  when downscaling, triangle or cubic (a = -0.5) weights normalised to sum 1.
* nearest / nearest-exact: a gather of ``floor(i * s)`` / ``floor((i + 0.5) * s)``, s = 1/scale
  (index arithmetic in float32, as torch does; nearest copies when the size does not change and
  takes i // 2 when it doubles): a 0/1 selection matrix.
* area: adaptive_avg_pool2d.

Weights are computed in the input's dtype (float32 for float32 input), as torch's kernels do.
"""
from __future__ import annotations

import math

from minicnn import backend
from minicnn.functional.pool import _as_int, _check_tensor, adaptive_avg_pool2d
from minicnn.tensor import Function

__all__ = ["interpolate", "pixel_shuffle", "pixel_unshuffle"]

MODES = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")


# --- per-axis index and weight rules (torch's UpSample.h) --------------------------------

def _area_scale(ft, n_in, n_out, align_corners, scale):
    """torch's area_pixel_compute_scale in float type ``ft``."""
    if align_corners:
        return ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(n_in) / ft(n_out)


def _source_index(xp, ft, scale, n_out, align_corners, cubic):
    """torch's area_pixel_compute_source_index for every output index, in ``ft``."""
    i = xp.arange(n_out).astype(ft)
    if align_corners:
        return scale * i
    src = scale * (i + ft(0.5)) - ft(0.5)
    return src if cubic else xp.maximum(src, ft(0))


def _floor_index(xp, real, n_in):
    """min(floorf(real), n_in - 1): torch floors in float32 (floorf), whatever the dtype."""
    return xp.minimum(xp.floor(real.astype(xp.float32)).astype(xp.int64), n_in - 1)


def _matrix(xp, dtype, n_out, n_in, taps):
    """A (n_out x n_in) with A[i, cols_k[i]] += w_k[i] for every tap (cols_k, w_k)."""
    a = xp.zeros((n_out, n_in), dtype=dtype)
    rows = xp.arange(n_out)
    for cols, w in taps:
        a[rows, cols] += w.astype(dtype)  # one column per row in each call: no repeats to lose
    return a


def _cubic1(x, a):
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic2(x, a):
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def linear_matrix(xp, dtype, n_in, n_out, align_corners, scale=None):
    """Bilinear weights along one axis (torch's compute_source_index_and_lambda)."""
    ft = xp.dtype(dtype).type
    if n_out == n_in:
        return xp.eye(n_in, dtype=dtype)
    s = _area_scale(ft, n_in, n_out, align_corners, scale)
    real = _source_index(xp, ft, s, n_out, align_corners, cubic=False)
    i0 = _floor_index(xp, real, n_in)
    lam1 = xp.clip(real - i0.astype(ft), ft(0), ft(1))
    lam0 = ft(1) - lam1
    i1 = i0 + (i0 < n_in - 1)
    return _matrix(xp, dtype, n_out, n_in, [(i0, lam0), (i1, lam1)])


def cubic_matrix(xp, dtype, n_in, n_out, align_corners, scale=None):
    """Bicubic weights along one axis: Keys' kernel, a = -0.75, border indices clamped."""
    ft = xp.dtype(dtype).type
    s = _area_scale(ft, n_in, n_out, align_corners, scale)
    real = _source_index(xp, ft, s, n_out, align_corners, cubic=True)
    i0 = _floor_index(xp, real, n_in)
    t = xp.clip(real - i0.astype(ft), ft(0), ft(1))
    a = ft(-0.75)
    one = ft(1)
    weights = [_cubic2(t + one, a), _cubic1(t, a), _cubic1(one - t, a), _cubic2((one - t) + one, a)]
    taps = [(xp.clip(i0 - 1 + k, 0, n_in - 1), w) for k, w in enumerate(weights)]
    return _matrix(xp, dtype, n_out, n_in, taps)


def _aa_filter(mode, x, xp):
    x = xp.abs(x)
    if mode == "bilinear":
        return xp.where(x < 1, 1 - x, 0.0)
    a = -0.5
    return xp.where(x < 1, _cubic1(x, a), xp.where(x < 2, _cubic2(x, a), 0.0))


def antialias_matrix(xp, dtype, n_in, n_out, align_corners, scale, mode):
    """torch's antialiased weights (_compute_weights_aa), computed in float64.

    Around each output's centre ``c = scale * (i + 0.5)`` the filter is widened by
    ``scale = in/out`` when downscaling; taps are input pixels j in
    [int(c - support + 0.5), int(c + support + 0.5)), weights normalised to sum 1.
    An axis whose size does not change is copied unchanged.
    """
    if n_out == n_in:
        return xp.eye(n_in, dtype=dtype)
    ft = xp.float64
    interp = 2 if mode == "bilinear" else 4
    s = float(_area_scale(ft, n_in, n_out, align_corners, scale))
    support = interp * 0.5 * s if s >= 1.0 else interp * 0.5
    invscale = 1.0 / s if s >= 1.0 else 1.0
    width = int(math.ceil(support)) * 2 + 1
    center = s * (xp.arange(n_out, dtype=ft) + 0.5)
    xmin = xp.maximum(xp.trunc(center - support + 0.5).astype(xp.int64), 0)
    xsize = xp.minimum(xp.trunc(center + support + 0.5).astype(xp.int64), n_in) - xmin
    taps = []
    for j in range(width):
        w = _aa_filter(mode, ((j + xmin) - center + 0.5) * invscale, xp) * (j < xsize)
        taps.append((xp.minimum(xmin + j, n_in - 1), w))
    total = sum(w for _, w in taps)
    total = xp.where(total != 0, total, 1.0)
    return _matrix(xp, dtype, n_out, n_in, [(c, w / total) for c, w in taps])


def nearest_index(xp, n_in, n_out, scale, exact):
    """Source index of every output for 'nearest' / 'nearest-exact' (torch's nearest_idx / nearest_exact_idx).

    nearest: same size -> identity, double size -> i // 2, else floor(i * s) with s = 1/scale_factor
    (or in/out) in float32; nearest-exact: floor((i + 0.5) * s). Indices are clamped to in - 1.
    """
    i = xp.arange(n_out)
    if not exact and n_out == n_in:
        return i
    if not exact and n_out == 2 * n_in:
        return i // 2
    f32 = xp.float32
    s = f32(1.0 / scale) if scale is not None and scale > 0 else f32(n_in) / f32(n_out)
    if exact:  # (i + 0.5) is a double in torch, the product is rounded to float by floorf
        real = ((i + 0.5) * float(s)).astype(f32)
    else:
        real = i.astype(f32) * s
    return xp.minimum(xp.floor(real).astype(xp.int64), n_in - 1)


def _onehot(xp, dtype, idx, n_in):
    """The selection matrix of a gather: A[i, idx[i]] = 1."""
    return (idx[:, None] == xp.arange(n_in)[None, :]).astype(dtype)


# --- differentiable ops ---------------------------------------------------------------------

def taps_of(a):
    """The non-zeros of each row of ``a`` (n_out x n_in) as (cols, weights), both (n_out x M).

    M is the largest number of non-zeros in a row; shorter rows are padded with
    column 0 and weight 0. Interpolation matrices are banded, so M is small
    (2 for bilinear, 4 for bicubic, about 2 * in/out + 1 for antialiased downscaling).
    """
    xp = backend.array_module(a)
    nz = a != 0
    counts = nz.sum(axis=1)
    m = max(1, int(counts.max())) if a.shape[0] else 1
    r, c = xp.nonzero(nz)  # row-major: columns ascending within each row
    pos = (xp.cumsum(nz, axis=1) - 1)[r, c]
    cols = xp.zeros((a.shape[0], m), dtype=xp.int64)
    weights = xp.zeros((a.shape[0], m), dtype=a.dtype)
    cols[r, pos] = c
    weights[r, pos] = a[r, c]
    return cols, weights


def _along(x, taps, axis):
    """Apply the matrix whose rows are ``taps`` to axis ``axis`` (-2 or -1) of x:
    out[..., i, ...] = sum_m w[i, m] * x[..., cols[i, m], ...], one gather per tap."""
    xp = backend.array_module(x)
    cols, weights = taps
    out = None
    for m in range(cols.shape[1]):
        term = xp.take(x, cols[:, m], axis=axis)
        if not bool((weights[:, m] == 1).all()):  # nearest: pure gathers, no multiply
            term *= weights[:, m] if axis == -1 else weights[:, m][:, None]
        if out is None:
            out = term
        else:
            out += term
    return out


def _separable(taps_h, taps_w, in_hw, x):
    """A_h @ x @ A_w^T over the last two axes, the cheaper axis first."""
    (oh, mh), (ow, mw) = taps_h[0].shape, taps_w[0].shape
    h, w = in_hw
    if mh * oh * w + mw * oh * ow <= mw * h * ow + mh * oh * ow:
        return _along(_along(x, taps_h, -2), taps_w, -1)
    return _along(_along(x, taps_w, -1), taps_h, -2)


class Resample2d(Function):
    """y = A_h @ x @ A_w^T per image and channel;  dL/dx = A_h^T @ g @ A_w.

    A_h (out_h x H) and A_w (out_w x W) are the per-axis interpolation matrices.
    They are banded, so each product is computed from its non-zeros only: the
    forward gathers, for every output row/column, the few input rows/columns it
    mixes; the backward does the same with the transposed matrices (each input
    gathers the outputs it fed), so no scatter-add is needed.
    """

    def forward(self, x, ah, aw):
        self.ah, self.aw = ah, aw
        return _separable(taps_of(ah), taps_of(aw), x.shape[-2:], x)

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None, None
        return _separable(taps_of(self.ah.T), taps_of(self.aw.T), g.shape[-2:], g), None, None


# --- public functions ------------------------------------------------------------------------

def _two(v, name, x):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            kind = "output size" if name == "size" else "scale_factor of shape"
            raise ValueError(f"interpolate: Input and {'output' if name == 'size' else 'scale_factor'} must "
                             f"have the same number of spatial dimensions, but got input with spatial "
                             f"dimensions of {list(x.shape[2:])} and {kind} {tuple(v)}. Please provide "
                             f"input tensor in (N, C, H, W) format and {name} as a pair.")
        return tuple(v)
    return (v, v)


def _output_size_and_scales(x, size, scale_factor, recompute_scale_factor, allow_empty=False):
    op = "interpolate"
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined, got size={size!r} "
                         f"and scale_factor={scale_factor!r}")
    if size is None and scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size.")
    if size is not None:
        out = tuple(_as_int(v, op, "size") for v in _two(size, "size", x))
        scales = (None, None)
    else:
        scales = _two(scale_factor, "scale_factor", x)
        for s in scales:
            if isinstance(s, bool) or not isinstance(s, (int, float)) and not hasattr(s, "__float__"):
                raise TypeError(f"{op}: scale_factor must be a float or a pair of floats, got {scale_factor!r}")
        scales = tuple(float(s) for s in scales)
        out = tuple(int(n * s) for n, s in zip(x.shape[2:], scales))  # torch truncates
        if recompute_scale_factor:
            scales = (None, None)
    H, W = x.shape[2:]
    if allow_empty and min(out) >= 0:  # 'area' = adaptive_avg_pool2d, which allows 0
        return out, scales
    if H <= 0 or W <= 0 or out[0] <= 0 or out[1] <= 0:
        raise ValueError(f"{op}: Input and output sizes should be greater than 0, but got input (H: {H}, "
                         f"W: {W}) output (H: {out[0]}, W: {out[1]})")
    return out, scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize a 4-D (N, C, H, W) tensor, torch.nn.functional.interpolate's semantics and numbers.

    Give ``size`` (int or (h, w)) or ``scale_factor`` (float or pair). ``mode``: 'nearest',
    'nearest-exact', 'bilinear', 'bicubic' or 'area'. ``align_corners`` only for bilinear and
    bicubic (default False). ``antialias=True`` (bilinear, bicubic) low-pass filters when
    downscaling, like torch / Pillow.
    """
    op = "interpolate"
    _check_tensor(input, op)
    if mode not in MODES:
        if mode in ("linear", "trilinear") and isinstance(mode, str):
            need = 3 if mode == "linear" else 5
            raise ValueError(f"{op}: Got {input.ndim}D input, but {mode} mode needs {need}D input "
                             f"(minicnn interpolates 4-D input only)")
        raise ValueError(f"{op}: unsupported mode {mode!r}; expected one of {' | '.join(MODES)}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes: "
                             f"bilinear | bicubic, got mode={mode!r} and align_corners={align_corners!r}")
    elif align_corners is None:
        align_corners = False
    if input.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D (N, C, H, W) input, got input of shape {input.shape} "
                         f"(minicnn interpolates 4-D input only)")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError(f"{op}: Anti-alias option is restricted to bilinear and bicubic modes and "
                         f"requires a 4-D tensor as input, got mode={mode!r}")
    if mode == "area" and size is None:
        recompute_scale_factor = True
    out, scales = _output_size_and_scales(input, size, scale_factor, recompute_scale_factor,
                                          allow_empty=mode == "area")
    if mode == "area":
        return adaptive_avg_pool2d(input, out)
    xp = backend.array_module(input.data)
    dtype = input.dtype
    (H, W) = input.shape[2:]
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        ah = _onehot(xp, dtype, nearest_index(xp, H, out[0], scales[0], exact), H)
        aw = _onehot(xp, dtype, nearest_index(xp, W, out[1], scales[1], exact), W)
        return Resample2d.apply(input, ah, aw)
    if antialias:
        ah = antialias_matrix(xp, dtype, H, out[0], align_corners, scales[0], mode)
        aw = antialias_matrix(xp, dtype, W, out[1], align_corners, scales[1], mode)
    else:
        build = linear_matrix if mode == "bilinear" else cubic_matrix
        ah = build(xp, dtype, H, out[0], align_corners, scales[0])
        aw = build(xp, dtype, W, out[1], align_corners, scales[1])
    return Resample2d.apply(input, ah, aw)


def _check_factor(x, op, name, factor):
    _check_tensor(x, op)
    factor = _as_int(factor, op, name)
    if x.ndim < 3:
        raise ValueError(f"{op} expects input to have at least 3 dimensions, but got input with "
                         f"{x.ndim} dimension(s) (shape {x.shape})")
    if factor <= 0:
        raise ValueError(f"{op} expects a positive {name}, but got {factor}")
    return factor


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): out[c, h*r + i, w*r + j] = in[c*r*r + i*r + j, h, w].

    A reshape + permute + reshape, so its gradient is the inverse rearrangement.
    """
    op = "pixel_shuffle"
    r = _check_factor(input, op, "upscale_factor", upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"{op} expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    b = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of pixel_shuffle."""
    op = "pixel_unshuffle"
    r = _check_factor(input, op, "downscale_factor", downscale_factor)
    *lead, c, h, w = input.shape
    if h % r:
        raise ValueError(f"{op} expects height to be divisible by downscale_factor, but "
                         f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise ValueError(f"{op} expects width to be divisible by downscale_factor, but "
                         f"input.size(-1)={w} is not divisible by {r}")
    b = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
