"""SRCNN (Dong et al., 2014/2016): three convolutions on the bicubic-upscaled luminance.

    y = conv3(relu(conv2(relu(conv1(x)))))          (+ x with residual=True)

``x`` is the low-resolution image already upscaled to the target size with
bicubic interpolation (``minicnn.imresize``), one channel (Y of YCbCr) in [0, 1].
The 9-5-5 variant with 64 and 32 filters is the default: conv1 9x9 (patch
extraction), conv2 5x5 (non-linear mapping), conv3 5x5 (reconstruction).

Two documented departures from the paper:

* **Padding.** The paper uses valid convolutions, so its output is 16 pixels
  smaller than its input. Here each convolution is zero-padded by kernel//2, so
  the output has the input's size and whole images pass through in one call.
  Only the 8-pixel border (4 + 2 + 2, the receptive-field radius, ``model.radius``)
  sees the padding; tiled inference overlaps tiles by that radius so tiles
  agree with a single pass.
* **Residual learning** (``residual=True``, as in VDSR, Kim et al. 2016): the
  network predicts the difference between the bicubic input and the
  high-resolution image, which trains many times faster from scratch on a CPU
  budget. ``conv3`` then starts near zero (N(0, 0.001), the paper's own init
  for every layer), so the untrained model is exactly bicubic.
  ``residual=False`` gives the paper's plain mapping.
"""
from __future__ import annotations

from minicnn import functional as F
from minicnn import nn
from minicnn.nn import init

__all__ = ["SRCNN", "srcnn"]


class SRCNN(nn.Module):
    """``SRCNN(channels=1, n1=64, n2=32, f1=9, f2=5, f3=5, residual=True)``.

    Input and output: (N, channels, H, W), same size. State-dict keys:
    ``conv1.weight``, ``conv1.bias``, ..., ``conv3.bias`` (the torch twin in
    ``reference/models/srcnn.py`` uses the same names).
    """

    def __init__(self, channels=1, n1=64, n2=32, f1=9, f2=5, f3=5, residual=True, device=None, dtype=None):
        super().__init__()
        for name, k in (("f1", f1), ("f2", f2), ("f3", f3)):
            if not isinstance(k, int) or k < 1 or k % 2 == 0:
                raise ValueError(f"SRCNN: {name} must be an odd positive kernel size (so the output "
                                 f"keeps the input's size), got {k!r}")
        self.channels, self.residual = channels, bool(residual)
        self.conv1 = nn.Conv2d(channels, n1, f1, padding=f1 // 2, device=device, dtype=dtype)
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2, device=device, dtype=dtype)
        self.conv3 = nn.Conv2d(n2, channels, f3, padding=f3 // 2, device=device, dtype=dtype)
        self.radius = f1 // 2 + f2 // 2 + f3 // 2
        if self.residual:
            init.normal_(self.conv3.weight, 0.0, 1e-3)
            init.zeros_(self.conv3.bias)

    def extra_repr(self):
        return f"residual={self.residual}, radius={self.radius}"

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        out = self.conv3(h)
        return x + out if self.residual else out


def srcnn(**kwargs):
    """The 9-5-5 SRCNN with 64/32 filters (keyword arguments as ``SRCNN``)."""
    return SRCNN(**kwargs)
