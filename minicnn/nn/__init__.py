"""Layers and models as objects, mirroring torch.nn.

``Module`` (module.py) holds parameters, buffers and sub-modules and gives
``parameters()``, ``state_dict()``, ``to()``, ``train()/eval()``. The layers are
thin Modules that own their weights and call ``minicnn.functional`` in
``forward``; they take torch.nn's constructor arguments, keep torch's attribute
names and use torch's default initialisation (drawn from ``minicnn.manual_seed``'s
generator). ``minicnn.nn.init`` has the initialisers, ``minicnn.nn.functional``
is ``minicnn.functional``.
"""
from minicnn.nn import functional  # noqa: F401  (= minicnn.functional, as torch.nn.functional)
from minicnn.nn import init  # noqa: F401
from minicnn.nn.module import (IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter, Sequential,
                               StateDictError)
from minicnn.nn.activation import (ELU, GELU, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax,
                                   Softplus, Tanh)
from minicnn.nn.conv import Conv2d, ConvTranspose2d
from minicnn.nn.linear import Identity, Linear
from minicnn.nn.loss import CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from minicnn.nn.misc import Dropout, Dropout2d, Flatten, Unflatten
from minicnn.nn.norm import BatchNorm2d, InstanceNorm2d
from minicnn.nn.pad import ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d
from minicnn.nn.pool import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from minicnn.nn.resize import (PixelShuffle, PixelUnshuffle, Upsample, UpsamplingBilinear2d,
                               UpsamplingNearest2d)

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "StateDictError",
           "IncompatibleKeys", "init", "functional",
           "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
           "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "ELU", "GELU", "SiLU", "Softplus",
           "BatchNorm2d", "InstanceNorm2d", "Linear", "Identity", "Flatten", "Unflatten", "Dropout",
           "Dropout2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle",
           "PixelUnshuffle", "ReflectionPad2d", "ReplicationPad2d", "ZeroPad2d", "ConstantPad2d",
           "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "NLLLoss", "CrossEntropyLoss"]
