"""Normalisation layers: BatchNorm2d and InstanceNorm2d (torch.nn's arguments, buffers and update rule).

Running statistics follow torch: in training mode with ``track_running_stats``,
``running = (1 - momentum) * running + momentum * batch_stat`` (the variance
unbiased), and ``momentum=None`` means a cumulative average using
``num_batches_tracked``. In eval mode the running statistics normalise.
"""
from __future__ import annotations

from minicnn import functional as F
from minicnn.nn._utils import new_buffer, new_parameter
from minicnn.nn.module import Module

__all__ = ["BatchNorm2d", "InstanceNorm2d"]


class _NormBase(Module):
    def __init__(self, num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=True):
        super().__init__()
        if not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = new_parameter((num_features,), 1.0, device, dtype)
            if bias:
                self.bias = new_parameter((num_features,), 0.0, device, dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", new_buffer((num_features,), 0.0, device, dtype))
            self.register_buffer("running_var", new_buffer((num_features,), 1.0, device, dtype))
            self.register_buffer("num_batches_tracked", new_buffer((), 0, device, "int64"))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            if self.bias is not None:
                self.bias.data[...] = 0

    def _check_input_dim(self, input):
        if input.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expected 4D input (N, C, H, W), got {input.ndim}D "
                             f"input of shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels, got input of "
                             f"shape {tuple(input.shape)}")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(_NormBase):
    """Normalise each channel over (N, H, W), then scale by ``weight`` and shift by ``bias``.

    ``affine=False`` drops both, keyword ``bias=False`` only the shift (torch 2.x).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias)

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            count = self.num_batches_tracked.data
            count[...] = count + 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)


class InstanceNorm2d(_NormBase):
    """Normalise each (sample, channel) plane over (H, W); no affine and no running stats by default.

    Accepts an unbatched (C, H, W) input too.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias)

    def forward(self, input):
        if input.ndim == 3:
            return self.forward(input.unsqueeze(0)).squeeze(0)
        self._check_input_dim(input)
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                               self.training or not self.track_running_stats, self.momentum
                               if self.momentum is not None else 0.0, self.eps)
