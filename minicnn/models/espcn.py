"""ESPCN (Shi et al., 2016): convolutions on the low-resolution image, then a sub-pixel shuffle.

    h = tanh(conv1(x));  h = tanh(conv2(h));  y = pixel_shuffle(conv3(h), r)

``x`` is the low-resolution luminance (N, C, H, W); conv3 makes C*r*r channels
that ``pixel_shuffle`` rearranges into the (N, C, r*H, r*W) output, so all the
work happens at low resolution (about r^2 times cheaper than SRCNN). The
paper's 5-3-3 kernels with 64 and 32 filters and tanh are the default;
convolutions are zero-padded by kernel//2 so sizes are kept (receptive-field
radius ``model.radius`` = 4 low-resolution pixels).

``residual=True`` (the default here, not in the paper) adds the
nearest-neighbour upscaled input to the output: conv3's r*r sub-pixel channels
of each colour each get ``x`` added before the shuffle, which is exactly
``nearest_upsample(x, r)`` after it. The network then learns a correction
instead of the whole image, which trains faster on a small budget; conv3
starts near zero so the untrained model is nearest-neighbour upscaling.
"""
from __future__ import annotations

from minicnn import functional as F
from minicnn import nn
from minicnn.nn import init

__all__ = ["ESPCN", "espcn"]


class ESPCN(nn.Module):
    """``ESPCN(scale, channels=1, n1=64, n2=32, f1=5, f2=3, f3=3, residual=True)``.

    Input (N, channels, H, W) -> output (N, channels, scale*H, scale*W). State-dict keys
    ``conv1.*``, ``conv2.*``, ``conv3.*`` as in the torch twin ``reference/models/espcn.py``.
    """

    def __init__(self, scale, channels=1, n1=64, n2=32, f1=5, f2=3, f3=3, residual=True, device=None,
                 dtype=None):
        super().__init__()
        if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
            raise ValueError(f"ESPCN: scale must be a positive int, got {scale!r}")
        for name, k in (("f1", f1), ("f2", f2), ("f3", f3)):
            if not isinstance(k, int) or k < 1 or k % 2 == 0:
                raise ValueError(f"ESPCN: {name} must be an odd positive kernel size, got {k!r}")
        self.scale, self.channels, self.residual = scale, channels, bool(residual)
        self.conv1 = nn.Conv2d(channels, n1, f1, padding=f1 // 2, device=device, dtype=dtype)
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2, device=device, dtype=dtype)
        self.conv3 = nn.Conv2d(n2, channels * scale * scale, f3, padding=f3 // 2, device=device, dtype=dtype)
        self.radius = f1 // 2 + f2 // 2 + f3 // 2
        if self.residual:
            init.normal_(self.conv3.weight, 0.0, 1e-3)
            init.zeros_(self.conv3.bias)

    def extra_repr(self):
        return f"scale={self.scale}, residual={self.residual}, radius={self.radius}"

    def forward(self, x):
        h = F.tanh(self.conv1(x))
        h = F.tanh(self.conv2(h))
        h = self.conv3(h)
        if self.residual:
            n, c, hh, ww = x.shape
            r2 = self.scale * self.scale
            h = (h.reshape(n, c, r2, hh, ww) + x.reshape(n, c, 1, hh, ww)).reshape(n, c * r2, hh, ww)
        return F.pixel_shuffle(h, self.scale)


def espcn(scale=3, **kwargs):
    """The 5-3-3 ESPCN with 64/32 filters and tanh for upscaling factor ``scale``."""
    return ESPCN(scale, **kwargs)
