"""Run a minicnn function and its torch twin on the same arrays; compare values and gradients.

Tolerances follow DESIGN.md: float64 within 1e-10 relative, float32 within 1e-4.
Set MINICNN_TEST_BACKEND=cupy to run the minicnn side on the GPU.
"""
from __future__ import annotations

import os

import numpy as np
import torch

import minicnn

BACKEND = os.environ.get("MINICNN_TEST_BACKEND", "numpy")
TOL = {np.dtype(np.float64): (1e-10, 1e-12), np.dtype(np.float32): (1e-4, 1e-5)}
TORCH_DTYPE = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


def to_np(x):
    if isinstance(x, minicnn.Tensor):
        return minicnn.backend.to_numpy(x.data)
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(actual, expected, dtype, what="", tol=None):
    """Element-wise |a - e| <= atol*scale + rtol*|e|, scale = max(1, max|e|)."""
    rtol, atol = tol or TOL[np.dtype(dtype)]
    a = to_np(actual).astype(np.float64)
    e = to_np(expected).astype(np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    scale = max(1.0, float(np.abs(e).max())) if e.size else 1.0
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, err_msg=what)


def mc_tensor(x, dtype, requires_grad=False):
    if np.asarray(x).dtype.kind != "f":
        return minicnn.tensor(np.asarray(x), backend=BACKEND)
    return minicnn.tensor(np.asarray(x, dtype=dtype), requires_grad=requires_grad, backend=BACKEND)


def th_tensor(x, dtype, requires_grad=False):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return torch.from_numpy(x.copy())
    return torch.tensor(x.astype(dtype), requires_grad=requires_grad)


def _outputs(out):
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, (minicnn.Tensor, torch.Tensor)) and o.dtype in
                (np.float32, np.float64, torch.float32, torch.float64)]
    return [out]


def compare(mc_fn, th_fn, inputs, dtype=np.float64, grad=None, seed=0, tol=None, what="op"):
    """Forward and backward of ``mc_fn`` vs ``th_fn`` on ``inputs`` (numpy arrays).

    ``grad`` lists which inputs get gradients (default: every floating input).
    Returns (minicnn outputs, torch outputs) for further checks.
    """
    dtype = np.dtype(dtype)
    grad = grad if grad is not None else [np.asarray(x).dtype.kind == "f" for x in inputs]
    mc_in = [mc_tensor(x, dtype, g) for x, g in zip(inputs, grad)]
    th_in = [th_tensor(x, dtype, g) for x, g in zip(inputs, grad)]
    mc_out, th_out = _outputs(mc_fn(*mc_in)), _outputs(th_fn(*th_in))
    assert len(mc_out) == len(th_out)
    rng = np.random.default_rng(seed)
    mc_loss = th_loss = None
    for i, (m, t) in enumerate(zip(mc_out, th_out)):
        assert m.dtype == dtype, f"{what}: output dtype {m.dtype} != {dtype}"
        assert_close(m, t, dtype, f"{what}: forward output {i}", tol)
        if m.requires_grad:
            v = rng.standard_normal(m.shape).astype(dtype)
            ml = (m * mc_tensor(v, dtype)).sum()
            tl = (t * th_tensor(v, dtype)).sum()
            mc_loss = ml if mc_loss is None else mc_loss + ml
            th_loss = tl if th_loss is None else th_loss + tl
    if mc_loss is not None:
        mc_loss.backward()
        th_loss.backward()
        for i, (m, t, g) in enumerate(zip(mc_in, th_in, grad)):
            if not g:
                assert m.grad is None
                continue
            expected = t.grad if t.grad is not None else torch.zeros_like(t)
            assert m.grad is not None, f"{what}: input {i} got no gradient"
            assert_close(m.grad, expected, dtype, f"{what}: gradient of input {i}", tol)
    return mc_out, th_out


def gradcheck(mc_fn, inputs, grad=None, **kw):
    """minicnn.gradcheck on float64 copies of ``inputs``."""
    grad = grad if grad is not None else [np.asarray(x).dtype.kind == "f" for x in inputs]
    tensors = [mc_tensor(x, np.float64, g) for x, g in zip(inputs, grad)]
    return minicnn.gradcheck(mc_fn, tensors, **kw)


def train_losses(model, loss_fn, batches, optimizer, scheduler=None):
    """Run one optimizer step per (x, y) numpy batch; the losses, for comparing with a torch twin's loop."""
    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model, minicnn.tensor(x), minicnn.tensor(y))
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses
