"""Torch twins of minicnn.functional.norm (same names and arguments)."""
from __future__ import annotations

import torch.nn.functional as F

batch_norm, instance_norm, layer_norm, group_norm = F.batch_norm, F.instance_norm, F.layer_norm, F.group_norm
