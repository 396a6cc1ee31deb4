"""``minicnn.nn.functional`` is ``minicnn.functional`` (as torch.nn.functional), so
``import minicnn.nn.functional as F`` works like its torch counterpart."""
import sys

from minicnn import functional as _functional

sys.modules[__name__] = _functional
