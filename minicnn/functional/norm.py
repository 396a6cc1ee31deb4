"""Normalisation layers (torch.nn.functional names): batch_norm, instance_norm, layer_norm, group_norm.

All four are the same computation on different axes, so they share one Function,
``Normalize``: view the input as ``view`` (a reshape), normalise over ``axes`` of
that view, then apply a per-feature affine ``y = x_hat * weight + bias`` whose
parameters broadcast as ``param_shape`` against the input:

==============  =================  ====================  =====================
op              view               axes (statistics)     param_shape
==============  =================  ====================  =====================
batch_norm      (N, C, *S)         all but C             (1, C, 1, ...)
instance_norm   (N, C, *S)         the spatial axes S    (1, C, 1, ...)
layer_norm      (*B, *D)           the last len(D) axes  D
group_norm      (N, G, C/G * |S|)  axis 2                (1, C, 1, ...)
==============  =================  ====================  =====================

The statistics are either the batch's own (mean and biased variance over
``axes``; training mode) or fixed arrays (running statistics; eval mode).
Running statistics are updated in place, as torch does, using the unbiased
batch variance.
"""
from __future__ import annotations

import math

from minicnn import backend
from minicnn.tensor import Function, Tensor, unbroadcast


class Normalize(Function):
    """y = x_hat * w + b,  x_hat = (x - mu) / sigma,  sigma = sqrt(var + eps).

    With batch statistics (mu, var = mean and biased variance of x over the m
    elements of ``axes``), the standard closed-form gradient is

        dL/dx_hat = g * w
        dL/dx     = (1 / sigma) * (dL/dx_hat - mean(dL/dx_hat) - x_hat * mean(dL/dx_hat * x_hat))

    (the means over ``axes``; the two subtracted terms are the paths through mu and var).
    With fixed statistics mu and var are constants: dL/dx = dL/dx_hat / sigma.
    In both cases dL/dw = sum(g * x_hat), dL/db = sum(g) over every axis that w and b
    are broadcast along.

    ``forward`` returns (y, mu, var) with batch statistics (the extras feed the
    running-statistics update), y alone with fixed ones.
    """

    def forward(self, x, weight, bias, view, axes, param_shape, eps, fixed_mean=None, fixed_var=None):
        xv = x.reshape(view)
        self.batch_stats = fixed_mean is None
        if self.batch_stats:
            mu = xv.mean(axis=axes, keepdims=True)
            centred = xv - mu
            var = (centred * centred).mean(axis=axes, keepdims=True)
        else:
            mu, var = fixed_mean.astype(x.dtype, copy=False), fixed_var.astype(x.dtype, copy=False)
            centred = xv - mu
        xp = backend.array_module(x)
        self.inv_std = 1 / xp.sqrt(var + eps)
        self.x_hat = centred * self.inv_std
        self.x_shape, self.view, self.axes, self.param_shape = x.shape, view, axes, param_shape
        self.weight = weight
        self.w_shape = None if weight is None else weight.shape
        self.b_shape = None if bias is None else bias.shape
        y = self.x_hat.reshape(x.shape)
        if weight is not None:
            y = y * weight.reshape(param_shape)
        if bias is not None:
            y = y + bias.reshape(param_shape)
        return (y, mu, var) if self.batch_stats else y

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad[:3]
        x_hat = self.x_hat.reshape(self.x_shape)
        gw = unbroadcast(g * x_hat, self.param_shape).reshape(self.w_shape) if need_w else None
        gb = unbroadcast(g, self.param_shape).reshape(self.b_shape) if need_b else None
        gx = None
        if need_x:
            gxh = g if self.weight is None else g * self.weight.reshape(self.param_shape)
            gxh = gxh.reshape(self.view)
            if self.batch_stats:
                xh = self.x_hat
                gxh = (gxh - gxh.mean(axis=self.axes, keepdims=True)
                       - xh * (gxh * xh).mean(axis=self.axes, keepdims=True))
            gx = (gxh * self.inv_std).reshape(self.x_shape)
        return gx, gw, gb, None, None, None, None


# --- argument checks ------------------------------------------------------------------

def _check_input(op, input, min_dims):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {input.dtype}")
    if input.ndim < min_dims:
        raise ValueError(f"{op}: expected an input with at least {min_dims} dims, got shape {input.shape}")


def _check_param(op, name, t, size, floating=True):
    """``t`` is None or a Tensor of ``size`` elements (weight, bias, running stats)."""
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
    if t.numel() != size:
        raise ValueError(f"{op}: {name} should contain {size} elements not {t.numel()} "
                         f"(got shape {t.shape})")
    if floating and t.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating-point, got dtype {t.dtype}")


def _check_number(op, name, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} {value!r}")


