"""minicnn.imresize (MATLAB-compatible bicubic with antialiasing) against values known by hand.

Reference values come from three independent sources: closed forms worked out on
paper (constant, linear and quadratic signals; one border sample of a 1-D upscale;
the interior filters of x2 downscaling), a literal scalar transcription of MATLAB's
``contributions``/``resizeAlongDim`` (loops, 1-based indices, no vectorisation),
and PIL's float ('F' mode) bicubic, which shares the kernel away from the borders.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

import minicnn
from minicnn.imresize import contributions, cubic, imresize

TOL = 1e-6


# --- a literal, loop-by-loop transcription of MATLAB's imresize (1-based, scalar math) -----------

def _matlab_cubic(x):
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax ** 3 - 2.5 * ax ** 2 + 1
    if ax <= 2:
        return -0.5 * ax ** 3 + 2.5 * ax ** 2 - 4 * ax + 2
    return 0.0


def _matlab_resize_1d(v, n_out, scale):
    n_in = len(v)
    width = 4.0
    if scale < 1:
        def h(t):
            return scale * _matlab_cubic(scale * t)
        width = 4.0 / scale
    else:
        h = _matlab_cubic
    aux = list(range(1, n_in + 1)) + list(range(n_in, 0, -1))
    out = []
    for x in range(1, n_out + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = [left + k for k in range(int(math.ceil(width)) + 2)]
        w = [h(u - i) for i in taps]
        s = sum(w)
        src = [aux[(i - 1) % len(aux)] for i in taps]
        out.append(sum(wi / s * v[j - 1] for wi, j in zip(w, src)))
    return out


def _matlab_imresize(img, n_out, scales):
    rows = np.array([_matlab_resize_1d(list(col), n_out[0], scales[0]) for col in img.T]).T
    return np.array([_matlab_resize_1d(list(r), n_out[1], scales[1]) for r in rows])


# --- closed forms ------------------------------------------------------------------------------

def test_kernel_values():
    t = np.array([0.0, 0.25, 0.75, 1.0, 1.25, 1.75, 2.0, 2.5, -0.25])
    expected = [1.0, 0.8671875, 0.2265625, 0.0, -0.0703125, -0.0234375, 0.0, 0.0, 0.8671875]
    np.testing.assert_allclose(cubic(t, np), expected, atol=1e-15)


def test_hand_computed_1d_upscale_with_symmetric_border():
    # x2 upscale of [a, b, c, d]: the first output sits at u = 1/2 + 1/4 = 0.75, taps at input
    # positions -1, 0, 1, 2 with weights h(1.75), h(0.75), h(-0.25), h(-1.25); the symmetric
    # border maps -1 -> 2 and 0 -> 1, so out[0] = (h(.75) + h(.25)) a + (h(1.75) + h(1.25)) b
    # = 1.09375 a - 0.09375 b. The interior sample x = 4 (u = 2.25) uses positions 0..3 -> 1, 1, 2, 3
    # with weights h(2.25)=0, h(1.25), h(.25), h(.75), h(1.75): out[3] = -0.0703125 a + 0.8671875 b
    # + 0.2265625 c - 0.0234375 d.
    v = np.array([[0.3, -1.7, 2.9, 0.55]])
    out = imresize(v, output_shape=(1, 8))
    a, b, c, d = v[0]
    assert out.shape == (1, 8)
    assert abs(out[0, 0] - (1.09375 * a - 0.09375 * b)) < 1e-12
    assert abs(out[0, 3] - (-0.0703125 * a + 0.8671875 * b + 0.2265625 * c - 0.0234375 * d)) < 1e-12
    assert abs(out[0, 7] - (1.09375 * d - 0.09375 * c)) < 1e-12   # mirror image of out[0]
    w, idx = contributions(4, 8, 2.0)
    np.testing.assert_allclose(w[0], [-0.0234375, 0.2265625, 0.8671875, -0.0703125], atol=1e-15)
    assert idx[0].tolist() == [1, 0, 0, 1]


def test_hand_computed_x2_downscale_filters():
    # x2 shrink with antialiasing: the kernel is 0.5*h(t/2); output x sits between input pixels
    # 2x-1 and 2x, taps at distances 0.5, 1.5, 2.5, 3.5 on each side.
    rng = np.random.default_rng(1)
    v = rng.random((1, 40))
    bic = imresize(v, scale=0.5)[0]
    bil = imresize(v, scale=0.5, method="bilinear")[0]
    k = 0.5 * np.array([-0.0234375, -0.0703125, 0.2265625, 0.8671875,
                        0.8671875, 0.2265625, -0.0703125, -0.0234375])
    tri = np.array([1, 3, 3, 1]) / 8
    for x in range(2, 18):                      # interior outputs (0-based); pixels 2x-3 .. 2x+4
        assert abs(bic[x] - k @ v[0, 2 * x - 3:2 * x + 5]) < 1e-12
        assert abs(bil[x] - tri @ v[0, 2 * x - 1:2 * x + 3]) < 1e-12


@pytest.mark.parametrize("scale", [2, 3, 4, 1 / 2, 1 / 3, 1 / 4, 1.5, 0.7])
@pytest.mark.parametrize("method", ["bicubic", "bilinear", "nearest"])
def test_constant_image_stays_constant(scale, method):
    img = np.full((2, 23, 17), 0.37)
    out = imresize(img, scale=scale, method=method)
    assert out.shape == (2, math.ceil(23 * scale), math.ceil(17 * scale))
    assert np.abs(out - 0.37).max() < 1e-12
    u8 = imresize(np.full((23, 17), 200, np.uint8), scale=scale, method=method)
    assert u8.dtype == np.uint8 and (u8 == 200).all()


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscaling_reproduces_linear_and_quadratic_signals_inside(scale):
    # Keys' kernel with a = -0.5 reproduces polynomials up to degree 2 exactly (a = -0.75 would not).
    n = 16
    i = np.arange(1, n + 1, dtype=np.float64)
    img = (0.5 * i[:, None] - 0.25 * i[None, :] + 0.03 * i[None, :] ** 2)
    out = imresize(img, scale=scale)
    u = np.arange(1, n * scale + 1) / scale + 0.5 * (1 - 1 / scale)      # MATLAB's source positions
    expected = 0.5 * u[:, None] - 0.25 * u[None, :] + 0.03 * u[None, :] ** 2
    inner = slice(3 * scale, -3 * scale)
    assert np.abs(out[inner, inner] - expected[inner, inner]).max() < 1e-12
    assert np.abs(out - expected).max() > 1e-3     # the mirrored border is not linear


@pytest.mark.parametrize("s", [2, 3, 4])
def test_integer_downscaling_reproduces_a_linear_ramp_inside(s):
    n = 12 * s
    i = np.arange(1, n + 1, dtype=np.float64)
    img = 2.0 * i[:, None] + 0.5 * i[None, :]
    out = imresize(img, scale=1 / s)
    u = np.arange(1, n // s + 1) * s + 0.5 * (1 - s)                   # centre of each s-block
    expected = 2.0 * u[:, None] + 0.5 * u[None, :]
    assert out.shape == (12, 12)
    assert np.abs(out[3:-3, 3:-3] - expected[3:-3, 3:-3]).max() < 1e-12


def test_nearest_repeats_and_picks_block_centres():
    v = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(imresize(v, scale=2, method="nearest"), np.repeat(np.repeat(v, 2, 0), 2, 1))
    w = np.arange(81.0).reshape(9, 9)
    np.testing.assert_array_equal(imresize(w, scale=1 / 3, method="nearest"), w[1::3, 1::3])


@settings(max_examples=25, deadline=None)
@given(h=st.integers(3, 19), w=st.integers(3, 19),
       sy=st.sampled_from([2.0, 3.0, 4.0, 0.5, 1 / 3, 0.25, 1.7, 0.37, 1.0]),
       sx=st.sampled_from([2.0, 3.0, 0.5, 1 / 3, 0.6, 2.3]), seed=st.integers(0, 2 ** 16))
def test_matches_literal_matlab_transcription(h, w, sy, sx, seed):
    img = np.random.default_rng(seed).random((h, w))
    n_out = (math.ceil(h * sy), math.ceil(w * sx))
    out = imresize(img, scale=(sy, sx))
    ref = _matlab_imresize(img, n_out, (sy, sx))
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 1e-12


@pytest.mark.parametrize("scale", [2, 3, 4, 1 / 2, 1 / 3, 1 / 4])
def test_interior_matches_pil_float_bicubic(scale):
    # PIL shares the kernel and the pixel-centre mapping; it differs only near the borders
    # (it renormalises clipped taps instead of mirroring) -- see the module docstring.
    a = np.random.default_rng(2).random((48, 72)).astype(np.float32)   # sizes divisible by 2, 3, 4
    out = imresize(a, scale=scale)
    pil = np.asarray(Image.fromarray(a, mode="F").resize((out.shape[1], out.shape[0]), Image.BICUBIC))
    b = int(math.ceil(2 * max(scale, 1))) + 2       # output samples whose taps reach the border
    assert out.dtype == np.float32
    assert np.abs(out - pil)[b:-b, b:-b].max() < TOL
    assert np.abs(out - pil).max() > 1e-3


def test_uint8_rounds_and_saturates_after_each_pass():
    img = np.zeros((12, 12), np.uint8)
    img[:, 6:] = 255                       # a step edge: bicubic overshoots above 255 and below 0
    out = imresize(img, scale=3)
    assert out.dtype == np.uint8
    f = np.clip(np.round(imresize(img.astype(np.float64), scale=(3, 1))), 0, 255)
    f = np.clip(np.round(imresize(f, scale=(1, 3))), 0, 255)
    np.testing.assert_array_equal(out, f)
    raw = imresize(img.astype(np.float64), scale=3)
    assert raw.max() > 255.5 and raw.min() < -0.5         # so saturation was really exercised


def test_axes_dtype_and_tensor_input():
    rng = np.random.default_rng(3)
    hwc = rng.random((10, 14, 3))
    a = imresize(hwc, scale=1 / 2, axes=(0, 1))
    b = np.moveaxis(imresize(np.moveaxis(hwc, -1, 0), scale=1 / 2), 0, -1)
    assert a.shape == (5, 7, 3) and np.abs(a - b).max() < 1e-15
    t = minicnn.tensor(hwc.transpose(2, 0, 1)[None].astype(np.float32))
    out = imresize(t, scale=3)
    assert isinstance(out, minicnn.Tensor) and out.shape == (1, 3, 30, 42) and out.dtype == np.float32
    ref = imresize(hwc.transpose(2, 0, 1)[None], scale=3)
    assert np.abs(out.numpy() - ref).max() < 1e-5
    # scale and output_shape describe the same resize when the sizes divide exactly
    assert np.abs(imresize(hwc[:, :, 0], output_shape=(5, 7)) - a[:, :, 0]).max() < 1e-15


@pytest.mark.parametrize("kwargs, match", [
    (dict(scale=2, method="lanczos"), "method must be one of"),
    (dict(), "exactly one of scale and output_shape"),
    (dict(scale=2, output_shape=(4, 4)), "exactly one of scale and output_shape"),
    (dict(scale=-1), "scale must be a positive number"),
    (dict(output_shape=(0, 3)), "output_shape must be two positive ints"),
    (dict(scale=2, axes=(1, 1)), "two different axes"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        imresize(np.zeros((4, 4)), **kwargs)
    with pytest.raises(TypeError, match="array or Tensor"):
        imresize([[1.0, 2.0]], scale=2)
