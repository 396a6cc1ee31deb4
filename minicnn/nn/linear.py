"""Linear (fully connected) layer and Identity."""
from __future__ import annotations

import math

from minicnn import functional as F
from minicnn.nn import init
from minicnn.nn._utils import check_positive_ints, new_parameter
from minicnn.nn.module import Module

__all__ = ["Linear", "Identity"]


class Linear(Module):
    """y = x @ weight.T + bias;  ``weight``: (out_features, in_features), torch's init."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        check_positive_ints("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = new_parameter((out_features, in_features), device=device, dtype=dtype)
        if bias:
            self.bias = new_parameter((out_features,), device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        if not init.init_skipped():
            self.reset_parameters()

    def reset_parameters(self):
        """weight ~ kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(in_features)); bias ~ U(+-1/sqrt(in_features))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored, as in torch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input
