"""conv2d and conv_transpose2d against torch (forward + backward, float64 and float32), gradcheck,
skipped gradients, adjointness, and argument errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
import minicnn.functional as F
from minicnn.functional import _im2col, _lowered, _route, _shifted
import reference.functional.conv as R
from tests import strategies as S
from tests.harness import assert_close, compare, gradcheck, mc_tensor

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


# --- hypothesis cases ---------------------------------------------------------------------

@st.composite
def _channels(draw):
    """(groups, in channels per group, out channels per group), depthwise included."""
    if draw(st.integers(0, 4)) == 0:  # depthwise, with a channel multiplier of 1 or 2
        return draw(st.integers(2, 4)), 1, draw(st.integers(1, 2))
    return draw(st.sampled_from([1, 1, 2, 3])), draw(st.integers(1, 4)), draw(st.integers(1, 4))


def _pair(draw, lo, hi):
    return draw(st.integers(lo, hi)), draw(st.integers(lo, hi))


@st.composite
def conv_cases(draw):
    groups, cin_g, cout_g = draw(_channels())
    k = _pair(draw, 1, 4)
    stride = _pair(draw, 1, 4)                       # stride > kernel happens
    dilation = _pair(draw, 1, 3)
    kind = draw(st.sampled_from(["int", "pair", "valid", "same"] if stride == (1, 1) else
                                ["int", "pair", "valid"]))
    if kind == "int":
        padding = draw(st.integers(0, max(k) + 1))   # up to more than kernel/2
        pads = (padding,) * 4
    elif kind == "pair":
        padding = _pair(draw, 0, max(k) + 1)
        pads = (padding[0], padding[0], padding[1], padding[1])
    elif kind == "valid":
        padding, pads = "valid", (0, 0, 0, 0)
    else:
        padding = "same"
        th, tw = (d * (kk - 1) for d, kk in zip(dilation, k))
        pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    dk = [d * (kk - 1) + 1 for d, kk in zip(dilation, k)]
    H = max(1, dk[0] - pads[0] - pads[1]) + draw(st.integers(0, 5))
    W = max(1, dk[1] - pads[2] - pads[3]) + draw(st.integers(0, 5))
    unbatched = draw(st.integers(0, 5)) == 0
    N = draw(st.integers(1, 3))
    x_shape = (groups * cin_g, H, W) if unbatched else (N, groups * cin_g, H, W)
    w_shape = (groups * cout_g, cin_g) + k
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x_shape, w_shape, draw(st.booleans()), kw


@st.composite
def conv_transpose_cases(draw):
    groups, cin_g, cout_g = draw(_channels())
    k = _pair(draw, 1, 4)
    stride = _pair(draw, 1, 4)
    dilation = _pair(draw, 1, 3)
    padding = _pair(draw, 0, max(k) + 1)
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    # the smallest input for which the output has at least one row/column
    hw_min = [1 + max(0, math.ceil((2 * p - d * (kk - 1) - op) / s)) for p, d, kk, op, s in
              zip(padding, dilation, k, output_padding, stride)]
    H, W = (m + draw(st.integers(0, 4)) for m in hw_min)
    unbatched = draw(st.integers(0, 5)) == 0
    N = draw(st.integers(1, 3))
    x_shape = (groups * cin_g, H, W) if unbatched else (N, groups * cin_g, H, W)
    w_shape = (groups * cin_g, cout_g) + k
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
              dilation=dilation)
    return x_shape, w_shape, draw(st.booleans()), kw


def _inputs(seed, x_shape, w_shape, bias, out_channels):
    arrays = [S.array(seed, x_shape), S.array(seed + 1, w_shape)]
    if bias:
        arrays.append(S.array(seed + 2, (out_channels,)))
    return arrays


def _run_conv(case, seed, dtype):
    x_shape, w_shape, bias, kw = case
    arrays = _inputs(seed, x_shape, w_shape, bias, w_shape[0])
    compare(lambda *a: F.conv2d(*a, **kw), lambda *a: R.conv2d(*a, **kw), arrays, dtype=dtype,
            what=f"conv2d x{x_shape} w{w_shape} bias={bias} {kw}")


def _run_conv_transpose(case, seed, dtype):
    x_shape, w_shape, bias, kw = case
    arrays = _inputs(seed, x_shape, w_shape, bias, w_shape[1] * kw["groups"])
    compare(lambda *a: F.conv_transpose2d(*a, **kw), lambda *a: R.conv_transpose2d(*a, **kw), arrays,
            dtype=dtype, what=f"conv_transpose2d x{x_shape} w{w_shape} bias={bias} {kw}")


@settings(max_examples=60, deadline=None)
@given(case=conv_cases(), seed=S.seeds, dtype=S.dtypes)
def test_conv2d_matches_torch(case, seed, dtype):
    _run_conv(case, seed, dtype)


@settings(max_examples=60, deadline=None)
@given(case=conv_transpose_cases(), seed=S.seeds, dtype=S.dtypes)
def test_conv_transpose2d_matches_torch(case, seed, dtype):
    _run_conv_transpose(case, seed, dtype)


# Both algorithms (gather = im2col + GEMM, scatter = GEMM + col2im) are picked by channel
# ratio at stride 1; these cases force each side for both ops, forward and backward.
ROUTES = [(1, 6), (6, 1), (4, 4), (2, 9), (9, 2)]


@pytest.mark.parametrize("cin,cout", ROUTES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_both_algorithms(cin, cout, dtype):
    kw = dict(padding=(2, 0), dilation=(1, 2))
    _run_conv(((2, cin, 9, 10), (cout, cin, 3, 2), True, kw), 7, dtype)
    _run_conv(((2, cin, 9, 10), (cout, cin, 4, 3), False, dict(padding="same")), 8, dtype)


@pytest.mark.parametrize("cin,cout", ROUTES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose2d_both_algorithms(cin, cout, dtype):
    kw = dict(padding=(1, 3), dilation=(2, 1), output_padding=(1, 0), stride=1, groups=1)
    _run_conv_transpose(((2, cin, 6, 7), (cin, cout, 3, 4), True, kw), 9, dtype)


@pytest.mark.parametrize("cin,cout,k", [(2, 8, 1), (1, 5, 2), (8, 2, 1), (3, 4, 3)])
def test_weight_grad_both_orientations(cin, cout, k):
    """The weight-gradient GEMM is taken as cols @ g^T or g @ cols^T by shape; both agree with torch."""
    assert (cin * k * k >= cout) == ((cin, cout, k) in ((8, 2, 1), (3, 4, 3)))
    _run_conv(((2, cin, 6, 5), (cout, cin, k, k), True, dict(padding=1)), 11, np.float64)
    _run_conv_transpose(((2, cout, 5, 4), (cout, cin, k, k), False,
                         dict(stride=2, padding=0, output_padding=1, groups=1, dilation=1)), 12, np.float64)


def test_routes_really_differ():
    """The cases above do reach both algorithms (guards the test against a changed rule)."""
    assert _route._gather_is_cheaper(4, 4) and _route._gather_is_cheaper(1, 6)
    assert not _route._gather_is_cheaper(6, 1) and not _route._gather_is_cheaper(9, 2)


def _force_shifted(mp, block_bytes=None):
    """Route every stride-1, one-group conv (forward and input-gradient) through _shifted."""
    mp.setattr(_route, "_shifted_is_cheaper", lambda c_in, c_out, taps: True)
    if block_bytes is not None:
        mp.setattr(_shifted, "SHIFT_BLOCK_BYTES", block_bytes)


def _force_lowered(mp, tiny_blocks):
    """Route every conv that kernel-row lowering can take (consecutive kernel rows; stride 1 for
    the weight gradient) through _lowered, with one output row per block when ``tiny_blocks``."""
    mp.setattr(_route, "_shifted_is_cheaper", lambda c_in, c_out, taps: False)
    mp.setattr(_route, "_lowered_is_cheaper", lambda o, c, w_out, kernel, dilation: dilation[0] == 1)
    mp.setattr(_route, "_lowered_grad_is_cheaper", lambda c, pixels: True)
    if tiny_blocks:
        mp.setattr(_im2col, "BLOCK_BYTES", 1)


@settings(max_examples=40, deadline=None)
@given(case=conv_cases(), seed=S.seeds, dtype=S.dtypes, tiny_blocks=st.booleans())
def test_conv2d_lowered_algorithm_matches_torch(case, seed, dtype, tiny_blocks):
    """Kernel-row lowering on hypothesis shapes: strides, groups, padding, width dilation,
    batch; the overlapping row views must give torch's numbers in every block split."""
    with pytest.MonkeyPatch.context() as mp:
        _force_lowered(mp, tiny_blocks)
        _run_conv(case, seed, dtype)


