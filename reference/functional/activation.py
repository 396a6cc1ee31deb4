"""Torch twins of minicnn.functional.activation (same names and arguments)."""
from __future__ import annotations

import torch.nn.functional as F

relu, leaky_relu, elu, gelu = F.relu, F.leaky_relu, F.elu, F.gelu
sigmoid, tanh, softplus = F.sigmoid, F.tanh, F.softplus
softmax, log_softmax = F.softmax, F.log_softmax
