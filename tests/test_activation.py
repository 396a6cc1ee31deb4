"""Activations against torch (forward + backward, float64 and float32), gradcheck, and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
import minicnn.functional as F
import reference.functional.activation as R
from tests import strategies as S
from tests.harness import compare, gradcheck

SETTINGS = settings(max_examples=15, deadline=None)
slopes = st.floats(-0.5, 2.0).filter(lambda s: abs(s - 1) > 1e-3)
positive = st.floats(0.25, 3.0)

# name -> strategy of (kwargs for both sides, input domain, input scale)
ELEMENTWISE = {
    "relu": st.just(({}, dict(away_from=0.0), 1.0)),
    "leaky_relu": slopes.map(lambda s: (dict(negative_slope=s), dict(away_from=0.0), 1.0)),
    "elu": positive.map(lambda a: (dict(alpha=a), dict(away_from=0.0), 2.0)),
    "gelu": st.sampled_from(["none", "tanh"]).map(lambda a: (dict(approximate=a), {}, 3.0)),
    "sigmoid": st.just(({}, {}, 4.0)),
    "tanh": st.just(({}, {}, 2.0)),
    # scale 8 reaches torch's linear region (beta*x > threshold) as well as the log1p branch
    "softplus": st.tuples(positive, st.floats(1.0, 20.0)).map(
        lambda bt: (dict(beta=bt[0], threshold=bt[1]), dict(away_from=bt[1] / bt[0], margin=0.05), 8.0)),
}


def _input(seed, shape, dom, scale):
    x = S.array(seed, shape, **{k: v for k, v in dom.items() if k != "away_from"}) * scale
    if "away_from" in dom:  # keep finite differences off the kink / branch switch
        x = S.array(seed, shape, away_from=dom["away_from"] / scale, margin=dom.get("margin", 0.1) / scale) \
            * scale
    return x


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@SETTINGS
@given(data=st.data(), shape=S.shapes(), seed=S.seeds, dtype=S.dtypes)
def test_elementwise_matches_torch(name, data, shape, seed, dtype):
    kw, dom, scale = data.draw(ELEMENTWISE[name])
    x = _input(seed, shape, dom, scale)
    compare(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(R, name)(t, **kw), [x], dtype=dtype,
            what=f"{name}{kw}")


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=4, deadline=None)
@given(data=st.data(), shape=S.shapes(max_dims=3, max_side=3), seed=S.seeds)
def test_elementwise_gradcheck(name, data, shape, seed):
    kw, dom, scale = data.draw(ELEMENTWISE[name])
    assert gradcheck(lambda t: getattr(F, name)(t, **kw), [_input(seed, shape, dom, scale)])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@SETTINGS
@given(data=st.data(), shape=S.shapes(min_dims=1), seed=S.seeds, dtype=S.dtypes)
def test_softmax_matches_torch_along_every_dim(name, data, shape, seed, dtype):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = S.array(seed, shape) * 3
    compare(lambda t: getattr(F, name)(t, dim), lambda t: getattr(R, name)(t, dim), [x], dtype=dtype,
            what=f"{name} dim={dim}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=4, deadline=None)
@given(shape=S.shapes(min_dims=1, max_dims=3, max_side=3), seed=S.seeds)
def test_softmax_gradcheck(name, shape, seed):
    assert gradcheck(lambda t: getattr(F, name)(t, -1), [S.array(seed, shape)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_for_huge_inputs(dtype):
    x = np.array([[1000.0, 1001.0, 990.0], [-1000.0, -1003.0, -2000.0]])
    out, ref = compare(lambda t: F.log_softmax(t, 1), lambda t: R.log_softmax(t, 1), [x], dtype=dtype)
    assert np.isfinite(out[0].detach().numpy()).all()
    out, _ = compare(lambda t: F.softmax(t, 1), lambda t: R.softmax(t, 1), [x], dtype=dtype)
    assert np.allclose(out[0].detach().numpy().sum(1), 1, atol=1e-6)


def test_softmax_0d_implicit_dim_and_dtype_argument():
    s = F.softmax(minicnn.tensor(3.0, dtype="float64"), 0)
    assert s.shape == () and s.item() == 1.0
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        ours = F.softmax(minicnn.tensor(x), dim=None)
    with pytest.warns(UserWarning):
        theirs = R.softmax(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    y = F.log_softmax(minicnn.tensor(x.astype(np.float32)), 2, dtype="float64")
    assert y.dtype == np.float64
    ref = R.log_softmax(torch.tensor(x.astype(np.float32)), 2, dtype=torch.float64)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12)


def test_softplus_linear_region_is_the_identity():
    x = minicnn.tensor([25.0, 30.0, -3.0], dtype="float64", requires_grad=True)
    y = F.softplus(x)
    y.sum().backward()
    assert y.data[0] == 25.0 and y.data[1] == 30.0
    assert x.grad.data[0] == 1.0 and abs(x.grad.data[2] - 1 / (1 + np.exp(3))) < 1e-15


def test_activation_errors_are_torch_like():
    x = minicnn.ones(2, 3)
    with pytest.raises(TypeError, match=r"leaky_relu\(\): argument 'negative_slope' \(position 2\) "
                                        r"must be Number, not str"):
        F.leaky_relu(x, "a")
    with pytest.raises(TypeError, match="negative_slope.*NoneType"):
        F.leaky_relu(x, None)
    with pytest.raises(TypeError, match=r"softplus\(\): argument 'beta' .* not str"):
        F.softplus(x, "a")
    with pytest.raises(IndexError, match=r"softmax: dim 2 is out of range.*\[-2, 1\]"):
        F.softmax(x, 2)
    with pytest.raises(TypeError, match="log_softmax: dim must be an int"):
        F.log_softmax(x, 1.0)
    with pytest.raises(ValueError, match="gelu: approximate argument must be either none or tanh"):
        F.gelu(x, approximate="foo")
    with pytest.raises(TypeError, match="softmax: expected a floating-point tensor"):
        F.softmax(minicnn.arange(3), 0)
    with pytest.raises(TypeError, match="relu: expected a Tensor, got list"):
        F.relu([1.0])
