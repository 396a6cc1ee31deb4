"""Activations (torch.nn.functional names): relu, sigmoid, tanh.

Each is an element-wise Function whose backward multiplies the incoming
gradient by the local derivative.
"""
from __future__ import annotations

from minicnn import backend
from minicnn.tensor import Function, Tensor


def _check(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


class ReLU(Function):
    """y = max(x, 0);  dL/dx = g * [x > 0]  (0 at x = 0, as torch)."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, g):
        return g * self.mask


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dL/dx = g * y * (1 - y)."""

    def forward(self, x):
        xp = backend.array_module(x)
        e = xp.exp(-xp.abs(x))  # never overflows: exp of a non-positive number
        self.y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class Tanh(Function):
    """y = tanh(x);  dL/dx = g * (1 - y^2)."""

    def forward(self, x):
        self.y = backend.array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


def relu(input, inplace=False):
    _check(input, "relu")
    return ReLU.apply(input)


def sigmoid(input):
    _check(input, "sigmoid")
    return Sigmoid.apply(input)


def tanh(input):
    _check(input, "tanh")
    return Tanh.apply(input)
