"""linear against torch (any leading dims, with/without bias), and dropout's statistics and gradient."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
import minicnn.functional as F
import reference.functional.linear as R
from tests import strategies as S
from tests.harness import compare, gradcheck

SETTINGS = settings(max_examples=20, deadline=None)


@SETTINGS
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=3), in_f=st.integers(1, 6),
       out_f=st.integers(1, 6), with_bias=st.booleans(), seed=S.seeds, dtype=S.dtypes)
def test_linear_matches_torch(lead, in_f, out_f, with_bias, seed, dtype):
    x = S.array(seed, (*lead, in_f))
    w = S.array(seed + 1, (out_f, in_f))
    if with_bias:
        out, _ = compare(F.linear, R.linear, [x, w, S.array(seed + 2, (out_f,))], dtype=dtype)
    else:
        out, _ = compare(F.linear, R.linear, [x, w], dtype=dtype)
    assert out[0].shape == (*lead, out_f)


def test_linear_gradcheck_and_skipped_weight_gradient():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    assert gradcheck(F.linear, [x, w, b])
    assert gradcheck(F.linear, [x[0, 0], w, b])  # 1-D input
    xt = minicnn.tensor(x, requires_grad=True)
    wt, bt = minicnn.tensor(w), minicnn.tensor(b, requires_grad=True)
    F.linear(xt, wt, bt).sum().backward()
    assert wt.grad is None and np.allclose(bt.grad.numpy(), 6) and xt.grad.shape == x.shape


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_scaling_mask_statistics_and_gradient(p, dtype):
    minicnn.manual_seed(123)
    n = 200_000
    x = minicnn.tensor(np.full((400, n // 400), 2.0), dtype=dtype, requires_grad=True)
    y = F.dropout(x, p)
    assert y.dtype == np.dtype(dtype)
    v = y.detach().numpy()
    kept = v != 0
    # kept values are exactly x / (1 - p); zero fraction and mean within 5 sigma of p and 2
    np.testing.assert_allclose(v[kept], 2.0 / (1 - p), rtol=1e-6)
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs((~kept).mean() - p) < 5 * sigma
    assert abs(v.mean() - 2.0) < 5 * 2.0 / (1 - p) * sigma
    g = np.random.default_rng(1).standard_normal(v.shape)
    y.backward(minicnn.tensor(g, dtype=dtype))
    np.testing.assert_allclose(x.grad.numpy(), g * kept / (1 - p), rtol=1e-6)
    # the same seed gives the same mask; torch's twin has the same statistics
    minicnn.manual_seed(123)
    assert np.array_equal(F.dropout(x.detach(), p).numpy() != 0, kept)
    t = R.dropout(torch.full((400, n // 400), 2.0), p)
    assert abs((t == 0).float().mean().item() - p) < 5 * sigma


def test_dropout_edge_cases():
    x = minicnn.randn(3, 4, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    assert np.array_equal(y.detach().numpy(), np.zeros((3, 4)))
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_linear_and_dropout_errors_are_torch_like():
    x = minicnn.randn(3, 4)
    with pytest.raises(ValueError, match=r"linear: mat1 and mat2 shapes cannot be multiplied \(3x4 and 3x5\)"):
        F.linear(x, minicnn.randn(5, 3))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(5,\)"):
        F.linear(x, minicnn.randn(5, 4), minicnn.randn(4))
    with pytest.raises(ValueError, match="linear: input needs at least 1 dim, but it is 0D"):
        F.linear(minicnn.tensor(1.0), minicnn.randn(5, 4))
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D"):
        F.linear(x, minicnn.randn(4))
    with pytest.raises(TypeError, match="linear: input, weight and bias must share a dtype"):
        F.linear(x, minicnn.randn(5, 4, dtype="float64"))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
        F.dropout(x, -0.1)
