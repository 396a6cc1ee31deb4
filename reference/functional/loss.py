"""Torch twins of minicnn.functional.loss: torch's losses, and gram_matrix / total_variation
written in plain torch with exactly the normalisation minicnn documents."""
from __future__ import annotations

import torch
import torch.nn.functional as F

mse_loss, l1_loss, smooth_l1_loss, huber_loss = F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss
nll_loss, cross_entropy = F.nll_loss, F.cross_entropy


def gram_matrix(input, normalize=True):
    """(N, C, H, W) -> (N, C, C): F F^T per sample, divided by C*H*W when ``normalize``."""
    n, c, h, w = input.shape
    f = input.reshape(n, c, h * w)
    g = torch.bmm(f, f.transpose(1, 2))
    return g / (c * h * w) if normalize and c * h * w else g


def total_variation(input, reduction="sum", p=2):
    """Sum (or per-direction mean, added) of |vertical diffs|^p plus |horizontal diffs|^p."""
    dv = input[..., 1:, :] - input[..., :-1, :]
    dh = input[..., :, 1:] - input[..., :, :-1]
    tv = []
    for d in (dv, dh):
        t = d.pow(2).sum() if p == 2 else d.abs().sum()
        if reduction == "mean":
            t = t / d.numel() if d.numel() else t
        tv.append(t)
    return tv[0] + tv[1]
