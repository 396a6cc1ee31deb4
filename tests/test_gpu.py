"""CuPy backend: the same graph on the GPU gives the CPU's numbers. Skipped, with the reason, without a GPU."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn import backend

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(
    not backend.cupy_available(), reason=f"CuPy GPU backend unavailable: {backend.cupy_unavailable_reason()}")]


def _loss(x, w):
    y = (x @ w).relu() * 2 - x.mean(dim=1, keepdim=True)
    y = minicnn.cat([y, y[:, :1].sigmoid()], dim=1)
    return y.var(dim=0).sum() + y.amax() + minicnn.stack([y, y]).tanh().abs().sum()


def test_basic_graph_on_cupy_matches_numpy():
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((8, 5)), rng.standard_normal((5, 5))
    out = {}
    for name in ("numpy", "cupy"):
        x = minicnn.tensor(xa, dtype="float64", requires_grad=True)
        w = minicnn.tensor(wa, dtype="float64", requires_grad=True)
        loss = _loss(x.to(name), w.to(name))
        assert loss.backend == name
        loss.backward()
        out[name] = (loss.item(), x.grad.numpy(), w.grad.numpy())
    assert out["cupy"][0] == pytest.approx(out["numpy"][0], rel=1e-10)
    for a, b in zip(out["cupy"][1:], out["numpy"][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_conv_net_on_cupy_matches_numpy():
    F = pytest.importorskip("minicnn.functional")
    rng = np.random.default_rng(1)
    xa, wa = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))
    res = {}
    for name in ("numpy", "cupy"):
        x = minicnn.tensor(xa, dtype="float64", requires_grad=True)
        w = minicnn.tensor(wa, dtype="float64", requires_grad=True)
        y = F.max_pool2d(F.conv2d(x.to(name), w.to(name), padding=1).relu(), 2)
        (y * y).sum().backward()
        res[name] = (y.detach().numpy(), x.grad.numpy(), w.grad.numpy())
    for a, b in zip(res["cupy"], res["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
