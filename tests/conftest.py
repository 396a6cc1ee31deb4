"""Test-session settings: one BLAS/torch thread per pytest-xdist worker (2 workers on 2 cores).

Oversubscribed thread pools make torch's CPU kernels tens of times slower on a
busy 2-core machine; one thread per worker keeps the suite fast and steady.
"""
from __future__ import annotations

import os

import pytest


def _limit_threads():
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass


_limit_threads()


@pytest.fixture(autouse=True)
def _seed_minicnn():
    """Every test starts from the same minicnn generator state."""
    import minicnn
    minicnn.manual_seed(0)
    yield