@settings(max_examples=40, deadline=None)
@given(case=conv_transpose_cases(), seed=S.seeds, dtype=S.dtypes, tiny_blocks=st.booleans())
def test_conv_transpose2d_lowered_algorithm_matches_torch(case, seed, dtype, tiny_blocks):
    """conv_transpose2d's forward (stride 1: a lowered conv of the flipped kernel) and gradients."""
    with pytest.MonkeyPatch.context() as mp:
        _force_lowered(mp, tiny_blocks)
        _run_conv_transpose(case, seed, dtype)


def test_lowered_route_is_taken_on_wide_vgg_layers(monkeypatch):
    """The rules send VGG's 64-channel 3x3 layers at 128+ px wide through _lowered (forward,
    input-gradient), not narrow rows, few or many output channels or 1x1 kernels; and weight
    gradients with 16+ input channels unless the images are small enough for im2col to fold
    the batch."""
    assert _route._lowered_is_cheaper(64, 64, 256, (3, 3), (1, 1))
    assert _route._lowered_is_cheaper(64, 1, 512, (9, 9), (1, 1)) and _route._lowered_is_cheaper(32, 1, 512, (9, 9), (1, 1))
    assert not _route._lowered_is_cheaper(512, 512, 32, (3, 3), (1, 1))
    assert not _route._lowered_is_cheaper(1, 32, 512, (5, 5), (1, 1))
    assert not _route._lowered_is_cheaper(64, 3, 256, (3, 3), (1, 1))
    assert not _route._lowered_is_cheaper(128, 128, 128, (3, 3), (1, 1))
    assert not _route._lowered_is_cheaper(64, 64, 256, (1, 1), (1, 1))
    assert not _route._lowered_is_cheaper(64, 64, 256, (3, 3), (2, 1))
    assert _route._lowered_grad_is_cheaper(64, 1600) and _route._lowered_grad_is_cheaper(256, 64 * 64)
    assert not _route._lowered_grad_is_cheaper(3, 256 * 256) and not _route._lowered_grad_is_cheaper(512, 32 * 32)
    calls = []
    for name in ("conv", "weight_grad"):
        real = getattr(_lowered, name)
        monkeypatch.setattr(_lowered, name, lambda *a, _real=real, _name=name: calls.append(_name) or _real(*a))
    x, w, b = S.array(1, (2, 16, 9, 130)), S.array(2, (32, 16, 3, 3)) * 0.1, S.array(3, (32,))
    compare(lambda x, w, b: F.conv2d(x, w, b, padding=1), lambda x, w, b: R.conv2d(x, w, b, padding=1),
            [x, w, b], dtype=np.float32, what="conv2d 16->32 3x3 @9x130")
    assert calls.count("conv") >= 1 and calls.count("weight_grad") >= 1


