"""RED-Net: layout (skips every two layers, mirrored channels), forward/backward and one training step vs torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn.models.rednet import REDNet, skip_sources
from reference.models.rednet import REDNet as THREDNet
from tests.harness import assert_close

TOL = {np.float64: (1e-9, 1e-12), np.float32: (1e-4, 1e-5)}


def twins(depth, channels, features, residual, dtype, seed=0):
    """A minicnn RED-Net (He init from ``seed``) and the torch twin holding the same weights."""
    m = REDNet(depth=depth, channels=channels, features=features, residual=residual, dtype=dtype)
    m.reset_parameters(np.random.default_rng(seed))
    # make the biases non-zero so the test sees them
    rng = np.random.default_rng(seed + 1)
    for name, p in m.named_parameters():
        if name.endswith("bias"):
            p.data[...] = 0.05 * rng.standard_normal(p.shape)
    t = THREDNet(depth=depth, channels=channels, features=features, residual=residual,
                 dtype=torch.float64 if dtype == np.float64 else torch.float32)
    t.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in m.state_dict().items()})
    return m, t


def test_layout_follows_the_paper():
    # skips every two layers from the image upwards: e0 (image, residual), e2, e4 for RED10
    assert skip_sources(10) == {1: 4, 3: 2}
    assert skip_sources(20) == {2: 8, 4: 6, 6: 4, 8: 2}   # n = 10: deconv1 has no skip
    assert skip_sources(30) == {j: 15 - j for j in range(1, 15, 2)}
    m = REDNet(depth=10, channels=3, features=64)
    assert m.conv1.weight.shape == (64, 3, 3, 3) and m.conv5.weight.shape == (64, 64, 3, 3)
    assert m.deconv1.weight.shape == (64, 64, 3, 3) and m.deconv5.weight.shape == (64, 3, 3, 3)
    n_params = sum(p.numel() for p in m.parameters())
    assert n_params == (3 * 64 * 9 + 64) + 8 * (64 * 64 * 9 + 64) + (64 * 3 * 9 + 3)
    assert m.radius == 10
    names = list(m.state_dict())
    assert names[:2] == ["conv1.weight", "conv1.bias"] and names[-1] == "deconv5.bias"
    assert REDNet(depth=20).radius == 20 and len(REDNet(depth=30, features=4).state_dict()) == 60


def test_bad_arguments_are_refused():
    for kw, word in [({"depth": 9}, "depth"), ({"depth": 2}, "depth"), ({"channels": 2}, "channels"),
                     ({"features": 0}, "features"), ({"kernel_size": 4}, "kernel_size")]:
        with pytest.raises(ValueError, match=word):
            REDNet(**kw)
    with pytest.raises(ValueError, match=r"REDNet: expected input of shape \(N, 1, H, W\)"):
        REDNet(depth=4, features=2)(minicnn.zeros(1, 3, 8, 8))


def test_untrained_residual_net_is_near_identity():
    m = REDNet(depth=10, features=64)
    m.reset_parameters(np.random.default_rng(0))
    x = minicnn.rand(1, 1, 24, 24)
    with minicnn.no_grad():
        y = m(x)
    # the last layer starts at 0.1 x He init: the output is the input plus a small correction
    assert float(np.abs((y - x).numpy()).mean()) < 0.15 * float(np.abs(x.numpy()).mean())
    m2 = REDNet(depth=10, features=64, residual=False)
    with minicnn.no_grad():
        assert float(np.abs((m2(x) - x).numpy()).mean()) > 0.15 * float(np.abs(x.numpy()).mean())


@settings(max_examples=6, deadline=None)
@given(depth=st.sampled_from([4, 6, 10]), channels=st.sampled_from([1, 3]), residual=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]), h=st.integers(5, 13), w=st.integers(5, 13),
       n=st.integers(1, 2), seed=st.integers(0, 1000))
def test_forward_and_backward_match_torch(depth, channels, residual, dtype, h, w, n, seed):
    m, t = twins(depth, channels, 6, residual, dtype, seed)
    rng = np.random.default_rng(seed)
    x = rng.random((n, channels, h, w)).astype(dtype)
    v = rng.standard_normal((n, channels, h, w)).astype(dtype)
    xm = minicnn.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ym, yt = m(xm), t(xt)
    tol = TOL[dtype]
    assert ym.dtype == dtype
    assert_close(ym, yt, dtype, "RED-Net output", tol)
    (ym * minicnn.tensor(v)).sum().backward()
    (yt * torch.from_numpy(v)).sum().backward()
    assert_close(xm.grad, xt.grad, dtype, "input gradient", tol)
    tp = dict(t.named_parameters())
    for name, p in m.named_parameters():
        assert_close(p.grad, tp[name].grad, dtype, f"gradient of {name}", tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_training_step_matches_torch(dtype):
    """Same weights and batch: same MSE loss, same gradients, same weights after one Adam step."""
    from algorithms.denoising import mse_loss
    from minicnn.optim import Adam
    from reference.denoising import mse_loss as th_mse_loss
    m, t = twins(10, 1, 8, True, dtype, seed=3)
    rng = np.random.default_rng(0)
    clean = rng.random((4, 1, 16, 16)).astype(dtype)
    noisy = (clean + 0.1 * rng.standard_normal(clean.shape)).astype(dtype)
    opt_m = Adam(m.parameters(), lr=1e-3)
    opt_t = torch.optim.Adam(t.parameters(), lr=1e-3)
    lm = mse_loss(m, minicnn.tensor(noisy), minicnn.tensor(clean))
    lt = th_mse_loss(t, torch.from_numpy(noisy), torch.from_numpy(clean))
    tol = TOL[dtype]
    assert_close(lm, lt, dtype, "loss", tol)
    lm.backward()
    lt.backward()
    tp = dict(t.named_parameters())
    for name, p in m.named_parameters():
        assert_close(p.grad, tp[name].grad, dtype, f"gradient of {name}", tol)
    opt_m.step()
    opt_t.step()
    for name, p in m.named_parameters():
        assert_close(p, tp[name], dtype, f"{name} after one Adam step", tol)
