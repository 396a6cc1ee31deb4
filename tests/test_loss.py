"""Losses against torch (forward + backward for every floating input, float64/float32, all reductions),
gram_matrix / total_variation against their torch twins, gradcheck, and torch-like errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
import minicnn.functional as F
import reference.functional.loss as R
from tests import strategies as S
from tests.harness import compare, gradcheck

SETTINGS = settings(max_examples=15, deadline=None)
reductions = st.sampled_from(["none", "mean", "sum"])

# name -> (keyword strategy, accepts weight)
POINTWISE = {
    "mse_loss": (st.just({}), True),
    "l1_loss": (st.just({}), True),
    "smooth_l1_loss": (st.sampled_from([0.0, 0.5, 1.0, 2.0]).map(lambda b: {"beta": b}), False),
    "huber_loss": (st.sampled_from([0.5, 1.0, 2.0]).map(lambda d: {"delta": d}), True),
}


def _pair(seed, shape):
    """input and a target that differs from it by at least 0.1 everywhere (|d| = 0 is L1's kink)."""
    x = S.array(seed, shape) * 2
    return x, x + S.array(seed + 1, shape, away_from=0.0, margin=0.1) * 1.5


@pytest.mark.parametrize("name", sorted(POINTWISE))
@SETTINGS
@given(data=st.data(), shape=S.shapes(), reduction=reductions, weighted=st.booleans(), seed=S.seeds,
       dtype=S.dtypes)
def test_pointwise_loss_matches_torch(name, data, shape, reduction, weighted, seed, dtype):
    kw_strategy, takes_weight = POINTWISE[name]
    kw = dict(data.draw(kw_strategy), reduction=reduction)
    x, t = _pair(seed, shape)
    inputs = [x, t]
    if weighted and takes_weight:
        inputs.append(np.random.default_rng(seed).uniform(0.2, 2.0, shape))
        mc = lambda a, b, w: getattr(F, name)(a, b, weight=w, **kw)  # noqa: E731
        th = lambda a, b, w: getattr(R, name)(a, b, weight=w, **kw)  # noqa: E731
    else:
        mc = lambda a, b: getattr(F, name)(a, b, **kw)  # noqa: E731
        th = lambda a, b: getattr(R, name)(a, b, **kw)  # noqa: E731
    compare(mc, th, inputs, dtype=dtype, what=f"{name} {kw} weighted={len(inputs) == 3}")


@pytest.mark.parametrize("name", sorted(POINTWISE))
def test_pointwise_loss_gradcheck(name):
    x, t = _pair(3, (2, 3))
    w = np.random.default_rng(3).uniform(0.2, 2.0, (2, 3))
    for reduction in ("none", "mean", "sum"):
        if POINTWISE[name][1]:
            assert gradcheck(lambda a, b, c: getattr(F, name)(a, b, weight=c, reduction=reduction), [x, t, w])
        assert gradcheck(lambda a, b: getattr(F, name)(a, b, reduction=reduction), [x, t])


def test_broadcast_target_warns_and_matches_torch():
    x, t = S.array(1, (3, 4)), S.array(2, (4,))
    with pytest.warns(UserWarning) as record:
        compare(F.mse_loss, R.mse_loss, [x, t])
    assert any(str(r.message).startswith("mse_loss: Using a target size ((4,)) that is different")
               for r in record)
    out, _ = compare(lambda a, b: F.mse_loss(a, b, True, False), lambda a, b: R.mse_loss(a, b, reduction="none"),
                     [x, x * 0.5])  # deprecated size_average/reduce keep their meaning
    assert out[0].shape == (3, 4)


@st.composite
def class_problem(draw, min_dims=1, max_dims=4):
    """(input shape, class-index target, class count) with batch > 1 often, spatial dims sometimes."""
    c = draw(st.integers(1, 5))
    ndim = draw(st.integers(min_dims, max_dims))
    if ndim == 1:
        return (c,), ()
    n = draw(st.integers(1, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim - 2, max_size=ndim - 2)))
    return (n, c) + spatial, (n,) + spatial


def _targets(seed, tshape, c, ignore_index):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, tshape)
    if ignore_index is not None and t.size > 1:  # ignore some samples, never all of them
        drop = rng.random(tshape) < 0.3
        drop.reshape(-1)[0] = False
        t = np.where(drop, ignore_index, t)
    return np.asarray(t, dtype=np.int64)


@SETTINGS
@given(problem=class_problem(), reduction=reductions, weighted=st.booleans(),
       ignore=st.sampled_from([None, -100, 0]), seed=S.seeds, dtype=S.dtypes)
