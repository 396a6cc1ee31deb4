"""Twin of algorithms/super_resolution.py in plain torch: models, tiled inference, the training step.

The data protocol (luminance, MATLAB-compatible bicubic degradation, patch
sampling) is NumPy code shared with the minicnn side and imported from it; what
differs between the two libraries -- the networks, the forward passes, the loss
and Adam -- is re-done here in torch with the same names and signatures (``desc``,
a progress-bar label on the minicnn side, is accepted and ignored), so the tests can
feed both the same weights and batches and compare the numbers.
"""
from __future__ import annotations

import numpy as np
import torch

from algorithms.super_resolution import (as_float, check_model, check_scale, rgb_to_ycbcr,  # noqa: F401
                                         to_uint8, upscale, ycbcr_to_rgb)
from reference.models.espcn import ESPCN
from reference.models.srcnn import SRCNN

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def build_model(kind, scale, residual=True, dtype="float32"):
    check_model(kind)
    check_scale(scale)
    dt = _DTYPES[str(dtype)]
    if kind == "srcnn":
        return SRCNN(residual=residual, dtype=dt)
    return ESPCN(scale, residual=residual, dtype=dt)


def load_state(model, state):
    """Copy a minicnn state_dict (name -> Tensor/array) into the torch twin."""
    tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in state.items()}
    model.load_state_dict({k: v.to(model.conv1.weight.dtype) for k, v in tensors.items()})
    return model


def forward_plane(model, x):
    dtype = model.conv1.weight.dtype
    with torch.no_grad():
        out = model(torch.as_tensor(np.asarray(x)[None, None]).to(dtype))
    return out[0, 0].double().numpy()


def run_tiled(model, x, factor, tile=0, desc=None):
    h, w = x.shape
    if not tile or (h <= tile and w <= tile):
        return forward_plane(model, x)
    r, f = int(model.radius), int(factor)
    out = np.empty((h * f, w * f), dtype=np.float64)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            a0, b0, a1, b1 = max(y0 - r, 0), max(x0 - r, 0), min(y1 + r, h), min(x1 + r, w)
            o = forward_plane(model, x[a0:a1, b0:b1])
            out[y0 * f:y1 * f, x0 * f:x1 * f] = o[(y0 - a0) * f:(y1 - a0) * f, (x0 - b0) * f:(x1 - b0) * f]
    return out


def super_resolve_y(model, kind, lr_y, scale, tile=0, desc=None):
    if kind == "srcnn":
        return run_tiled(model, upscale(lr_y, scale), 1, tile * scale)
    return run_tiled(model, lr_y, scale, tile)


def upscale_image(image, scale, model, kind, tile=0, desc=None):
    a = as_float(image)
    if a.ndim == 2:
        out = super_resolve_y(model, kind, a, scale, tile)
    else:
        ycc = rgb_to_ycbcr(a[..., :3])
        y = super_resolve_y(model, kind, ycc[..., 0], scale, tile)
        cbcr = upscale(ycc[..., 1:], scale)
        out = ycbcr_to_rgb(np.concatenate([y[..., None], cbcr], axis=-1))
    return to_uint8(out) if np.asarray(image).dtype == np.uint8 else out


def mse_loss(model, x, y):
    return torch.nn.functional.mse_loss(model(x), y)


def train_steps(model, batches, lr=1e-3):
    """Adam on the MSE for each (x, y) numpy batch in turn; returns the losses (the shared loop's update)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    dtype = model.conv1.weight.dtype
    losses = []
    model.train()
    for x, y in batches:
        opt.zero_grad()
        loss = mse_loss(model, torch.as_tensor(x).to(dtype), torch.as_tensor(y).to(dtype))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses
