"""Padding layers: ReflectionPad2d, ReplicationPad2d, ZeroPad2d, ConstantPad2d.

``padding`` is an int (all four sides) or (left, right, top, bottom), as in torch.
"""
from __future__ import annotations

from minicnn import functional as F
from minicnn.nn.module import Module

__all__ = ["ReflectionPad2d", "ReplicationPad2d", "ZeroPad2d", "ConstantPad2d"]


def _quad(padding, layer):
    if isinstance(padding, int) and not isinstance(padding, bool):
        return (padding,) * 4
    if isinstance(padding, (tuple, list)) and len(padding) == 4 and all(isinstance(p, int) for p in padding):
        return tuple(padding)
    raise ValueError(f"{layer}: padding must be an int or a 4-tuple (left, right, top, bottom), got {padding!r}")


class _PadNd(Module):
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _quad(padding, type(self).__name__)

    def extra_repr(self):
        return f"{self.padding}"

    def forward(self, input):
        return F.pad(input, self.padding, mode=self.mode)


class ReflectionPad2d(_PadNd):
    """Pad by mirroring the image at its border (edge pixel not repeated)."""
    mode = "reflect"


class ReplicationPad2d(_PadNd):
    """Pad by repeating the edge pixels."""
    mode = "replicate"


class ConstantPad2d(_PadNd):
    """Pad with a constant ``value``."""

    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"

    def forward(self, input):
        return F.pad(input, self.padding, mode="constant", value=self.value)


class ZeroPad2d(ConstantPad2d):
    """Pad with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"