def _update_running(running, momentum, batch_value):
    """running <- (1 - momentum) * running + momentum * batch_value, in place (as torch's buffers)."""
    if running is not None:
        r = running.data
        r[...] = ((1 - momentum) * r + momentum * batch_value.reshape(r.shape)).astype(r.dtype, copy=False)


def _channel_shape(input):
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


# --- public functions -------------------------------------------------------------------

def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel of an (N, C, ...) input over N and every spatial position.

    Training mode normalises with the batch mean and biased variance and, when the
    running statistics are given, updates them in place:
    ``running_mean <- (1 - momentum) running_mean + momentum * mean`` and the same for
    ``running_var`` with the UNBIASED batch variance (times m / (m - 1)), exactly as torch.
    Eval mode normalises with the running statistics. ``momentum=None`` (a cumulative
    average) is refused, as by torch.nn.functional.batch_norm; the module computes the
    factor itself.
    """
    op = "batch_norm"
    _check_input(op, input, 2)
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(op, name, t, c)
    _check_number(op, "momentum", momentum)
    _check_number(op, "eps", eps)
    axes = (0,) + tuple(range(2, input.ndim))
    m = input.numel() // c if c else 0
    pshape = _channel_shape(input)
    if not training:
        if running_mean is None or running_var is None:
            missing = "running_mean" if running_mean is None else "running_var"
            raise ValueError(f"{op}: {missing} must be defined in evaluation mode")
        return Normalize.apply(input, weight, bias, input.shape, axes, pshape, eps,
                               fixed_mean=running_mean.data.reshape(pshape),
                               fixed_var=running_var.data.reshape(pshape))
    if m <= 1:
        raise ValueError(f"{op}: Expected more than 1 value per channel when training, "
                         f"got input size {input.shape}")
    y, mu, var = Normalize.apply(input, weight, bias, input.shape, axes, pshape, eps)
    _update_running(running_mean, momentum, mu.data)
    _update_running(running_var, momentum, var.data * (m / (m - 1)))
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) plane of an (N, C, ...) input over its spatial positions.

    With ``use_input_stats`` each instance's own mean and biased variance are used and
    given running statistics are updated in place with the batch average of the
    instance statistics (unbiased variances), as torch does. Without it, the running
    statistics normalise every instance (eval mode).
    """
    op = "instance_norm"
    _check_input(op, input, 2)
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(op, name, t, c)
    _check_number(op, "momentum", momentum)
    _check_number(op, "eps", eps)
    pshape = _channel_shape(input)
    axes = tuple(range(2, input.ndim))
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: Expected running_mean and running_var to be defined "
                             f"when use_input_stats is false")
        return Normalize.apply(input, weight, bias, input.shape, axes, pshape, eps,
                               fixed_mean=running_mean.data.reshape(pshape),
                               fixed_var=running_var.data.reshape(pshape))
    m = math.prod(input.shape[2:])
    if m <= 1:
        raise ValueError(f"{op}: Expected more than 1 spatial element when training, "
                         f"got input size {input.shape}")
    y, mu, var = Normalize.apply(input, weight, bias, input.shape, axes, pshape, eps)
    n = input.shape[0]
    if n:
        _update_running(running_mean, momentum, mu.data.reshape(n, c).mean(axis=0))
        _update_running(running_var, momentum, var.data.reshape(n, c).mean(axis=0) * (m / (m - 1)))
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims ``normalized_shape``; weight and bias have that shape."""
    op = "layer_norm"
    _check_input(op, input, 1)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"{op}: normalized_shape must be a non-empty sequence of positive ints, "
                         f"got {normalized_shape!r}")
    k = len(shape)
    if input.ndim < k or input.shape[-k:] != shape:
        raise ValueError(f"{op}: Given normalized_shape={list(shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, shape))}], but got input of size {input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (not isinstance(t, Tensor) or t.shape != shape):
            got = t.shape if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{op}: {name} must be a Tensor of shape {shape} (normalized_shape), got {got}")
    axes = tuple(range(input.ndim - k, input.ndim))
    return Normalize.apply(input, weight, bias, input.shape, axes, shape, eps)[0]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels of an (N, C, ...) input into ``num_groups`` groups; normalise each
    (sample, group) over its channels and positions; weight and bias are per channel."""
    op = "group_norm"
    _check_input(op, input, 2)
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
        raise ValueError(f"{op}: num_groups must be a positive int, got {num_groups!r}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise ValueError(f"{op}: Expected number of channels in input to be divisible by num_groups, "
                         f"but got input of shape {input.shape} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (not isinstance(t, Tensor) or t.shape != (c,)):
            got = t.shape if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{op}: Expected {name} to be a vector of size equal to the number of "
                             f"channels in input, but got {name} of shape {got} and input of shape "
                             f"{input.shape}")
    view = (n, num_groups, input.numel() // max(n * num_groups, 1))
    return Normalize.apply(input, weight, bias, view, (2,), _channel_shape(input), eps)[0]
