"""minicnn.optim.lr_scheduler against torch.optim.lr_scheduler: the same lr sequences, state, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import minicnn
from minicnn import optim
from minicnn.optim import lr_scheduler as S
from minicnn.optim import state_dict_from_arrays, state_dict_to_arrays

EPOCHS = 30

SCHEDULERS = {
    "step": ("StepLR", dict(step_size=4, gamma=0.5)),
    "step_default_gamma": ("StepLR", dict(step_size=7)),
    "multistep": ("MultiStepLR", dict(milestones=[3, 8, 8, 20], gamma=0.3)),
    "lambda": ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e / (1 + 0.1 * e))),
    "lambda_per_group": ("LambdaLR", dict(lr_lambda=[lambda e: 1.0 / (e + 1), lambda e: 0.9 ** e])),
    "cosine": ("CosineAnnealingLR", dict(T_max=30)),
    # T_max < epochs: through the bottom (the special-cased branch) and back up
    "cosine_restart": ("CosineAnnealingLR", dict(T_max=7, eta_min=1e-3)),
}


def _optimizers(lrs=(0.1, 0.02)):
    a = minicnn.zeros(2, requires_grad=True)
    b = minicnn.zeros(1, requires_grad=True)
    ta, tb = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    mc = optim.SGD([{"params": [a], "lr": lrs[0]}, {"params": [b], "lr": lrs[1]}], momentum=0.9)
    th = torch.optim.SGD([{"params": [ta], "lr": lrs[0]}, {"params": [tb], "lr": lrs[1]}],
                         momentum=0.9)
    return mc, th


def _sequence(sched, opt, epochs):
    seq = [list(sched.get_last_lr())]
    for _ in range(epochs):
        opt.step()
        sched.step()
        seq.append(list(sched.get_last_lr()))
        assert [g["lr"] for g in opt.param_groups] == seq[-1]
    return seq


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    kind, kw = SCHEDULERS[name]
    mc_opt, th_opt = _optimizers()
    mc = _sequence(getattr(S, kind)(mc_opt, **kw), mc_opt, EPOCHS)
    th = _sequence(getattr(torch.optim.lr_scheduler, kind)(th_opt, **kw), th_opt, EPOCHS)
    np.testing.assert_allclose(np.array(mc), np.array(th), rtol=1e-15, atol=0)
    assert len(set(map(tuple, mc))) > 2  # the lr really changed
    assert [g["initial_lr"] for g in mc_opt.param_groups] == [0.1, 0.02]


def test_cosine_follows_the_closed_form_until_t_max():
    opt, _ = _optimizers((0.1, 0.05))
    sched = S.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for epoch in range(11):
        for base, lr in zip((0.1, 0.05), sched.get_last_lr()):
            assert lr == pytest.approx(0.01 + (base - 0.01) * (1 + np.cos(np.pi * epoch / 10)) / 2,
                                       rel=1e-12)
        opt.step()
        sched.step()


@pytest.mark.parametrize("name", ["step", "multistep", "cosine_restart"])
def test_step_with_an_epoch_uses_the_closed_form_like_torch(name):
    kind, kw = SCHEDULERS[name]
    mc_opt, th_opt = _optimizers()
    mc, th = getattr(S, kind)(mc_opt, **kw), getattr(torch.optim.lr_scheduler, kind)(th_opt, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates step(epoch)
        for epoch in (5, 9, 3, 21):
            mc.step(epoch)
            th.step(epoch)
            np.testing.assert_allclose(mc.get_last_lr(), th.get_last_lr(), rtol=1e-15)


@pytest.mark.parametrize("name", ["step", "multistep", "cosine_restart", "lambda"])
def test_state_dict_round_trip_resumes_the_sequence(name, tmp_path):
    kind, kw = SCHEDULERS[name]
    opt, _ = _optimizers()
    full = _sequence(getattr(S, kind)(opt, **kw), opt, EPOCHS)

    opt, _ = _optimizers()
    sched = getattr(S, kind)(opt, **kw)
    _sequence(sched, opt, 12)
    np.savez(tmp_path / "ckpt.npz", **state_dict_to_arrays(opt.state_dict(), prefix="optim/"),
             **state_dict_to_arrays(sched.state_dict(), prefix="sched/"))

    opt2, _ = _optimizers((0.7, 0.7))  # wrong lrs on purpose: the checkpoint must win
    sched2 = getattr(S, kind)(opt2, **kw)
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as f:
        opt2.load_state_dict(state_dict_from_arrays(f, prefix="optim/"))
        sched2.load_state_dict(state_dict_from_arrays(f, prefix="sched/"))
    rest = _sequence(sched2, opt2, EPOCHS - 12)
    np.testing.assert_array_equal(np.array(rest), np.array(full[12:]))


def test_scheduled_sgd_follows_torch():
    """The scheduler's lr is what the next optimizer step uses."""
    w0 = np.array([1.5, -0.5, 2.0])
    out = {}
    for side in ("minicnn", "torch"):
        lib = optim if side == "minicnn" else torch.optim
        w = minicnn.tensor(w0, dtype="float64", requires_grad=True) if side == "minicnn" \
            else torch.tensor(w0, requires_grad=True)
        opt = lib.SGD([w], lr=0.2, momentum=0.5)
        sched = (S if side == "minicnn" else torch.optim.lr_scheduler).CosineAnnealingLR(opt, T_max=8)
        for _ in range(EPOCHS):
            opt.zero_grad()
            ((w ** 2).sum() + (w ** 4).sum() * 0.1).backward()
            opt.step()
            sched.step()
        out[side] = w.detach().numpy()
    np.testing.assert_allclose(out["minicnn"], out["torch"], rtol=0, atol=1e-14)


def test_scheduler_errors():
    opt, _ = _optimizers()
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        S.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="step_size must be a positive int, got 0"):
        S.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be positive, got 0"):
        S.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        S.LambdaLR(opt, lr_lambda=[lambda e: 1.0])
    fresh, _ = _optimizers()
    with pytest.raises(KeyError, match=r"'initial_lr' is not specified in param_groups\[0\]"):
        S.StepLR(fresh, step_size=2, last_epoch=5)
