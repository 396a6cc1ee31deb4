"""Pooling ops against torch (forward, backward, indices) and against finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

import minicnn
import minicnn.functional as MF
import reference.functional.pool as R
from minicnn.functional.pool import pool_output_size
from tests import strategies as S
from tests.harness import compare, gradcheck


def _window_touches_input(n, k, s, p, d, ceil_mode):
    """False when some window lies entirely in the padding (possible only with dilation).

    torch reads and writes outside the input plane in that case (its max_pool2d index
    points past the plane and the backward corrupts memory), so those cases are not compared.
    """
    out = pool_output_size(n, k, p, s, d, ceil_mode)
    return all(any(0 <= o * s - p + i * d < n for i in range(k)) for o in range(out))


@st.composite
def pool_cases(draw, dilation=True):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 5), st.integers(1, 5))))
    pad = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    dil = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilation else (1, 1)
    ceil = draw(st.booleans())
    s = stride or k
    for ax in range(2):
        size = (h, w)[ax]
        out = pool_output_size(size, k[ax], pad[ax], s[ax], dil[ax], ceil)
        assume(out >= 1)
        assume(_window_touches_input(size, k[ax], s[ax], pad[ax], dil[ax], ceil))
    # sometimes pass ints instead of pairs
    if k[0] == k[1] and draw(st.booleans()):
        k = k[0]
    return (n, c, h, w), dict(kernel_size=k, stride=stride, padding=pad, dilation=dil, ceil_mode=ceil)


@settings(max_examples=60, deadline=None)
@given(case=pool_cases(), seed=S.seeds, dtype=S.dtypes, ties=st.booleans())
def test_max_pool2d_matches_torch_values_gradients_indices(case, seed, dtype, ties):
    shape, kw = case
    x = S.array(seed, shape)
    if ties:  # few distinct values: torch takes the first maximum of each window
        x = np.round(x)
    fn_mc = lambda t: MF.max_pool2d(t, **kw, return_indices=True)  # noqa: E731
    fn_th = lambda t: R.max_pool2d(t, **kw, return_indices=True)  # noqa: E731
    compare(fn_mc, fn_th, [x], dtype=dtype, what=f"max_pool2d {shape} {kw}")
    _, m_idx = fn_mc(minicnn.tensor(x))
    _, t_idx = fn_th(torch.tensor(x))
    assert m_idx.dtype == np.int64
    assert np.array_equal(m_idx.numpy(), t_idx.numpy()), f"indices differ for {shape} {kw}"
    # without return_indices and without grad: the values-only fast path
    with minicnn.no_grad():
        fast = MF.max_pool2d(minicnn.tensor(x), **kw)
    assert np.array_equal(fast.numpy(), R.max_pool2d(torch.tensor(x), **kw).numpy())


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)), ceil=st.booleans(), seed=S.seeds, dtype=S.dtypes,
       ties=st.booleans())
def test_max_pool2d_tiling_windows_route_gradients_like_torch(n, c, h, w, k, ceil, seed, dtype, ties):
    """stride = kernel, no padding (VGG's pools), gradients only (no indices asked): ties, as
    after a ReLU, must go where torch sends them, to the first maximum of each window."""
    assume(h >= k[0] and w >= k[1])
    x = S.array(seed, (n, c, h, w))
    if ties:
        x = np.round(x) * (x > 0)   # many equal values, as after a ReLU
    kw = dict(kernel_size=k, stride=k, ceil_mode=ceil)
    compare(lambda t: MF.max_pool2d(t, **kw), lambda t: R.max_pool2d(t, **kw), [x], dtype=dtype,
            what=f"max_pool2d {x.shape} {kw}")


def test_max_pool2d_tiling_windows_with_nan_and_infinite_gradients_follow_torch():
    x = np.round(S.array(3, (1, 2, 6, 6))) * 0
    x[0, 1, 1, 1] = x[0, 1, 3, 4] = np.nan
    x[0, 0, :2, :2] = -np.inf
    for g_fill in (1.0, np.inf):
        mt, tt = minicnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        mo, to = MF.max_pool2d(mt, 2), R.max_pool2d(tt, 2)
        np.testing.assert_array_equal(mo.detach().numpy(), to.detach().numpy())
        g = np.full(mo.shape, g_fill)
        g[0, 0, 1, 1] = 2.0
        mo.backward(minicnn.tensor(g))
        to.backward(torch.tensor(g))
        np.testing.assert_array_equal(mt.grad.numpy(), tt.grad.numpy())


@settings(max_examples=40, deadline=None)
@given(case=pool_cases(dilation=False), seed=S.seeds, dtype=S.dtypes, cip=st.booleans(),
       div=st.one_of(st.none(), st.integers(-3, 7).filter(lambda v: v != 0)))
def test_avg_pool2d_matches_torch(case, seed, dtype, cip, div):
    shape, kw = case
    kw.pop("dilation")
    x = S.array(seed, shape)
    compare(lambda t: MF.avg_pool2d(t, **kw, count_include_pad=cip, divisor_override=div),
            lambda t: R.avg_pool2d(t, **kw, count_include_pad=cip, divisor_override=div),
            [x], dtype=dtype, what=f"avg_pool2d {shape} {kw} cip={cip} div={div}")


output_sizes = st.one_of(st.integers(1, 7), st.tuples(st.integers(1, 7), st.integers(1, 7)),
                         st.tuples(st.none(), st.integers(1, 7)), st.tuples(st.integers(1, 7), st.none()))


@settings(max_examples=40, deadline=None)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 12), st.integers(1, 12)),
       out=output_sizes, seed=S.seeds, dtype=S.dtypes, ties=st.booleans())
def test_adaptive_pools_match_torch(shape, out, seed, dtype, ties):
    x = S.array(seed, shape)
    compare(lambda t: MF.adaptive_avg_pool2d(t, out), lambda t: R.adaptive_avg_pool2d(t, out), [x],
            dtype=dtype, what=f"adaptive_avg_pool2d {shape} -> {out}")
    if ties:
        x = np.round(x)
    compare(lambda t: MF.adaptive_max_pool2d(t, out, True), lambda t: R.adaptive_max_pool2d(t, out, True),
            [x], dtype=dtype, what=f"adaptive_max_pool2d {shape} -> {out}")
    m_idx = MF.adaptive_max_pool2d(minicnn.tensor(x), out, True)[1].numpy()
    t_idx = R.adaptive_max_pool2d(torch.tensor(x), out, True)[1].numpy()
    assert np.array_equal(m_idx, t_idx)


@pytest.mark.parametrize("op", ["max", "avg", "adaptive_avg", "adaptive_max"])
def test_pools_accept_unbatched_3d_input(op):
    x = S.array(1, (3, 7, 6))
    mc = {"max": lambda t: MF.max_pool2d(t, 3, 2, 1, ceil_mode=True),
          "avg": lambda t: MF.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
          "adaptive_avg": lambda t: MF.adaptive_avg_pool2d(t, (4, 5)),
          "adaptive_max": lambda t: MF.adaptive_max_pool2d(t, (4, 5))}[op]
    th = {"max": lambda t: R.max_pool2d(t, 3, 2, 1, ceil_mode=True),
          "avg": lambda t: R.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
          "adaptive_avg": lambda t: R.adaptive_avg_pool2d(t, (4, 5)),
          "adaptive_max": lambda t: R.adaptive_max_pool2d(t, (4, 5))}[op]
    for dtype in (np.float64, np.float32):
        compare(mc, th, [x], dtype=dtype, what=f"{op} on (C, H, W)")


def test_max_pool2d_inf_and_nan_follow_torch():
    x = S.array(2, (1, 2, 5, 5))
    x[0, 0, :3, :3] = -np.inf  # a window of -inf: value -inf, index = first position in the input
    x[0, 1, 1, 1] = x[0, 1, 3, 4] = np.nan  # NaN wins (and propagates)
    for kw in (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, stride=1, ceil_mode=True)):
        mo, mi = MF.max_pool2d(minicnn.tensor(x), **kw, return_indices=True)
        to, ti = R.max_pool2d(torch.tensor(x), **kw, return_indices=True)
        np.testing.assert_array_equal(mo.numpy(), to.numpy())
        np.testing.assert_array_equal(mi.numpy(), ti.numpy())


@settings(max_examples=6, deadline=None)
@given(case=pool_cases(), seed=S.seeds)
def test_pool_gradcheck(case, seed):
    shape, kw = case
    shape = (1, 2) + shape[2:]
    x = S.array(seed, shape)
    assert gradcheck(lambda t: MF.max_pool2d(t, **kw), [x])
    kw.pop("dilation")
    assert gradcheck(lambda t: MF.avg_pool2d(t, **kw, count_include_pad=False), [x])
    assert gradcheck(lambda t: MF.adaptive_avg_pool2d(t, (3, 2)), [x])
    assert gradcheck(lambda t: MF.adaptive_max_pool2d(t, (2, 3)), [x])


def test_max_pool2d_backward_of_overlapping_windows_sums_routes():
    # stride 1, kernel 3: the global maximum is picked by up to 9 windows and gets 9 gradients
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    t = minicnn.tensor(x, requires_grad=True, dtype="float64")
    MF.max_pool2d(t, 3, stride=1).sum().backward()
    g = t.grad.numpy()
    assert g[0, 0, 4, 4] == 1 and g[0, 0, 2, 2] == 1 and g.sum() == 9
    t = minicnn.tensor(x, requires_grad=True, dtype="float64")
    MF.max_pool2d(t, 3, stride=1, padding=1).sum().backward()
    assert t.grad.numpy()[0, 0, 4, 4] == 4 and t.grad.numpy().sum() == 25


def test_no_gradient_computed_when_not_required():
    x = minicnn.tensor(S.array(0, (1, 1, 4, 4)))
    y = MF.max_pool2d(x, 2)
    assert not y.requires_grad and y.grad_fn is None


X = np.zeros((2, 3, 5, 6))

ERRORS = [
    (lambda t: MF.max_pool2d(t, 3, padding=2), "max_pool2d.*pad should be at most half.*pad=2, kernel_size=3"),
    (lambda t: MF.max_pool2d(t, 3, padding=2, dilation=2), "max_pool2d.*pad should be smaller than or equal to half of kernel size"),
    (lambda t: MF.max_pool2d(t, 3, stride=-1), r"max_pool2d: stride should be greater than zero, but got dH: -1 dW: -1"),
    (lambda t: MF.max_pool2d(t, 3, stride=0), "max_pool2d: stride should be greater than zero"),
    (lambda t: MF.max_pool2d(t, 0), "max_pool2d: kernel size should be greater than zero, but got kH: 0 kW: 0"),
    (lambda t: MF.max_pool2d(t, 7), r"max_pool2d: Given input size: \(3x5x6\). Calculated output size: \(3x0x0\). Output size is too small"),
    (lambda t: MF.max_pool2d(t, 3, dilation=0), "max_pool2d: dilation should be greater than zero"),
    (lambda t: MF.max_pool2d(t, 3, padding=-1), "max_pool2d: pad must be non-negative"),
    (lambda t: MF.max_pool2d(t, (3, 3, 3)), r"max_pool2d: kernel_size must either be a single int, or a tuple of two ints, got \(3, 3, 3\)"),
    (lambda t: MF.max_pool2d(t[0, 0], 2), r"max_pool2d: expected a non-empty 3D .* but got input of shape \(5, 6\)"),
    (lambda t: MF.avg_pool2d(t, 3, padding=2), "avg_pool2d.*pad should be at most half of effective kernel size"),
    (lambda t: MF.avg_pool2d(t, (2, 7)), "avg_pool2d: Given input size: .*Output size is too small"),
    (lambda t: MF.avg_pool2d(t, 3, divisor_override=0), "avg_pool2d: divisor must be not zero"),
    (lambda t: MF.avg_pool2d(t, 3, stride=(1, -2)), "avg_pool2d: stride should be greater than zero, but got dH: 1 dW: -2"),
    (lambda t: MF.adaptive_avg_pool2d(t, (1, 2, 3)), r"adaptive_avg_pool2d: output_size must be 2, got \(1, 2, 3\)"),
    (lambda t: MF.adaptive_avg_pool2d(t, -1), "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0"),
    (lambda t: MF.adaptive_max_pool2d(t.reshape(2, 3, 5, 6, 1), 2), "adaptive_max_pool2d: expected a non-empty 3D"),
]


@pytest.mark.parametrize("fn,message", ERRORS)
def test_invalid_arguments_raise_value_error_naming_op_and_values(fn, message):
    with pytest.raises(ValueError, match=message):
        fn(minicnn.tensor(X))


def test_non_integer_arguments_raise_type_error():
    with pytest.raises(TypeError, match="max_pool2d: kernel_size must be int values, got float 2.5"):
        MF.max_pool2d(minicnn.tensor(X), 2.5)
    with pytest.raises(TypeError, match="avg_pool2d: expected input to be a Tensor, got ndarray"):
        MF.avg_pool2d(X, 2)
