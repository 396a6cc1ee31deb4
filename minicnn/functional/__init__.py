"""Differentiable ops with torch.nn.functional's names, arguments and defaults."""
from minicnn.functional.activation import relu, sigmoid, tanh  # noqa: F401
from minicnn.functional.conv import conv2d, conv_transpose2d  # noqa: F401
