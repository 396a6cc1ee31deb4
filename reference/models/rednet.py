"""Twin of minicnn/models/rednet.py in plain torch: the same layers, names, skips and forward."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn


def skip_sources(depth):
    n = depth // 2
    return {j: n - j for j in range(1, n) if (n - j) % 2 == 0}


class REDNet(nn.Module):
    def __init__(self, depth=10, channels=1, features=64, residual=True, kernel_size=3, dtype=None):
        super().__init__()
        self.depth, self.channels, self.features = depth, channels, features
        self.residual, self.kernel_size = bool(residual), kernel_size
        self.n = n = depth // 2
        self.radius = depth * (kernel_size // 2)
        self.skips = skip_sources(depth)
        pad = kernel_size // 2
        for k in range(1, n + 1):
            setattr(self, f"conv{k}", nn.Conv2d(channels if k == 1 else features, features, kernel_size,
                                                padding=pad, dtype=dtype))
        for j in range(1, n + 1):
            setattr(self, f"deconv{j}", nn.ConvTranspose2d(features, channels if j == n else features,
                                                           kernel_size, padding=pad, dtype=dtype))
        for k in range(1, n + 1):
            nn.init.kaiming_normal_(getattr(self, f"conv{k}").weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(getattr(self, f"conv{k}").bias)
            nn.init.kaiming_normal_(getattr(self, f"deconv{k}").weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(getattr(self, f"deconv{k}").bias)
        if self.residual:
            getattr(self, f"deconv{n}").weight.data.mul_(0.1)

    def forward(self, x):
        kept = {}
        h = x
        for k in range(1, self.n + 1):
            h = F.relu(getattr(self, f"conv{k}")(h))
            if k in self.skips.values():
                kept[k] = h
        for j in range(1, self.n + 1):
            d = getattr(self, f"deconv{j}")(h)
            if j == self.n:
                return d + x if self.residual else d
            h = F.relu(d + kept.pop(self.skips[j])) if j in self.skips else F.relu(d)
