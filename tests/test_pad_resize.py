"""pad, interpolate, pixel_shuffle and pixel_unshuffle against torch and finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

import minicnn
import minicnn.functional as MF
import reference.functional.pad as RP
import reference.functional.resize as RR
from tests import strategies as S
from tests.harness import compare, gradcheck

# --- pad -------------------------------------------------------------------------------------


@st.composite
def constant_pad_cases(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=4, max_side=5))
    k = draw(st.integers(1, len(shape)))
    pad = []
    for i in range(k):
        n = shape[len(shape) - 1 - i]
        lo = draw(st.integers(-n, 3))
        hi = draw(st.integers(-(n + min(lo, 0)), 3))  # torch crops first: at most n in total
        pad += [lo, hi]
    return shape, tuple(pad)


@settings(max_examples=40, deadline=None)
@given(case=constant_pad_cases(), value=st.sampled_from([None, 0.0, -1.5, 2.0]), seed=S.seeds, dtype=S.dtypes)
def test_constant_pad_matches_torch(case, value, seed, dtype):
    shape, pad = case
    x = S.array(seed, shape)
    compare(lambda t: MF.pad(t, pad, value=value), lambda t: RP.pad(t, pad, value=value), [x], dtype=dtype,
            what=f"pad {shape} {pad} value={value}")


@st.composite
def border_pad_cases(draw):
    mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    k = draw(st.sampled_from([1, 2, 2, 3]))
    ndim = draw(st.sampled_from([k + 1, k + 2]))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(ndim - k)) + \
        tuple(draw(st.integers(2 if mode == "reflect" else 1, 6)) for _ in range(k))
    # torch's reflection_pad3d backward is wrong with negative amounts and circular padding
    # misbehaves with them (see report): negative amounts are drawn for 1-D/2-D reflect/replicate only
    negative = mode != "circular" and k < 3
    pad = []
    for i in range(k):
        n = shape[-1 - i]
        top = n - 1 if mode == "reflect" else (n if mode == "circular" else 4)
        lo = draw(st.integers(-(n - 1) if negative else 0, top))
        hi = draw(st.integers(-(n - 1 + min(lo, 0)) if negative else 0, top))
        assume(n + lo + hi >= 1)
        pad += [lo, hi]
    return mode, shape, tuple(pad)


@settings(max_examples=60, deadline=None)
@given(case=border_pad_cases(), seed=S.seeds, dtype=S.dtypes)
def test_reflect_replicate_circular_pad_match_torch(case, seed, dtype):
    mode, shape, pad = case
    x = S.array(seed, shape)
    compare(lambda t: MF.pad(t, pad, mode=mode), lambda t: RP.pad(t, pad, mode=mode), [x], dtype=dtype,
            what=f"pad {mode} {shape} {pad}")


@settings(max_examples=8, deadline=None)
@given(case=border_pad_cases(), seed=S.seeds)
def test_pad_gradcheck(case, seed):
    mode, shape, pad = case
    x = S.array(seed, shape[-3:])
    assume(x.ndim == len(pad) // 2 + 1 or x.ndim == len(pad) // 2 + 2)
    assert gradcheck(lambda t: MF.pad(t, pad, mode=mode), [x])
    assert gradcheck(lambda t: MF.pad(t, tuple(abs(p) for p in pad), value=0.5), [x])


def test_reflect_pad_with_negative_amounts_is_pad_then_crop():
    # torch: reflection happens about the ORIGINAL edges, then the negative side is cropped
    x = minicnn.tensor(np.arange(6.0).reshape(1, 1, 6))
    assert MF.pad(x, (-2, 3), mode="reflect").tolist() == [[[2, 3, 4, 5, 4, 3, 2]]]
    assert MF.pad(x, (-2, 3), mode="replicate").tolist() == [[[2, 3, 4, 5, 5, 5, 5]]]
    assert MF.pad(x, (-2, 3), mode="circular").tolist() == [[[2, 3, 4, 5, 2, 3, 4]]]  # crop, then wrap


PAD_ERRORS = [
    (lambda t: MF.pad(t, (1, 2, 3)), "pad: Padding length must be divisible by 2"),
    (lambda t: MF.pad(t, (1,) * 10), "pad: Padding length should be less than or equal to two times"),
    (lambda t: MF.pad(t, (6, 0, 0, 0), mode="reflect"),
     r"pad: Padding size should be less than the corresponding input dimension, but got: padding \(6, 0\) at dimension 3"),
    (lambda t: MF.pad(t, (1, 1), mode="reflect"), "pad: Padding size 2 is not supported for 4D input tensor"),
    (lambda t: MF.pad(t, (7, 0, 0, 0), mode="circular"), "pad: Padding value causes wrapping around more than once"),
    (lambda t: MF.pad(t, (1, 1, 1, 1), mode="foo"), "pad: Unrecognised padding mode 'foo'"),
    (lambda t: MF.pad(t, (-4, -3)), r"pad: narrow\(\): length must be non-negative"),
    (lambda t: MF.pad(t, (1, 1, 1, 1), mode="reflect", value=2.0), 'pad: Padding mode "reflect" doesn\'t take in value'),
]


@pytest.mark.parametrize("fn,message", PAD_ERRORS)
def test_pad_errors(fn, message):
    with pytest.raises(ValueError, match=message):
        fn(minicnn.tensor(np.zeros((2, 3, 5, 6))))


# --- interpolate -----------------------------------------------------------------------------

@st.composite
def interpolate_cases(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic", "area"]))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    kw = dict(mode=mode)
    if mode in ("bilinear", "bicubic"):
        kw["align_corners"] = draw(st.sampled_from([None, False, True]))
        kw["antialias"] = draw(st.booleans())
    if draw(st.booleans()):
        size = (draw(st.integers(1, 13)), draw(st.integers(1, 13)))
        kw["size"] = size[0] if size[0] == size[1] and draw(st.booleans()) else size
        out = size
        if kw.get("antialias"):  # torch's antialias is wrong for an output width of 1 (see below)
            assume(size[1] != 1 or size[0] == shape[2])
    else:
        scale = draw(st.sampled_from([0.3, 0.5, 0.7, 1.0, 1.1, 4 / 3, 1.5, 2.0, 2.2, 2.5, 3.0]))
        scale = (scale, draw(st.sampled_from([0.5, 0.75, 1.0, 1.25, 2.0, 3.0]))) if draw(st.booleans()) else scale
        kw["scale_factor"] = scale
        if draw(st.booleans()):
            kw["recompute_scale_factor"] = True
        pair = scale if isinstance(scale, tuple) else (scale, scale)
        out = tuple(int(n * s) for n, s in zip(shape[2:], pair))
        assume(min(out) >= 1)
        # torch's antialias backward ignores its forward's "same size: copy" rule when a
        # scale_factor is given (its gradient is then not the gradient of its output: see report)
        if kw.get("antialias") and not kw.get("recompute_scale_factor"):
            assume(all(o != n or s == 1.0 for o, n, s in zip(out, shape[2:], pair)))
        if kw.get("antialias"):
            assume(out[1] != 1 or out[0] == shape[2])
        # torch's bicubic backward copies the gradient when no size changes, although its forward
        # resamples with 1/scale_factor: again not the gradient of its output
        if mode == "bicubic" and not kw.get("antialias") and not kw.get("recompute_scale_factor"):
            assume(tuple(out) != shape[2:] or pair == (1.0, 1.0))
    return shape, kw


@settings(max_examples=120, deadline=None)
@given(case=interpolate_cases(), seed=S.seeds, dtype=S.dtypes)
def test_interpolate_matches_torch(case, seed, dtype):
    shape, kw = case
    x = S.array(seed, shape)
    compare(lambda t: MF.interpolate(t, **kw), lambda t: RR.interpolate(t, **kw), [x], dtype=dtype,
            what=f"interpolate {shape} {kw}")


@pytest.mark.parametrize("mode,align_corners", [("bilinear", False), ("bilinear", True), ("bicubic", False),
                                                ("bicubic", True)])
@pytest.mark.parametrize("antialias", [False, True])
def test_interpolate_large_up_and_down_scaling_matches_torch(mode, align_corners, antialias):
    x = S.array(3, (2, 3, 37, 23))
    for size in [(101, 70), (9, 5), (40, 11)]:
        for dtype in (np.float64, np.float32):
            kw = dict(size=size, mode=mode, align_corners=align_corners, antialias=antialias)
            compare(lambda t: MF.interpolate(t, **kw), lambda t: RR.interpolate(t, **kw), [x], dtype=dtype,
                    what=f"interpolate {kw}")


@pytest.mark.parametrize("mode,antialias", [("nearest", False), ("nearest-exact", False), ("bilinear", False),
                                            ("bicubic", False), ("bilinear", True), ("bicubic", True)])
def test_interpolate_scale_factor_that_keeps_the_size(mode, antialias):
    # 1.1 * 7 = 7.7 -> 7 rows: torch copies for nearest/bilinear/antialias but resamples with 1/1.1
    # for nearest-exact/bicubic; backward is compared where torch's gradient is its forward's gradient
    x = S.array(5, (2, 2, 7, 6))
    kw = dict(scale_factor=(1.1, 1.5), mode=mode, antialias=antialias)
    torch_grad_ok = not antialias and mode != "bicubic"
    for dtype in (np.float64, np.float32):
        compare(lambda t: MF.interpolate(t, **kw), lambda t: RR.interpolate(t, **kw), [x], dtype=dtype,
                grad=[torch_grad_ok], what=f"interpolate {kw}")
    assert gradcheck(lambda t: MF.interpolate(t, **kw), [x[:1, :1, :, :3]])


def test_antialias_to_width_1_is_right_where_torch_2_13_is_not():
    # torch 2.13 CPU repeats the first row when antialiasing to an output width of 1 while
    # resizing the height ([2, 2, 2] here); rows [1, 2, 3] and [4, 5, 6] average to 2 and 5
    # (triangle weights 2/3, 1, 2/3), and upscaling 2 -> 3 rows gives 2, (2 + 5) / 2, 5.
    x = minicnn.tensor(np.arange(1.0, 7.0).reshape(1, 1, 2, 3), dtype="float64")
    y = MF.interpolate(x, size=(3, 1), mode="bilinear", antialias=True).numpy().ravel()
    np.testing.assert_allclose(y, [2.0, 3.5, 5.0], rtol=1e-12)
    # the same numbers torch gives when the output width is 2 and the columns are then averaged
    t = RR.interpolate(torch.tensor(x.numpy()), size=(3, 2), mode="bilinear", antialias=True).mean(-1)
    np.testing.assert_allclose(y, t.numpy().ravel(), rtol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_indices_match_torch_over_many_sizes(mode):
    # index arithmetic is float32 in torch: compare every output size 1..64 from a few inputs
    for n in (3, 7, 10, 17):
        x = np.arange(float(n)).reshape(1, 1, n, 1)
        for o in range(1, 65):
            m = MF.interpolate(minicnn.tensor(x, dtype="float64"), size=(o, 1), mode=mode).numpy()
            t = RR.interpolate(torch.tensor(x), size=(o, 1), mode=mode).numpy()
            assert np.array_equal(m, t), (mode, n, o)
        for s in (0.4, 0.7, 1.1, 1.7, 2.0, 2.2, 2.5, 3.3, 3.9):
            m = MF.interpolate(minicnn.tensor(x, dtype="float32"), scale_factor=(s, 1.0), mode=mode).numpy()
            t = RR.interpolate(torch.tensor(x, dtype=torch.float32), scale_factor=(s, 1.0), mode=mode).numpy()
            assert np.array_equal(m, t), (mode, n, s)


@settings(max_examples=10, deadline=None)
@given(case=interpolate_cases(), seed=S.seeds)
def test_interpolate_gradcheck(case, seed):
    shape, kw = case
    x = S.array(seed, (1, 1) + shape[2:])
    assert gradcheck(lambda t: MF.interpolate(t, **kw), [x])


INTERPOLATE_ERRORS = [
    (dict(size=3, scale_factor=2.0), "interpolate: only one of size or scale_factor should be defined"),
    (dict(), "interpolate: either size or scale_factor should be defined"),
    (dict(size=(0, 3)), r"interpolate: Input and output sizes should be greater than 0, but got input \(H: 5, W: 6\) output \(H: 0, W: 3\)"),
    (dict(scale_factor=0.1), r"output \(H: 0, W: 0\)"),
    (dict(size=3, mode="foo"), "interpolate: unsupported mode 'foo'"),
    (dict(size=3, mode="linear"), "interpolate: Got 4D input, but linear mode needs 3D input"),
    (dict(size=3, mode="nearest", antialias=True), "interpolate: Anti-alias option is restricted to bilinear and bicubic"),
    (dict(size=3, align_corners=True), "interpolate: align_corners option can only be set with the interpolating modes"),
    (dict(size=(3, 3, 3)), "interpolate: Input and output must have the same number of spatial dimensions"),
    (dict(scale_factor=(2, 2, 2)), "interpolate: Input and scale_factor must have the same number"),
    (dict(size=3, recompute_scale_factor=True), "interpolate: recompute_scale_factor is not meaningful with an explicit size"),
]


@pytest.mark.parametrize("kw,message", INTERPOLATE_ERRORS)
def test_interpolate_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        MF.interpolate(minicnn.tensor(np.zeros((2, 3, 5, 6))), **kw)


def test_interpolate_refuses_non_4d_input():
    with pytest.raises(ValueError, match=r"interpolate: expected a 4-D \(N, C, H, W\) input, got input of shape \(3, 5, 6\)"):
        MF.interpolate(minicnn.tensor(np.zeros((3, 5, 6))), size=4, mode="bilinear")
    with pytest.raises(TypeError, match="interpolate: size must be int values, got float"):
        MF.interpolate(minicnn.tensor(np.zeros((1, 1, 5, 6))), size=3.5)


# --- pixel shuffle ------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(lead=st.lists(st.integers(1, 2), min_size=0, max_size=2), c=st.integers(1, 3), r=st.integers(1, 3),
       h=st.integers(1, 4), w=st.integers(1, 4), seed=S.seeds, dtype=S.dtypes)
def test_pixel_shuffle_and_unshuffle_match_torch(lead, c, r, h, w, seed, dtype):
    x = S.array(seed, tuple(lead) + (c * r * r, h, w))
    compare(lambda t: MF.pixel_shuffle(t, r), lambda t: RR.pixel_shuffle(t, r), [x], dtype=dtype,
            what=f"pixel_shuffle {x.shape} r={r}")
    y = S.array(seed + 1, tuple(lead) + (c, h * r, w * r))
    compare(lambda t: MF.pixel_unshuffle(t, r), lambda t: RR.pixel_unshuffle(t, r), [y], dtype=dtype,
            what=f"pixel_unshuffle {y.shape} r={r}")
    back = MF.pixel_unshuffle(MF.pixel_shuffle(minicnn.tensor(x), r), r)
    assert np.array_equal(back.numpy(), x.astype(back.dtype))


def test_pixel_shuffle_gradcheck_and_errors():
    assert gradcheck(lambda t: MF.pixel_shuffle(t, 2), [S.array(0, (1, 8, 2, 3))])
    assert gradcheck(lambda t: MF.pixel_unshuffle(t, 2), [S.array(0, (1, 2, 4, 2))])
    x = minicnn.tensor(np.zeros((2, 8, 5, 6)))
    with pytest.raises(ValueError, match=r"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, but input.size\(-3\)=8 is not divisible by 9"):
        MF.pixel_shuffle(x, 3)
    with pytest.raises(ValueError, match="pixel_shuffle expects a positive upscale_factor, but got 0"):
        MF.pixel_shuffle(x, 0)
    with pytest.raises(ValueError, match=r"pixel_unshuffle expects height to be divisible by downscale_factor, but input.size\(-2\)=5 is not divisible by 2"):
        MF.pixel_unshuffle(x, 2)
    with pytest.raises(ValueError, match=r"pixel_unshuffle expects input to have at least 3 dimensions, but got input with 2 dimension\(s\)"):
        MF.pixel_unshuffle(minicnn.tensor(np.zeros((4, 4))), 2)


# --- backend neutrality ------------------------------------------------------------------------

from tests.test_backend import fakegpu  # noqa: E402,F401  (the stand-in GPU backend fixture)

STAND_IN_OPS = {
    "max_pool2d": lambda t: MF.max_pool2d(t, 3, 2, 1, ceil_mode=True, return_indices=True),
    "max_pool2d_overlap": lambda t: MF.max_pool2d(t, 3, 1, dilation=2),
    "avg_pool2d": lambda t: MF.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "adaptive_avg_pool2d": lambda t: MF.adaptive_avg_pool2d(t, (3, 4)),
    "adaptive_avg_pool2d_even": lambda t: MF.adaptive_avg_pool2d(t, (4, 3)),
    "adaptive_max_pool2d": lambda t: MF.adaptive_max_pool2d(t, (3, 5), return_indices=True),
    "pad_constant": lambda t: MF.pad(t, (1, -1, 2, 0), value=0.5),
    "pad_reflect": lambda t: MF.pad(t, (2, 1, -1, 3), mode="reflect"),
    "pad_replicate": lambda t: MF.pad(t, (2, 1, 1, 3), mode="replicate"),
    "pad_circular": lambda t: MF.pad(t, (2, 1, 1, 3), mode="circular"),
    "nearest": lambda t: MF.interpolate(t, size=(11, 5), mode="nearest"),
    "nearest_exact": lambda t: MF.interpolate(t, scale_factor=1.7, mode="nearest-exact"),
    "bilinear": lambda t: MF.interpolate(t, size=(11, 5), mode="bilinear", align_corners=True),
    "bicubic": lambda t: MF.interpolate(t, scale_factor=1.5, mode="bicubic"),
    "bilinear_aa": lambda t: MF.interpolate(t, size=(3, 4), mode="bilinear", antialias=True),
    "area": lambda t: MF.interpolate(t, size=(3, 5), mode="area"),
    "pixel_shuffle": lambda t: MF.pixel_unshuffle(MF.pixel_shuffle(t, 2), 2),
}


@pytest.mark.parametrize("name", sorted(STAND_IN_OPS))
def test_ops_stay_on_a_stand_in_backend_and_match_numpy(name, fakegpu):
    fn = STAND_IN_OPS[name]
    x = S.array(7, (2, 4, 8, 6))
    results = {}
    for be in ("numpy", "fakegpu"):
        leaf = minicnn.tensor(x, dtype="float64", requires_grad=True)
        t = leaf.to(be)
        assert t.backend == be
        out = fn(t)
        outs = out if isinstance(out, tuple) else (out,)
        assert all(o.backend == be for o in outs), f"{name}: output left backend {be}"
        (outs[0] * outs[0]).sum().backward()
        results[be] = [minicnn.backend.to_numpy(o.data) for o in outs] + [leaf.grad.numpy()]
    for a, b in zip(results["numpy"], results["fakegpu"]):
        np.testing.assert_array_equal(a, b)
    assert np.abs(results["numpy"][-1]).sum() > 0  # the gradient did flow back
