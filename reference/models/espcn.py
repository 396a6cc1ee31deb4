"""Twin of minicnn/models/espcn.py in plain torch: the same layers, names and forward."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ESPCN(nn.Module):
    def __init__(self, scale, channels=1, n1=64, n2=32, f1=5, f2=3, f3=3, residual=True, dtype=None):
        super().__init__()
        self.scale, self.channels, self.residual = scale, channels, bool(residual)
        self.conv1 = nn.Conv2d(channels, n1, f1, padding=f1 // 2, dtype=dtype)
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2, dtype=dtype)
        self.conv3 = nn.Conv2d(n2, channels * scale * scale, f3, padding=f3 // 2, dtype=dtype)
        self.radius = f1 // 2 + f2 // 2 + f3 // 2
        if self.residual:
            nn.init.normal_(self.conv3.weight, 0.0, 1e-3)
            nn.init.zeros_(self.conv3.bias)

    def forward(self, x):
        h = torch.tanh(self.conv1(x))
        h = torch.tanh(self.conv2(h))
        h = self.conv3(h)
        if self.residual:
            n, c, hh, ww = x.shape
            r2 = self.scale * self.scale
            h = (h.reshape(n, c, r2, hh, ww) + x.reshape(n, c, 1, hh, ww)).reshape(n, c * r2, hh, ww)
        return F.pixel_shuffle(h, self.scale)


def espcn(scale=3, **kwargs):
    return ESPCN(scale, **kwargs)
