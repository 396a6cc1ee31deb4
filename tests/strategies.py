"""Hypothesis strategies: shapes (size-1 sides included), broadcast pairs, seeded arrays."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcast_shapes(num=2, min_dims=0, max_dims=4, max_side=5):
    """Tuples of ``num`` shapes that broadcast together (torch and numpy rules agree)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num, min_dims=min_dims, max_dims=max_dims,
                                             max_side=max_side).map(lambda r: r.input_shapes)


seeds = st.integers(0, 2**31 - 1)
dtypes = st.sampled_from([np.float64, np.float32])


def array(seed, shape, low=None, high=None, away_from=None, margin=0.1):
    """Standard-normal (or uniform [low, high)) values; ``away_from`` keeps them ``margin`` off a point.

    Keeping values off kinks (0 for relu/abs) and poles makes finite differences meaningful.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
    if away_from is not None:
        close = np.abs(x - away_from) < margin
        x = np.where(close, away_from + np.sign(x - away_from + 1e-300) * margin * (1 + rng.random(shape)), x)
    return np.asarray(x, dtype=np.float64)
