"""Twin of minicnn/models/srcnn.py in plain torch: the same layers, names and forward."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class SRCNN(nn.Module):
    def __init__(self, channels=1, n1=64, n2=32, f1=9, f2=5, f3=5, residual=True, dtype=None):
        super().__init__()
        self.channels, self.residual = channels, bool(residual)
        self.conv1 = nn.Conv2d(channels, n1, f1, padding=f1 // 2, dtype=dtype)
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2, dtype=dtype)
        self.conv3 = nn.Conv2d(n2, channels, f3, padding=f3 // 2, dtype=dtype)
        self.radius = f1 // 2 + f2 // 2 + f3 // 2
        if self.residual:
            nn.init.normal_(self.conv3.weight, 0.0, 1e-3)
            nn.init.zeros_(self.conv3.bias)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        out = self.conv3(h)
        return x + out if self.residual else out


def srcnn(**kwargs):
    return SRCNN(**kwargs)