@settings(max_examples=40, deadline=None)
@given(case=conv_cases(), seed=S.seeds, dtype=S.dtypes, tiny_blocks=st.booleans())
def test_conv2d_shifted_algorithm_matches_torch(case, seed, dtype, tiny_blocks):
    """The im2col-free route on hypothesis shapes (padding > k/2, dilation, batch), with blocks of
    one output row or less when ``tiny_blocks``; other strides/groups keep their route."""
    with pytest.MonkeyPatch.context() as mp:
        _force_shifted(mp, 1 if tiny_blocks else None)
        _run_conv(case, seed, dtype)


@settings(max_examples=40, deadline=None)
@given(case=conv_transpose_cases(), seed=S.seeds, dtype=S.dtypes, tiny_blocks=st.booleans())
def test_conv_transpose2d_shifted_algorithm_matches_torch(case, seed, dtype, tiny_blocks):
    """conv_transpose2d's forward and gradients through _shifted (its padding can crop: negative pads)."""
    with pytest.MonkeyPatch.context() as mp:
        _force_shifted(mp, 1 if tiny_blocks else None)
        _run_conv_transpose(case, seed, dtype)


def test_shifted_route_is_taken_on_srcnn_and_vgg_layers(monkeypatch):
    """The rule sends SRCNN's 64->32 5x5 layer to _shifted (not 3x3 VGG layers, 256+ channels or
    thin inputs), and a realistic case gives torch's numbers through it."""
    assert _route._shifted_is_cheaper(64, 32, 25) and _route._shifted_is_cheaper(128, 64, 25)
    assert not _route._shifted_is_cheaper(64, 64, 9) and not _route._shifted_is_cheaper(256, 256, 25)
    assert not _route._shifted_is_cheaper(32, 64, 25) and not _route._shifted_is_cheaper(1, 64, 81)
    calls = []
    real = _shifted.conv
    monkeypatch.setattr(_shifted, "conv", lambda *a: calls.append("_shifted") or real(*a))
    x, w, b = S.array(1, (2, 64, 13, 11)), S.array(2, (32, 64, 5, 5)) * 0.05, S.array(3, (32,))
    compare(lambda x, w, b: F.conv2d(x, w, b, padding=2), lambda x, w, b: R.conv2d(x, w, b, padding=2),
            [x, w, b], dtype=np.float32, what="conv2d 64->32 5x5 (SRCNN)")
    assert calls.count("_shifted") >= 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vgg_like_sizes_match_torch(dtype):
    """A realistic size: the GEMM paths with long rows, batch 2, then a strided transpose back."""
    x = S.array(1, (2, 16, 23, 21))
    w1, b1 = S.array(2, (32, 16, 3, 3)) * 0.1, S.array(3, (32,))
    w2 = S.array(4, (32, 8, 4, 4)) * 0.1
    compare(lambda x, w, b: F.conv2d(x, w, b, padding=1), lambda x, w, b: R.conv2d(x, w, b, padding=1),
            [x, w1, b1], dtype=dtype, what="conv2d 16->32")
    compare(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1),
            lambda x, w: R.conv_transpose2d(x, w, stride=2, padding=1), [S.array(5, (2, 32, 11, 10)), w2],
            dtype=dtype, what="conv_transpose2d 32->8 stride 2")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_blocks_give_the_same_numbers(dtype, monkeypatch):
    """Column buffers are built in blocks of rows; force one row per block on every path."""
    monkeypatch.setattr(_im2col, "BLOCK_BYTES", 1)
    assert _im2col.row_blocks(5, 100) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    for cin, cout in ((2, 6), (6, 2)):  # both stride-1 algorithms, forward and backward
        _run_conv(((2, cin, 7, 6), (cout, cin, 3, 2), True, dict(padding=(1, 2), dilation=(2, 1))), 3, dtype)
        _run_conv_transpose(((2, cin, 5, 4), (cin, cout, 2, 3), True,
                             dict(stride=1, padding=(1, 0), output_padding=(1, 0), groups=1,
                                  dilation=(2, 1))), 4, dtype)
    _run_conv(((3, 4, 9, 8), (6, 2, 3, 3), True, dict(stride=(2, 3), padding=1, groups=2)), 5, dtype)
    _run_conv_transpose(((3, 4, 4, 3), (4, 3, 3, 2), True,
                         dict(stride=(3, 2), padding=(1, 0), output_padding=(2, 1), groups=2,
                              dilation=1)), 6, dtype)


