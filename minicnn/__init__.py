"""minicnn: a small, readable CNN library on NumPy (CPU) and CuPy (GPU).

Start with ``minicnn.tensor`` (Tensor and autodiff), then ``minicnn.functional``
(conv2d, pooling, ...), ``minicnn.nn`` (layers), ``minicnn.optim``.
"""
from minicnn import backend
from minicnn.backend import (available_backends, cupy_available, default_dtype, get_default_dtype,
                             set_default_dtype)
from minicnn.backend import float32, float64
from minicnn.tensor import (Function, Tensor, enable_grad, is_grad_enabled, no_grad,
                            set_grad_enabled, tensor)
from minicnn.ops import (abs, add, amax, amin, argmax, argmin, cat, clamp, clip, concatenate, div,
                         exp, flatten, log, matmul, max, maximum, mean, min, minimum, mul, neg,
                         permute, pow, relu, reshape, sigmoid, sqrt, squeeze, stack, std, sub, sum,
                         tanh, transpose, unsqueeze, var, where)
from minicnn import functional
from minicnn.factories import zeros, ones, full, zeros_like, ones_like, rand, randn, arange, manual_seed
from minicnn.gradcheck import gradcheck
from minicnn import nn
from minicnn import optim
from minicnn import models
from minicnn import io
from minicnn.serialization import save, load

__version__ = "0.1.0"