def test_nll_loss_matches_torch(problem, reduction, weighted, ignore, seed, dtype):
    shape, tshape = problem
    c = shape[1] if len(shape) > 1 else shape[0]
    t = _targets(seed, tshape, c, ignore)
    w = np.random.default_rng(seed).uniform(0.2, 2.0, c) if weighted else None
    kw = dict(reduction=reduction, ignore_index=-100 if ignore is None else ignore)
    mc = lambda x, tt: F.nll_loss(x, tt, None if w is None else minicnn.tensor(w.astype(dtype)), **kw)  # noqa
    th = lambda x, tt: R.nll_loss(x, tt, None if w is None else torch.tensor(w.astype(dtype)), **kw)  # noqa
    compare(mc, th, [S.array(seed, shape), t], dtype=dtype, what=f"nll_loss {shape} {kw} w={weighted}")


@SETTINGS
@given(problem=class_problem(), reduction=reductions, weighted=st.booleans(),
       ignore=st.sampled_from([None, -100, 1]), smoothing=st.sampled_from([0.0, 0.1, 0.7]),
       seed=S.seeds, dtype=S.dtypes)
def test_cross_entropy_class_indices_matches_torch(problem, reduction, weighted, ignore, smoothing, seed,
                                                   dtype):
    shape, tshape = problem
    c = shape[1] if len(shape) > 1 else shape[0]
    t = _targets(seed, tshape, c, ignore)
    w = np.random.default_rng(seed).uniform(0.2, 2.0, c) if weighted else None
    kw = dict(reduction=reduction, ignore_index=-100 if ignore is None else ignore, label_smoothing=smoothing)
    mc = lambda x, tt: F.cross_entropy(x, tt, None if w is None else minicnn.tensor(w.astype(dtype)), **kw)  # noqa
    th = lambda x, tt: R.cross_entropy(x, tt, None if w is None else torch.tensor(w.astype(dtype)), **kw)  # noqa
    compare(mc, th, [S.array(seed, shape) * 3, t], dtype=dtype, what=f"cross_entropy {shape} {kw} w={weighted}")


@SETTINGS
@given(problem=class_problem(), reduction=reductions, weighted=st.booleans(),
       smoothing=st.sampled_from([0.0, 0.2]), seed=S.seeds, dtype=S.dtypes)
def test_cross_entropy_class_probabilities_matches_torch(problem, reduction, weighted, smoothing, seed, dtype):
    shape, _ = problem
    c = shape[1] if len(shape) > 1 else shape[0]
    class_dim = 1 if len(shape) > 1 else 0
    p = np.random.default_rng(seed).random(shape) + 0.1
    p = p / p.sum(axis=class_dim, keepdims=True)
    w = np.random.default_rng(seed).uniform(0.2, 2.0, c) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    mc = lambda x, tt: F.cross_entropy(x, tt, None if w is None else minicnn.tensor(w.astype(dtype)), **kw)  # noqa
    th = lambda x, tt: R.cross_entropy(x, tt, None if w is None else torch.tensor(w.astype(dtype)), **kw)  # noqa
    compare(mc, th, [S.array(seed, shape), p], dtype=dtype, what=f"cross_entropy probs {shape} {kw}")


def test_classification_gradcheck():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 2))
    t = np.array([[0, 3], [-100, 1], [2, 2]], dtype=np.int64)
    w = minicnn.tensor(rng.uniform(0.5, 2, 4), dtype="float64")
    for red in ("none", "mean", "sum"):
        assert gradcheck(lambda a, b: F.nll_loss(a, b, w, reduction=red), [x, t])
        assert gradcheck(lambda a, b: F.cross_entropy(a, b, w, reduction=red, label_smoothing=0.3), [x, t])
    probs = rng.random((3, 4)) + 0.1
    assert gradcheck(lambda a, p: F.cross_entropy(a, p, label_smoothing=0.1), [x[:, :, 0], probs])


def test_nll_loss_weighted_mean_is_torch_rule():
    """'mean' with class weights divides by the sum of the weights actually used."""
    x = minicnn.tensor([[-1.0, -2.0, -3.0], [-0.5, -1.5, -2.5]], dtype="float64")
    t = minicnn.tensor([2, 0])
    w = minicnn.tensor([1.0, 10.0, 3.0], dtype="float64")
    assert F.nll_loss(x, t, w).item() == pytest.approx((3 * 3.0 + 1 * 0.5) / (3 + 1), rel=1e-15)
    assert F.nll_loss(x, t, w, ignore_index=2).item() == pytest.approx(0.5, rel=1e-15)