@settings(max_examples=8, deadline=None)
@given(seed=S.seeds, data=st.data())
def test_conv2d_gradcheck(seed, data):
    groups = data.draw(st.sampled_from([1, 2]))
    k, s, d = _pair(data.draw, 1, 3), _pair(data.draw, 1, 2), _pair(data.draw, 1, 2)
    p = _pair(data.draw, 0, 2)
    H = max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]) + data.draw(st.integers(0, 2))
    W = max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1]) + data.draw(st.integers(0, 2))
    arrays = [S.array(seed, (1, 2, H, W)), S.array(seed + 1, (2, 2 // groups) + k), S.array(seed + 2, (2,))]
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, s, p, d, groups), arrays)


@settings(max_examples=8, deadline=None)
@given(seed=S.seeds, data=st.data())
def test_conv_transpose2d_gradcheck(seed, data):
    groups = data.draw(st.sampled_from([1, 2]))
    k, s, d = _pair(data.draw, 1, 3), _pair(data.draw, 1, 2), _pair(data.draw, 1, 2)
    p = tuple(data.draw(st.integers(0, (dd * (kk - 1)) // 2)) for dd, kk in zip(d, k))
    op = tuple(data.draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d))
    arrays = [S.array(seed, (1, 2, 3, 2)), S.array(seed + 1, (2, 2 // groups) + k), S.array(seed + 2, (2,))]
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op, groups, d), arrays)


def test_adjoint_identity():
    """<conv2d(x, W), y> == <x, conv_transpose2d(y, W)> for the same stride/padding/dilation/groups."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 11, 9)), rng.standard_normal((6, 2, 3, 2))
    kw = dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=2)
    y = F.conv2d(minicnn.tensor(x), minicnn.tensor(w), **kw).numpy()
    v = rng.standard_normal(y.shape)
    # output_padding recovers the rows of x the strided conv2d never reached
    op = tuple(n - ((m - 1) * s - 2 * p + d * (k - 1) + 1) for n, m, s, p, d, k in
               zip(x.shape[2:], y.shape[2:], kw["stride"], kw["padding"], kw["dilation"], w.shape[2:]))
    xt = F.conv_transpose2d(minicnn.tensor(v), minicnn.tensor(w), output_padding=op, **kw).numpy()
    assert xt.shape == x.shape
    lhs, rhs = float((y * v).sum()), float((x * xt).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


# --- gradients nobody asked for are not computed ----------------------------------------------

def _forbid(monkeypatch, name, module=_route):
    def fail(*a, **k):
        raise AssertionError(f"{name} was computed although no input needed it")
    monkeypatch.setattr(module, name, fail)


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_frozen_weight_gets_no_gradient(op, monkeypatch):
    """Style transfer: the image requires grad, the weights do not -> no weight-gradient GEMM."""
    fn = getattr(F, op)
    x = mc_tensor(S.array(0, (1, 3, 6, 6)), np.float64, requires_grad=True)
    w = mc_tensor(S.array(1, (3, 3, 3, 3)), np.float64)
    b = mc_tensor(S.array(2, (3,)), np.float64)
    y = fn(x, w, b, padding=1)
    assert y.grad_fn.x is None, "the input was kept although only the weight-gradient reads it"
    _forbid(monkeypatch, "weight_grad")
    y.sum().backward()
    assert w.grad is None and b.grad is None
    assert x.grad is not None and float(abs(x.grad.numpy()).sum()) > 0


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_input_without_grad_gets_none(op, monkeypatch):
    """Training the first layer: the image does not require grad -> no input-gradient pass."""
    fn = getattr(F, op)
    x = mc_tensor(S.array(0, (2, 3, 6, 6)), np.float32)
    w = mc_tensor(S.array(1, (3, 3, 3, 3)), np.float32, requires_grad=True)
    y = fn(x, w, padding=1)
    assert y.grad_fn.w is None
    name = "conv_transpose" if op == "conv2d" else "conv"
    _forbid(monkeypatch, name)
    y.sum().backward()
    assert x.grad is None and w.grad is not None and w.grad.dtype == np.float32


def test_no_grad_mode_builds_no_graph():
    x = mc_tensor(S.array(0, (1, 2, 5, 5)), np.float32, requires_grad=True)
    w = mc_tensor(S.array(1, (4, 2, 3, 3)), np.float32, requires_grad=True)
    with minicnn.no_grad():
        y = F.conv2d(x, w)
    assert y.grad_fn is None and not y.requires_grad and y.dtype == np.float32


def test_compare_with_only_weight_grad():
    kw = dict(stride=2, padding=1)
    compare(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: R.conv2d(x, w, b, **kw),
            [S.array(0, (2, 3, 7, 8)), S.array(1, (5, 3, 3, 3)), S.array(2, (5,))],
            grad=[False, True, False], what="conv2d weight only")


def test_float32_stays_float32():
    x = minicnn.tensor(S.array(0, (1, 3, 8, 8)), dtype="float32")
    w = minicnn.tensor(S.array(1, (4, 3, 3, 3)), dtype="float32")
    assert F.conv2d(x, w).dtype == np.float32
    assert F.conv_transpose2d(x, minicnn.tensor(S.array(1, (3, 4, 3, 3)), dtype="float32")).dtype == np.float32


# --- errors -------------------------------------------------------------------------------------

def _t(*shape, dtype="float32"):
    return minicnn.tensor(np.ones(shape), dtype=dtype)


X, Wt = _t(1, 3, 5, 5), _t(4, 3, 3, 3)
CONV_ERRORS = [
    (lambda: F.conv2d(_t(3, 5), Wt), ValueError, r"conv2d: expected 3D \(unbatched\) or 4D .*size: \[3, 5\]"),
    (lambda: F.conv2d(_t(1, 1, 3, 5, 5), Wt), ValueError, r"conv2d: expected 3D .*\[1, 1, 3, 5, 5\]"),
    (lambda: F.conv2d(X, _t(4, 3, 3)), ValueError, r"conv2d: expected a 4D weight .*\[4, 3, 3\]"),
    (lambda: F.conv2d(_t(1, 2, 5, 5), Wt), ValueError,
     r"conv2d: given groups=1, weight of size \[4, 3, 3, 3\], expected input\[1, 2, 5, 5\] to have 3 "
     r"channels, but got 2 channels instead"),
    (lambda: F.conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2), ValueError,
     r"conv2d: given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of "
     r"size \[3, 2, 3, 3\]"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), _t(4, 1, 3, 3), groups=2), ValueError,
     r"conv2d: given groups=2, .*to have 2 channels, but got 3"),
    (lambda: F.conv2d(X, Wt, groups=0), ValueError, r"conv2d: non-positive groups .*groups=0"),
    (lambda: F.conv2d(X, Wt, stride=0), ValueError, r"conv2d: non-positive stride .*stride=\(0, 0\)"),
    (lambda: F.conv2d(X, Wt, stride=(1, -2)), ValueError, r"conv2d: non-positive stride .*\(1, -2\)"),
    (lambda: F.conv2d(X, Wt, padding=-1), ValueError, r"conv2d: negative padding .*padding=\(-1, -1\)"),
    (lambda: F.conv2d(X, Wt, dilation=0), ValueError, r"conv2d: dilation should be greater than zero, "
                                                      r"but got dilation=\(0, 0\)"),
    (lambda: F.conv2d(_t(1, 3, 2, 2), Wt), ValueError,
     r"conv2d: calculated padded input size per channel: \(2 x 2\)\. Kernel size: \(3 x 3\)\. "
     r"Kernel size can't be greater than actual input size"),
    (lambda: F.conv2d(_t(1, 3, 5, 5), Wt, dilation=3), ValueError,
     r"padded input size per channel: \(5 x 5\)\. Kernel size: \(7 x 7\)"),
    (lambda: F.conv2d(X, Wt, padding="same", stride=2), ValueError,
     r"conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(X, Wt, padding="foo"), ValueError, r"conv2d: invalid padding string 'foo'"),
    (lambda: F.conv2d(X, Wt, padding=(1, 1, 1)), ValueError,
     r"conv2d: expected padding to be a single integer value or a list of 2 values"),
    (lambda: F.conv2d(X, Wt, stride=1.5), TypeError, r"conv2d: stride must be an int or a pair"),
    (lambda: F.conv2d(X, Wt, _t(3)), ValueError, r"conv2d: given weight of size \[4, 3, 3, 3\], expected "
                                                r"bias to be 1-dimensional with 4 elements, but got bias "
                                                r"of size \[3\]"),
    (lambda: F.conv2d(_t(1, 3, 5, 5, dtype="float64"), Wt), TypeError,
     r"conv2d: input dtype float64 and weight dtype float32 differ"),
    (lambda: F.conv2d(np.ones((1, 3, 5, 5)), Wt), TypeError, r"conv2d: input must be a Tensor, got ndarray"),
    (lambda: F.conv_transpose2d(X, _t(3, 2, 3, 3), stride=2, output_padding=2), ValueError,
     r"conv_transpose2d: output padding must be smaller than either stride or dilation, but got "
     r"output_padding_height: 2 output_padding_width: 2 stride_height: 2 stride_width: 2 "
     r"dilation_height: 1 dilation_width: 1"),
    (lambda: F.conv_transpose2d(X, _t(4, 2, 3, 3)), ValueError,
     r"conv_transpose2d: given transposed=1, weight of size \[4, 2, 3, 3\], expected input\[1, 3, 5, 5\] "
     r"to have 4 channels, but got 3 channels instead"),
    (lambda: F.conv_transpose2d(_t(1, 3, 1, 1), _t(3, 2, 3, 3), padding=3), ValueError,
     r"conv_transpose2d: given input size per channel: \(1 x 1\)\. Calculated output size per channel: "
     r"\(-3 x -3\)\. Output size is too small"),
    (lambda: F.conv_transpose2d(X, _t(3, 2, 3, 3), padding="same"), TypeError,
     r"conv_transpose2d: padding must be an int or a pair of ints, not the string 'same'"),
    (lambda: F.conv_transpose2d(X, _t(3, 2, 3, 3), groups=2), ValueError,
     r"conv_transpose2d: given groups=2, expected weight to be divisible by 2 at dimension 0"),
    (lambda: F.conv_transpose2d(X, _t(3, 2, 3, 3), stride=-1), ValueError,
     r"conv_transpose2d: non-positive stride"),
    (lambda: F.conv_transpose2d(X, _t(3, 2, 3, 3), output_padding=-1, stride=2), ValueError,
     r"conv_transpose2d: negative output_padding"),
    (lambda: F.conv_transpose2d(X, _t(3, 2, 3, 3), _t(3)), ValueError,
     r"conv_transpose2d: given weight of size \[3, 2, 3, 3\], expected bias to be 1-dimensional with 2"),
]


@pytest.mark.parametrize("call,exc,pattern", CONV_ERRORS, ids=range(len(CONV_ERRORS)))
def test_argument_errors(call, exc, pattern, monkeypatch):
    """Bad arguments fail with a torch-like message, before any array work starts."""
    for name in ("conv", "conv_transpose", "weight_grad"):
        _forbid(monkeypatch, name)
    _forbid(monkeypatch, "im2col", _im2col)
    with pytest.raises(exc, match=pattern):
        call()


def test_errors_agree_with_torch_on_validity():
    """Every case above is invalid for torch as well (so the checks are not stricter than torch)."""
    th = {"conv2d": torch.nn.functional.conv2d, "conv_transpose2d": torch.nn.functional.conv_transpose2d}
    cases = [("conv2d", (1, 2, 5, 5), (4, 3, 3, 3), {}),
             ("conv2d", (1, 3, 2, 2), (4, 3, 3, 3), {}),
             ("conv2d", (1, 3, 5, 5), (4, 3, 3, 3), dict(dilation=3)),
             ("conv2d", (1, 3, 5, 5), (4, 3, 3, 3), dict(padding="same", stride=2)),
             ("conv_transpose2d", (1, 3, 5, 5), (3, 2, 3, 3), dict(stride=2, output_padding=2)),
             ("conv_transpose2d", (1, 3, 1, 1), (3, 2, 3, 3), dict(padding=3))]
    for op, xs, ws, kw in cases:
        with pytest.raises(RuntimeError):
            th[op](torch.ones(xs), torch.ones(ws), **kw)
        with pytest.raises(ValueError):
            getattr(F, op)(_t(*xs), _t(*ws), **kw)


def test_padding_larger_than_kernel_and_unbatched_shapes():
    x = _t(3, 5, 5)
    assert F.conv2d(x, Wt, padding=7).shape == (4, 17, 17)
    assert F.conv2d(_t(1, 3, 5, 5), Wt, stride=7).shape == (1, 4, 1, 1)
    assert F.conv_transpose2d(x, _t(3, 2, 3, 3), stride=5, output_padding=4).shape == (2, 27, 27)
    assert F.conv2d(_t(1, 3, 5, 5), _t(4, 3, 4, 2), padding="same", dilation=(1, 3)).shape == (1, 4, 5, 5)
    got = F.conv2d(x, Wt, padding=7).numpy()
    assert_close(got, R.conv2d(torch.ones(3, 5, 5), torch.ones(4, 3, 3, 3), padding=7), np.float32)


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_empty_batch_like_torch(op):
    kw = dict(stride=2, padding=1)
    w_shape = (4, 3, 3, 3) if op == "conv2d" else (3, 4, 3, 3)
    out, ref = compare(lambda x, w: getattr(F, op)(x, w, **kw), lambda x, w: getattr(R, op)(x, w, **kw),
                       [np.zeros((0, 3, 5, 5)), S.array(0, w_shape)], what=f"{op} empty batch")
    assert out[0].shape == tuple(ref[0].shape) and out[0].shape[0] == 0
