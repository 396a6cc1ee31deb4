"""Convolution layers: Conv2d and ConvTranspose2d (torch.nn's arguments, attributes and init)."""
from __future__ import annotations

import math

from minicnn import functional as F
from minicnn.nn import init
from minicnn.nn._utils import check_positive_ints, new_parameter, pair
from minicnn.nn.module import Module

__all__ = ["Conv2d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding,
                 groups, bias, padding_mode, device, dtype):
        super().__init__()
        layer = type(self).__name__
        kernel_size, stride, dilation = (pair(kernel_size, "kernel_size", layer), pair(stride, "stride", layer),
                                         pair(dilation, "dilation", layer))
        check_positive_ints(layer, in_channels=in_channels, out_channels=out_channels,
                            kernel_size=kernel_size, stride=stride, dilation=dilation, groups=groups)
        if in_channels % groups:
            raise ValueError(f"{layer}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{layer}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{layer}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{layer}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{layer}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride})")
        else:
            padding = pair(padding, "padding", layer)
            if any(not isinstance(p, int) or p < 0 for p in padding):
                raise ValueError(f"{layer}: padding must be non-negative integers, got {padding!r}")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f"{layer}: only 'zeros' padding_mode is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.output_padding, self.groups = dilation, output_padding, groups
        self.padding_mode = padding_mode
        # (left, right, top, bottom) amounts F.pad takes, for the non-zero padding modes.
        if padding == "valid":
            self._reversed_padding_repeated_twice = (0, 0, 0, 0)
        elif padding == "same":
            rev = []
            for d, k in zip(reversed(dilation), reversed(kernel_size)):
                total = d * (k - 1)
                rev += [total // 2, total - total // 2]
            self._reversed_padding_repeated_twice = tuple(rev)
        else:
            self._reversed_padding_repeated_twice = (padding[1], padding[1], padding[0], padding[0])
        if self.transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = new_parameter(shape, device=device, dtype=dtype)
        if bias:
            self.bias = new_parameter((out_channels,), device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        if not init.init_skipped():
            self.reset_parameters()

    def reset_parameters(self):
        """torch's default: weight ~ kaiming_uniform(a=sqrt(5)) i.e. U(+-1/sqrt(fan_in)), bias U(+-1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C, H, W) inputs, as torch.nn.Conv2d.

    ``weight``: (out_channels, in_channels // groups, kH, kW); ``bias``: (out_channels,).
    ``padding`` may be an int, a pair, 'valid' or 'same'; ``padding_mode`` 'zeros',
    'reflect', 'replicate' or 'circular' (the last three pad with ``F.pad`` first).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, (0, 0),
                         groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(padded, weight, bias, self.stride, (0, 0), self.dilation, self.groups)
        if isinstance(self.padding, str):
            left, right, top, bottom = self._reversed_padding_repeated_twice
            if left == right and top == bottom:
                return F.conv2d(input, weight, bias, self.stride, (top, left), self.dilation, self.groups)
            # an even kernel with 'same' padding: the extra row/column goes at the end, as torch
            input = F.pad(input, (left, right, top, bottom))
            return F.conv2d(input, weight, bias, self.stride, (0, 0), self.dilation, self.groups)
        return F.conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution (the gradient of Conv2d w.r.t. its input), as torch.nn.ConvTranspose2d.

    ``weight``: (in_channels, out_channels // groups, kH, kW). ``forward(input, output_size=None)``:
    an ``output_size`` picks the ``output_padding`` that reaches it, as in torch.
    """
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        layer = type(self).__name__
        if isinstance(padding, str):
            raise ValueError(f"{layer}: padding must be an int or a pair of ints, got {padding!r}")
        output_padding = pair(output_padding, "output_padding", layer)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding,
                         groups, bias, padding_mode, device, dtype)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if not isinstance(op, int) or op < 0 or (op >= s and op >= d):
                raise ValueError(f"{layer}: output_padding must be smaller than either stride or dilation, "
                                 f"got output_padding={self.output_padding}, stride={self.stride}, "
                                 f"dilation={self.dilation}")

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        output_size = tuple(output_size)[-2:]
        if len(output_size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must have 2 or more elements, got {output_size}")
        result = []
        for d in range(2):
            n = input.shape[-2 + d]
            low = ((n - 1) * self.stride[d] - 2 * self.padding[d]
                   + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            high = low + self.stride[d] - 1
            if not low <= output_size[d] <= high:
                raise ValueError(f"ConvTranspose2d: requested an output size of {output_size}, but valid "
                                 f"sizes range from ({low}, ...) to ({high}, ...) for an input of "
                                 f"{tuple(input.shape[-2:])}")
            result.append(output_size[d] - low)
        return tuple(result)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)
