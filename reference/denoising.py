"""Twin of algorithms/denoising.py's tensor work in plain torch: loss, tiled inference, self-ensemble, training.

Data sampling and metrics are NumPy in both (``algorithms.denoising.PatchSampler`` draws the
batches); everything the network touches is done here with torch, independently: the tiles
are cut and pasted with torch indexing, the 8 flips/rotations with ``torch.rot90``/``flip``,
and training uses ``torch.optim.Adam`` with ``CosineAnnealingLR``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def mse_loss(model, x, y):
    return F.mse_loss(model(x), y)


def forward_planes(model, x):
    """(N, C, H, W) tensor -> output tensor, no graph."""
    with torch.no_grad():
        return model(x)


def run_tiled(model, x, tile=0):
    h, w = x.shape[-2:]
    if not tile or (h <= tile and w <= tile):
        return forward_planes(model, x)
    r = int(model.radius)
    out = torch.empty_like(x)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            a0, b0, a1, b1 = max(y0 - r, 0), max(x0 - r, 0), min(y1 + r, h), min(x1 + r, w)
            o = forward_planes(model, x[..., a0:a1, b0:b1])
            out[..., y0:y1, x0:x1] = o[..., y0 - a0:y1 - a0, x0 - b0:x1 - b0]
    return out


def denoise_planes(model, x, tile=0, self_ensemble=False):
    if not self_ensemble:
        return run_tiled(model, x, tile)
    acc = torch.zeros_like(x)
    for t in range(8):
        k, flip = t % 4, t >= 4
        xt = torch.rot90(x, k, dims=(-2, -1))
        xt = torch.flip(xt, dims=(-1,)) if flip else xt
        y = run_tiled(model, xt.contiguous(), tile)
        y = torch.flip(y, dims=(-1,)) if flip else y
        acc += torch.rot90(y, -k, dims=(-2, -1))
    return acc / 8.0


def train_steps(model, batches, lr=1e-3, lr_min=1e-5, steps=None):
    """Adam + cosine annealing over ``steps`` on a list of (noisy, clean) tensor pairs; returns the losses."""
    steps = steps or len(batches)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr_min)
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = mse_loss(model, x, y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses
