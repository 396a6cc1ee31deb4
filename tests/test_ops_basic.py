"""Every basic op against torch (forward + backward, float64 and float32) and gradcheck."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minicnn
import reference.ops as R
from tests import strategies as S
from tests.harness import compare, gradcheck

SETTINGS = settings(max_examples=25, deadline=None)

# name -> (minicnn fn, torch fn, value domain for inputs)
UNARY = {
    "neg": (lambda x: -x, R.neg, {}),
    "exp": (lambda x: x.exp(), R.exp, {}),
    "log": (lambda x: x.log(), R.log, dict(low=0.2, high=3.0)),
    "sqrt": (lambda x: x.sqrt(), R.sqrt, dict(low=0.2, high=3.0)),
    "abs": (lambda x: x.abs(), R.abs, dict(away_from=0.0)),
    "tanh": (lambda x: x.tanh(), R.tanh, {}),
    "sigmoid": (lambda x: x.sigmoid(), R.sigmoid, {}),
    "relu": (lambda x: x.relu(), R.relu, dict(away_from=0.0)),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), lambda x: R.clamp(x, -0.5, 0.7), dict(away_from=0.6, margin=0.15)),
    "clamp_min": (lambda x: minicnn.clamp(x, min=0.1), lambda x: R.clamp(x, min=0.1), dict(away_from=0.1)),
    "pow_scalar": (lambda x: x ** 3, lambda x: x ** 3, {}),
    "pow_frac": (lambda x: x ** 0.5, lambda x: x ** 0.5, dict(low=0.2, high=3.0)),
    "rpow": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, {}),
    "scalar_left_sub": (lambda x: 3 - x, lambda x: 3 - x, {}),
    "scalar_left_div": (lambda x: 2.0 / x, lambda x: 2.0 / x, dict(away_from=0.0, margin=0.3)),
    "scalar_mul": (lambda x: x * 2.5 + 1, lambda x: x * 2.5 + 1, {}),
}

BINARY = {
    "add": (lambda a, b: a + b, R.add, {}),
    "sub": (lambda a, b: a - b, R.sub, {}),
    "mul": (lambda a, b: a * b, R.mul, {}),
    "div": (lambda a, b: a / b, R.div, dict(away_from=0.0, margin=0.3)),
    "pow": (lambda a, b: a ** b, R.pow, dict(low=0.3, high=2.0)),
    "maximum": (minicnn.maximum, R.maximum, {}),
    "minimum": (minicnn.minimum, R.minimum, {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=S.shapes(), seed=S.seeds, dtype=S.dtypes)
def test_unary_matches_torch(name, shape, seed, dtype):
    mc_fn, th_fn, dom = UNARY[name]
    compare(mc_fn, th_fn, [S.array(seed, shape, **dom)], dtype=dtype, what=name)


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=5, deadline=None)
@given(shape=S.shapes(max_dims=3, max_side=4), seed=S.seeds)
def test_unary_gradcheck(name, shape, seed):
    mc_fn, _, dom = UNARY[name]
    assert gradcheck(mc_fn, [S.array(seed, shape, **dom)])


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shapes=S.broadcast_shapes(), seed=S.seeds, dtype=S.dtypes)
def test_binary_broadcast_matches_torch(name, shapes, seed, dtype):
    mc_fn, th_fn, dom = BINARY[name]
    a, b = (S.array(seed + i, s, **dom) for i, s in enumerate(shapes))
    compare(mc_fn, th_fn, [a, b], dtype=dtype, what=f"{name} {shapes}")


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=5, deadline=None)
@given(shapes=S.broadcast_shapes(max_dims=3, max_side=3), seed=S.seeds)
def test_binary_gradcheck(name, shapes, seed):
    mc_fn, _, dom = BINARY[name]
    assert gradcheck(mc_fn, [S.array(seed + i, s, **dom) for i, s in enumerate(shapes)])


@SETTINGS
@given(shapes=S.broadcast_shapes(num=3), seed=S.seeds, dtype=S.dtypes)
def test_where_matches_torch(shapes, seed, dtype):
    cond = np.random.default_rng(seed).random(shapes[0]) > 0.5
    compare(lambda c, a, b: minicnn.where(c, a, b), R.where,
            [cond, S.array(seed, shapes[1]), S.array(seed + 1, shapes[2])], dtype=dtype, what="where")
    assert gradcheck(lambda c, a, b: minicnn.where(c, a, b),
                     [cond, S.array(seed, shapes[1]), S.array(seed + 1, shapes[2])])


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 5)) for _ in range(3))
    batch = draw(S.broadcast_shapes(max_dims=2, max_side=3))
    kind = draw(st.sampled_from(["mm", "batched", "vec_left", "vec_right", "dot"]))
    if kind == "mm":
        return (n, k), (k, m)
    if kind == "vec_left":
        return (k,), batch[1] + (k, m)
    if kind == "vec_right":
        return batch[0] + (n, k), (k,)
    if kind == "dot":
        return (k,), (k,)
    return batch[0] + (n, k), batch[1] + (k, m)


@SETTINGS
@given(shapes=matmul_shapes(), seed=S.seeds, dtype=S.dtypes)
def test_matmul_matches_torch(shapes, seed, dtype):
    a, b = (S.array(seed + i, s) for i, s in enumerate(shapes))
    compare(lambda x, y: x @ y, R.matmul, [a, b], dtype=dtype, what=f"matmul {shapes}")


@settings(max_examples=8, deadline=None)
@given(shapes=matmul_shapes(), seed=S.seeds)
def test_matmul_gradcheck(shapes, seed):
    assert gradcheck(lambda x, y: x @ y, [S.array(seed + i, s) for i, s in enumerate(shapes)])


@st.composite
def reduce_case(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=4))
    if draw(st.booleans()):
        return shape, None, False
    k = draw(st.integers(1, len(shape)))
    dims = tuple(draw(st.permutations(range(len(shape))))[:k])
    neg = draw(st.booleans())
    dims = tuple(d - len(shape) if neg else d for d in dims)
    return shape, dims if len(dims) > 1 else dims[0], draw(st.booleans())


@pytest.mark.parametrize("name", ["sum", "mean", "var", "var0", "amax", "amin", "std"])
@SETTINGS
@given(case=reduce_case(), seed=S.seeds, dtype=S.dtypes)
def test_reductions_match_torch(name, case, seed, dtype):
    shape, dim, keep = case
    import torch
    mc = {"sum": lambda x: x.sum(dim, keep), "mean": lambda x: x.mean(dim, keep),
          "var": lambda x: x.var(dim, keepdim=keep), "var0": lambda x: x.var(dim, unbiased=False, keepdim=keep),
          "amax": lambda x: x.amax(dim, keep), "amin": lambda x: x.amin(dim, keep),
          "std": lambda x: x.std(dim, keepdim=keep)}[name]
    th = {"sum": lambda x: R.sum(x, dim, keep), "mean": lambda x: R.mean(x, dim, keep),
          "var": lambda x: torch.var(x, dim, keepdim=keep), "var0": lambda x: torch.var(x, dim, correction=0, keepdim=keep),
          "amax": lambda x: R.amax(x, dim, keep), "amin": lambda x: torch.amin(x, () if dim is None else dim, keep),
          "std": lambda x: torch.std(x, dim, keepdim=keep)}[name]
    x = S.array(seed, shape)
    n = np.prod([shape[d] for d in ([dim] if isinstance(dim, int) else (dim or range(len(shape))))])
    if name in ("var", "std") and n < 2:
        return  # division by N-1 = 0: both give nan/inf, compared elsewhere
    compare(mc, th, [x], dtype=dtype, what=f"{name} dim={dim} keepdim={keep}")
    if dtype == np.float64 and x.size <= 40:
        assert gradcheck(mc, [x])


@SETTINGS
@given(shape=S.shapes(min_dims=1), seed=S.seeds, keep=st.booleans(), dtype=S.dtypes, data=st.data())
def test_max_min_with_dim_match_torch(shape, seed, keep, dtype, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = S.array(seed, shape)
    for mc, th in ((minicnn.max, R.max), (minicnn.min, R.min)):
        mo, to = compare(lambda t: mc(t, dim, keep), lambda t: th(t, dim, keep), [x], dtype=dtype,
                         what=f"{mc.__name__} dim={dim}")
        m_idx = mc(minicnn.tensor(x), dim, keep).indices.numpy()
        assert np.array_equal(m_idx, th(__import__("torch").tensor(x), dim, keep).indices.numpy())
    compare(lambda t: t.max(), R.max, [x], dtype=dtype, what="max()")
    assert gradcheck(lambda t: minicnn.max(t, dim, keep).values, [x])


@st.composite
def reshape_case(draw):
    shape = draw(S.shapes(max_dims=4))
    n = int(np.prod(shape))
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    a = draw(st.sampled_from(divisors))
    new = (a, -1) if draw(st.booleans()) else (n // a, a)
    return shape, new


@SETTINGS
@given(case=reshape_case(), seed=S.seeds, dtype=S.dtypes)
def test_reshape_view_flatten_match_torch(case, seed, dtype):
    shape, new = case
    x = S.array(seed, shape)
    compare(lambda t: t.reshape(*new) * 2, lambda t: R.reshape(t, *new) * 2, [x], dtype=dtype, what="reshape")
    compare(lambda t: t.view(new), lambda t: t.view(new), [x], dtype=dtype, what="view")
    if len(shape) >= 1:
        compare(lambda t: t.flatten(0, -1), lambda t: R.flatten(t), [x], dtype=dtype, what="flatten")
    if len(shape) >= 3:
        compare(lambda t: t.flatten(1), lambda t: R.flatten(t, 1), [x], dtype=dtype, what="flatten(1)")
    assert gradcheck(lambda t: t.reshape(*new), [x])


@SETTINGS
@given(shape=S.shapes(min_dims=1), seed=S.seeds, dtype=S.dtypes, data=st.data())
def test_permute_transpose_match_torch(shape, seed, dtype, data):
    perm = data.draw(st.permutations(range(len(shape))))
    a, b = data.draw(st.integers(0, len(shape) - 1)), data.draw(st.integers(-len(shape), len(shape) - 1))
    x = S.array(seed, shape)
    compare(lambda t: t.permute(*perm), lambda t: t.permute(*perm), [x], dtype=dtype, what="permute")
    compare(lambda t: t.transpose(a, b), lambda t: t.transpose(a, b), [x], dtype=dtype, what="transpose")
    assert gradcheck(lambda t: t.permute(*perm), [x])


INDICES = [
    (0,), (slice(1, None),), (slice(None, None, 2),), (Ellipsis, 0), (slice(None), None, 1),
    ([0, 0, 1],), (np.array([1, 0, 1, 1]),), ((slice(None), [0, -1, 0])),
]


@pytest.mark.parametrize("idx", INDICES, ids=[repr(i) for i in INDICES])
@settings(max_examples=10, deadline=None)
@given(seed=S.seeds, dtype=S.dtypes, extra=S.shapes(min_dims=1, max_dims=2, min_side=2, max_side=4))
def test_getitem_matches_torch(idx, seed, dtype, extra):
    x = S.array(seed, (3,) + extra)
    compare(lambda t: t[idx], lambda t: t[idx], [x], dtype=dtype, what=f"getitem {idx}")
    assert gradcheck(lambda t: t[idx], [x])


@SETTINGS
@given(shape=S.shapes(min_dims=1, max_dims=3), seed=S.seeds, dtype=S.dtypes, data=st.data())
def test_cat_stack_match_torch(shape, seed, dtype, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[dim] = data.draw(st.integers(1, 3))
    xs = [S.array(seed, shape), S.array(seed + 1, tuple(other)), S.array(seed + 2, shape)]
    compare(lambda a, b, c: minicnn.cat([a, b, c], dim), lambda a, b, c: R.cat([a, b, c], dim), xs,
            dtype=dtype, what="cat")
    sdim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    compare(lambda a, c: minicnn.stack([a, c, a], sdim), lambda a, c: R.stack([a, c, a], sdim),
            [xs[0], xs[2]], dtype=dtype, what="stack")
    assert gradcheck(lambda a, b, c: minicnn.cat([a, b, c], dim), xs)
    assert gradcheck(lambda a, c: minicnn.stack([a, c, a], sdim), [xs[0], xs[2]])


def test_unsqueeze_squeeze_expand_match_torch():
    x = S.array(0, (3, 1, 4))
    compare(lambda t: t.unsqueeze(0).squeeze(2), lambda t: t.unsqueeze(0).squeeze(2), [x], what="squeeze")
    compare(lambda t: t.expand(2, 3, 5, 4), lambda t: t.expand(2, 3, 5, 4), [x], what="expand")
    compare(lambda t: t.expand(-1, 6, -1), lambda t: t.expand(-1, 6, -1), [x], what="expand -1")
    assert gradcheck(lambda t: t.expand(2, 3, 5, 4), [x])
