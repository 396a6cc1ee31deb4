"""The basic differentiable ops behind Tensor's methods and operators.

Grouped by theme: arithmetic (broadcasting + - * / ** max min where),
elementwise (exp log sqrt abs clamp), reduce (sum mean var max ...),
shape (reshape permute getitem cat stack ...), linalg (matmul),
convert (backend moves and casts). Activations live in minicnn.functional.
"""
from minicnn.ops.arithmetic import add, div, maximum, minimum, mul, neg, pow, sub, where
from minicnn.ops.convert import Cast, Clone, ToBackend, compare
from minicnn.ops.elementwise import abs, clamp, clip, exp, log, sqrt
from minicnn.ops.linalg import matmul
from minicnn.ops.reduce import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from minicnn.ops.shape import (cat, concatenate, expand, flatten, getitem, permute, reshape,
                               squeeze, stack, transpose, unsqueeze, unwrap_index, view)
from minicnn.functional.activation import relu, sigmoid, tanh

__all__ = ["add", "sub", "mul", "div", "neg", "pow", "maximum", "minimum", "where",
           "exp", "log", "sqrt", "abs", "clamp", "clip", "matmul",
           "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin",
           "reshape", "view", "permute", "transpose", "flatten", "unsqueeze", "squeeze",
           "expand", "getitem", "cat", "concatenate", "stack", "relu", "sigmoid", "tanh",
           "Cast", "Clone", "ToBackend", "compare", "unwrap_index"]