@SETTINGS
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)),
       normalize=st.booleans(), seed=S.seeds, dtype=S.dtypes)
def test_gram_matrix_matches_twin(shape, normalize, seed, dtype):
    out, _ = compare(lambda x: F.gram_matrix(x, normalize), lambda x: R.gram_matrix(x, normalize),
                     [S.array(seed, shape)], dtype=dtype, what=f"gram {shape}")
    assert out[0].shape == shape[:2] + (shape[1],)


def test_gram_matrix_normalisation_is_c_h_w():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    f = x.reshape(2, 3, 20)
    expected = np.einsum("ncp,ndp->ncd", f, f) / (3 * 4 * 5)
    np.testing.assert_allclose(F.gram_matrix(minicnn.tensor(x)).numpy(), expected, rtol=1e-12)
    assert gradcheck(F.gram_matrix, [x[:1, :2, :2, :3]])


@SETTINGS
@given(shape=S.shapes(min_dims=2, max_dims=4), reduction=st.sampled_from(["sum", "mean"]),
       p=st.sampled_from([1, 2]), seed=S.seeds, dtype=S.dtypes)
def test_total_variation_matches_twin(shape, reduction, p, seed, dtype):
    compare(lambda x: F.total_variation(x, reduction, p), lambda x: R.total_variation(x, reduction, p),
            [S.array(seed, shape)], dtype=dtype, what=f"tv {shape} {reduction} p={p}")


def test_total_variation_values_and_gradcheck():
    x = np.array([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    # vertical diffs 2, 1, -1; horizontal 1, 2, 0, 0
    assert F.total_variation(minicnn.tensor(x)).item() == pytest.approx(4 + 1 + 1 + 1 + 4)
    assert F.total_variation(minicnn.tensor(x), p=1).item() == pytest.approx(4 + 3)
    assert F.total_variation(minicnn.tensor(x), "mean").item() == pytest.approx(6 / 3 + 5 / 4)
    rng = np.random.default_rng(2)
    for p in (1, 2):
        assert gradcheck(lambda t: F.total_variation(t, "mean", p), [rng.standard_normal((1, 2, 3, 3))])


def test_loss_errors_are_torch_like():
    x = minicnn.randn(3, 4)
    with pytest.raises(IndexError, match="nll_loss: Target 5 is out of bounds"):
        F.nll_loss(x, minicnn.tensor([0, 1, 5]))
    with pytest.raises(IndexError, match="cross_entropy: Target -1 is out of bounds"):
        F.cross_entropy(x, minicnn.tensor([-1, 1, 2]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
        F.nll_loss(x, minicnn.tensor([0, 1]))
    with pytest.raises(TypeError, match="expected target dtype to be an integer type"):
        F.nll_loss(x, minicnn.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"Expected target size \[2, 4\], got \[2, 5\]"):
        F.nll_loss(minicnn.randn(2, 3, 4), minicnn.zeros(2, 5, dtype="int64"))
    with pytest.raises(ValueError, match="weight tensor should be defined either for all 4 classes"):
        F.cross_entropy(x, minicnn.tensor([0, 1, 2]), weight=minicnn.ones(3))
    with pytest.raises(ValueError, match="nll_loss: foo is not a valid value for reduction"):
        F.nll_loss(x, minicnn.tensor([0, 1, 2]), reduction="foo")
    with pytest.raises(ValueError, match="mse_loss: foo is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="foo")
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(3, 5\) cannot be broadcast"):
        F.mse_loss(x, minicnn.randn(3, 5))
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.l1_loss(x, x, weight=minicnn.ones(4))
    with pytest.raises(ValueError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(x, minicnn.randn(3, 4), ignore_index=1)
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0. Got: 1.5"):
        F.cross_entropy(x, minicnn.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"gram_matrix: expected a 4-D \(N, C, H, W\) input, got shape \(3, 4\)"):
        F.gram_matrix(x)
    with pytest.raises(ValueError, match="total_variation: p must be 1 or 2"):
        F.total_variation(x, p=3)
    with pytest.raises(ValueError, match="total_variation: none is not a valid value for reduction"):
        F.total_variation(x, "none")


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_all_samples_ignored_gives_nan_and_zero_gradient_like_torch(smoothing):
    x, t = S.array(4, (3, 4)), np.full(3, -100, dtype=np.int64)
    out, _ = compare(lambda a, b: F.cross_entropy(a, b, label_smoothing=smoothing),
                     lambda a, b: R.cross_entropy(a, b, label_smoothing=smoothing), [x, t])
    assert np.isnan(out[0].item())
