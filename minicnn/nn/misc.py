"""Shape and regularisation layers: Flatten, Unflatten, Dropout, Dropout2d."""
from __future__ import annotations

from minicnn import backend
from minicnn import functional as F
from minicnn.factories import generator
from minicnn.tensor import Tensor
from minicnn.nn.module import Module

__all__ = ["Flatten", "Unflatten", "Dropout", "Dropout2d"]


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one (default: everything but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def forward(self, input):
        shape = list(input.shape)
        d = self.dim % len(shape)
        return input.reshape(*shape[:d], *self.unflattened_size, *shape[d + 1:])


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p!r}")
        self.p, self.inplace = float(p), inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Training: zero each element with probability p and scale the rest by 1/(1-p). Eval: identity."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Training: zero whole channels with probability p and scale the rest by 1/(1-p). Eval: identity."""

    def forward(self, input):
        if not self.training or self.p == 0:
            return input
        if input.ndim not in (3, 4):
            raise ValueError(f"Dropout2d: expected a (N, C, H, W) or (C, H, W) input, got shape {input.shape}")
        # one keep/drop draw per channel, from minicnn's seedable generator, broadcast over H, W
        shape = input.shape[:-2] + (1, 1)
        keep = generator().random(shape) >= self.p
        scale = 1.0 / (1.0 - self.p) if self.p < 1 else 0.0
        mask = backend.array_like(keep * scale, input.data, input.dtype)
        return input * Tensor(mask)
