"""Torch twins of minicnn.ops (the basic Tensor ops), same names and arguments."""
from __future__ import annotations

import torch

add, sub, mul, div, neg, pow = torch.add, torch.sub, torch.mul, torch.div, torch.neg, torch.pow
exp, log, sqrt, abs, tanh, sigmoid, relu = (torch.exp, torch.log, torch.sqrt, torch.abs, torch.tanh,
                                            torch.sigmoid, torch.relu)
maximum, minimum, where, matmul, cat, stack = (torch.maximum, torch.minimum, torch.where, torch.matmul,
                                               torch.cat, torch.stack)


def clamp(x, min=None, max=None):
    return torch.clamp(x, min, max)


def sum(x, dim=None, keepdim=False):
    return x.sum() if dim is None else x.sum(dim=dim, keepdim=keepdim)


def mean(x, dim=None, keepdim=False):
    return x.mean() if dim is None else x.mean(dim=dim, keepdim=keepdim)


def var(x, dim=None, keepdim=False, correction=1):
    return torch.var(x, dim=dim, keepdim=keepdim, correction=correction)


def max(x, dim=None, keepdim=False):
    return x.max() if dim is None else x.max(dim=dim, keepdim=keepdim)


def min(x, dim=None, keepdim=False):
    return x.min() if dim is None else x.min(dim=dim, keepdim=keepdim)


def amax(x, dim=None, keepdim=False):
    return torch.amax(x, dim=() if dim is None else dim, keepdim=keepdim)


def reshape(x, *shape):
    return x.reshape(*shape)


def permute(x, *dims):
    return x.permute(*dims)


def transpose(x, a, b):
    return x.transpose(a, b)


def flatten(x, start_dim=0, end_dim=-1):
    return torch.flatten(x, start_dim, end_dim)


def getitem(x, idx):
    return x[idx]
