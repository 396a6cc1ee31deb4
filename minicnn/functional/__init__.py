"""Differentiable ops with torch.nn.functional's names, arguments and defaults."""
from minicnn.functional.activation import relu, sigmoid, tanh  # noqa: F401
from minicnn.functional.activation import (elu, gelu, leaky_relu, log_softmax, softmax,  # noqa: F401
                                           softplus)
from minicnn.functional.norm import batch_norm, group_norm, instance_norm, layer_norm  # noqa: F401
from minicnn.functional.loss import (cross_entropy, gram_matrix, huber_loss, l1_loss, mse_loss,  # noqa: F401
                                     nll_loss, smooth_l1_loss, total_variation)
from minicnn.functional.linear import dropout, linear  # noqa: F401
from minicnn.functional.conv import conv2d, conv_transpose2d  # noqa: F401
from minicnn.functional.pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d,  # noqa: F401
                                     max_pool2d)
from minicnn.functional.pad import pad  # noqa: F401
from minicnn.functional.resize import interpolate, pixel_shuffle, pixel_unshuffle  # noqa: F401
