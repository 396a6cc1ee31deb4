"""Torch twins for the minicnn.optim tests: the objectives, written with torch ops.

The minicnn side (tests/test_optim.py) writes the same formulas with minicnn
ops. ``x ** 2`` is used rather than ``x * x`` on purpose: both libraries
compute its gradient as ``g * 2 * x`` (bit-for-bit equal), and each input
collects gradients from at most two places, so the float64 gradients of the two
twins are identical and a trajectory difference can only come from the
optimizers.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def rosenbrock(x):
    """sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at x = (1, ..., 1)."""
    a = x[:-1]
    return (100 * (x[1:] - a ** 2) ** 2 + (1 - a) ** 2).sum()


def mlp_regression(params, x, target):
    """Mean squared error of a 2-layer tanh MLP: params = (W1, b1, W2, b2)."""
    w1, b1, w2, b2 = params
    y = torch.tanh(x @ w1 + b1) @ w2 + b2
    return ((y - target) ** 2).mean()


def cnn_regression(params, x, target):
    """Mean squared error of conv3x3 -> tanh -> conv3x3 (stride 1, padding 1): params = (w1, b1, w2, b2)."""
    w1, b1, w2, b2 = params
    y = F.conv2d(torch.tanh(F.conv2d(x, w1, b1, padding=1)), w2, b2, padding=1)
    return ((y - target) ** 2).mean()
