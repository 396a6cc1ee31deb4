"""Torch twin of minicnn.functional.pad."""
from __future__ import annotations

import torch.nn.functional as F


def pad(input, pad, mode="constant", value=None):
    return F.pad(input, tuple(pad), mode=mode, value=value)
