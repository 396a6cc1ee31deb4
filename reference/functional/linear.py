"""Torch twins of minicnn.functional.linear (same names and arguments).

dropout draws its mask from torch's generator, so only its statistics match minicnn's.
"""
from __future__ import annotations

import torch.nn.functional as F

linear, dropout = F.linear, F.dropout
