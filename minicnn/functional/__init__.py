"""Differentiable ops with torch.nn.functional's names, arguments and defaults."""
from minicnn.functional.activation import relu, sigmoid, tanh  # noqa: F401
