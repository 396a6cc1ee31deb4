"""Losses (torch.nn.functional names): mse_loss, l1_loss, smooth_l1_loss, huber_loss, nll_loss,
cross_entropy; and two image helpers the algorithms use: gram_matrix, total_variation.

Reductions follow torch: ``'none'`` keeps one loss per element (per sample for
nll/cross_entropy), ``'sum'`` adds them, ``'mean'`` divides the sum by the number
of terms, or, when class weights (nll_loss) or element weights (mse/l1/huber) are
given, by the sum of the weights that were used. The deprecated ``size_average``
and ``reduce`` arguments keep torch's positions and meaning.
"""
from __future__ import annotations

import warnings

from minicnn import backend
from minicnn.functional.activation import log_softmax
from minicnn.tensor import Function, Tensor, unbroadcast

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op, reduction, size_average=None, reduce=None):
    """The reduction string, from ``reduction`` or torch's deprecated ``size_average``/``reduce``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction "
                         f"(expected 'none', 'mean' or 'sum')")
    return reduction


def _check_tensor(op, name, t, floating=True):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if floating and t.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating-point, got dtype {t.dtype}")


# --- element-wise regression losses ------------------------------------------------------

class _PointwiseLoss(Function):
    """L = reduce(w * f(d)),  d = input - target (broadcast), w optional element weights.

    With dL/dl_i = g (none), g (sum), g / count (mean) or g / sum(w) (weighted mean):
        dL/dinput = dL/dl * w * f'(d),   dL/dtarget = -dL/dinput   (each summed back to its shape)
        dL/dw     = dL/dl * f(d)   [weighted mean: (f(d) - L/g) * g / sum(w)]
    Subclasses give f (``value``) and f' (``slope``). ``mean_over_weights`` False makes the
    weighted 'mean' divide by the element count instead (torch's huber_loss does that).
    """

    mean_over_weights = True

    def forward(self, input, target, weight, reduction, param):
        self.param, self.reduction = param, reduction
        self.in_shape, self.t_shape = input.shape, target.shape
        self.d = input - target
        per = self.value(self.d)
        self.per, self.weight = per, weight
        if weight is not None:
            per = per * weight
        if reduction == "none":
            return per
        total = per.sum()
        if reduction == "sum":
            return total
        self.by_weights = weight is not None and self.mean_over_weights
        self.count = weight.sum() if self.by_weights else per.size
        self.out = total / self.count
        return self.out

    def backward(self, g):
        xp = backend.array_module(g)
        need_in, need_t, need_w = self.needs_input_grad[:3]
        dl = g if self.reduction != "mean" else g / self.count
        if self.reduction != "none":
            dl = xp.broadcast_to(dl, self.d.shape)
        gi = gt = gw = None
        if need_in or need_t:
            gd = dl * self.slope(self.d)
            if self.weight is not None:
                gd = gd * self.weight
            gi = unbroadcast(gd, self.in_shape) if need_in else None
            gt = unbroadcast(-gd, self.t_shape) if need_t else None
        if need_w:
            gw = dl * self.per
            if self.reduction == "mean" and self.by_weights:
                gw = gw - dl * self.out  # d(sum(w f) / sum(w))/dw = (f - L) / sum(w)
        return gi, gt, gw, None, None


class MSE(_PointwiseLoss):
    """f(d) = d^2,  f'(d) = 2 d."""

    def value(self, d):
        return d * d

    def slope(self, d):
        return 2 * d


class L1(_PointwiseLoss):
    """f(d) = |d|,  f'(d) = sign(d)  (0 at d = 0, as torch)."""

    def value(self, d):
        return backend.array_module(d).abs(d)

    def slope(self, d):
        return backend.array_module(d).sign(d)


class SmoothL1(_PointwiseLoss):
    """f(d) = d^2 / (2 beta) where |d| < beta, else |d| - beta/2;  f'(d) = d / beta or sign(d).

    beta = 0 is plain L1. Huber with delta is delta * SmoothL1 with beta = delta (``huber_loss``).
    """

    def value(self, d):
        xp = backend.array_module(d)
        beta, a = self.param, xp.abs(d)
        if beta == 0:
            return a
        return xp.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta)

    def slope(self, d):
        xp = backend.array_module(d)
        beta = self.param
        if beta == 0:
            return xp.sign(d)
        return xp.where(xp.abs(d) < beta, d / beta, xp.sign(d))


class Huber(_PointwiseLoss):
    """f(d) = d^2 / 2 where |d| < delta, else delta (|d| - delta/2);  f'(d) = d or delta sign(d).

    Weighted 'mean' is mean(w * f(d)) over the elements, unlike mse/l1 (as torch).
    """

    mean_over_weights = False

    def value(self, d):
        xp = backend.array_module(d)
        delta, a = self.param, xp.abs(d)
        return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))

    def slope(self, d):
        xp = backend.array_module(d)
        delta = self.param
        return xp.where(xp.abs(d) < delta, d, delta * xp.sign(d))


def _pointwise(fn, op, input, target, reduction, weight=None, param=None):
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    if input.shape != target.shape:
        try:
            backend.numpy_module().broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"{op}: target shape {target.shape} cannot be broadcast to the input shape "
                             f"{input.shape}") from None
        warnings.warn(f"{op}: Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                      f"Please ensure they have the same size.", stacklevel=3)
    if weight is not None:
        _check_tensor(op, "weight", weight)
        if weight.shape != input.shape:
            raise ValueError(f"{op}: Weights and input must have the same size, got weight shape "
                             f"{weight.shape} and input shape {input.shape}")
    return fn.apply(input, target, weight, reduction, param)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(input - target)^2, reduced; with ``weight`` (input's shape) each term is weighted and
    'mean' divides by sum(weight), as torch."""
    red = _reduction("mse_loss", reduction, size_average, reduce)
    return _pointwise(MSE, "mse_loss", input, target, red, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|input - target|, reduced (weighted as in ``mse_loss``)."""
    red = _reduction("l1_loss", reduction, size_average, reduce)
    return _pointwise(L1, "l1_loss", input, target, red, weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic (d^2 / 2beta) for |d| < beta, linear (|d| - beta/2) beyond, reduced."""
    red = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be a non-negative number, got {beta!r}")
    return _pointwise(SmoothL1, "smooth_l1_loss", input, target, red, None, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Quadratic (d^2 / 2) for |d| < delta, linear (delta (|d| - delta/2)) beyond, reduced.

    With ``weight``, 'mean' is the plain mean of the weighted terms (torch's rule for huber_loss).
    """
    red = _reduction("huber_loss", reduction)
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or delta <= 0:
        raise ValueError(f"huber_loss: delta must be a positive number, got {delta!r}")
    return _pointwise(Huber, "huber_loss", input, target, red, weight, float(delta))


# --- classification ------------------------------------------------------------------------

class NLLLoss(Function):
    """l_n = -w[t_n] * x[n, t_n, ...] for every sample (and position), 0 where t_n = ignore_index.

    'mean' divides the sum by sum_n w[t_n] over the samples not ignored (torch's weighted mean;
    NaN when that is 0, and then a zero gradient, as torch). Only the picked entries get a gradient:
        dL/dx[n, c, ...] = -w[t_n] * dL/dl_n  if c = t_n, else 0.
    ``target`` and ``weight`` are constants (no gradient), as in torch.
    """

    def forward(self, input, target, weight, ignore_index, reduction):
        xp = backend.array_module(input)
        valid = target != ignore_index
        self.safe = xp.where(valid, target, 0)
        picked = xp.take_along_axis(input, xp.expand_dims(self.safe, 1), axis=1)[:, 0]
        w = valid.astype(input.dtype)
        if weight is not None:
            w = w * weight.astype(input.dtype, copy=False)[self.safe]
        self.w, self.reduction, self.in_shape = w, reduction, input.shape
        per = -w * picked
        if reduction == "none":
            return per
        if reduction == "sum":
            return per.sum()
        self.total = w.sum()
        if float(self.total) == 0:  # every sample ignored (or zero weight): NaN, as torch, without a warning
            return xp.full((), xp.nan, dtype=input.dtype)
        return per.sum() / self.total

    def backward(self, g):
        xp = backend.array_module(g)
        if not self.needs_input_grad[0]:
            return None, None, None, None, None
        dl = g / self.total if self.reduction == "mean" and float(self.total) != 0 else g
        coef = -self.w * dl                            # (N, *spatial)
        c = self.in_shape[1]
        classes = xp.arange(c).reshape((1, c) + (1,) * (len(self.in_shape) - 2))
        onehot = classes == xp.expand_dims(self.safe, 1)   # (N, C, *spatial)
        return onehot * xp.expand_dims(coef, 1), None, None, None, None


def _check_class_target(op, input, target, weight, ignore_index):
    """torch's nll checks: target shape (N, d1, ...) of ints, weight of C entries, targets in range."""
    _check_tensor(op, "input", input)
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: target must be a Tensor of class indices, got {type(target).__name__}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected target dtype to be an integer type (class indices), "
                        f"but got {target.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{op}: input tensor should be 1D or more, got a 0-d tensor")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"{op}: for a 1-D input of shape {input.shape} the target must be a "
                             f"0-d class index, got shape {target.shape}")
    elif input.ndim == 2:
        if target.ndim != 1:
            raise ValueError(f"{op}: 0D or 1D target tensor expected, multi-target not supported "
                             f"(input {input.shape}, target {target.shape})")
        if target.shape[0] != input.shape[0]:
            raise ValueError(f"{op}: Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}).")
    else:
        want = (input.shape[0],) + input.shape[2:]
        if target.shape != want:
            if target.ndim >= 1 and target.shape[0] != input.shape[0]:
                raise ValueError(f"{op}: Expected input batch_size ({input.shape[0]}) to match target "
                                 f"batch_size ({target.shape[0]}).")
            raise ValueError(f"{op}: Expected target size {list(want)}, got {list(target.shape)}")
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.ndim != 1 or weight.shape[0] != c:
            got = list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
            raise ValueError(f"{op}: weight tensor should be defined either for all {c} classes or no "
                             f"classes but got weight tensor of shape: {got}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")
    xp = backend.array_module(target.data)
    t = target.data
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bool(bad.any()):
        first = int(t.reshape(-1)[xp.argmax(bad.reshape(-1))])
        raise IndexError(f"{op}: Target {first} is out of bounds (expected class indices in "
                         f"[0, {c - 1}] or ignore_index={ignore_index}).")
    return c


def _nll(input, target, weight, ignore_index, reduction):
    """nll on checked arguments; a 1-D input (C,) with a 0-d target is one sample."""
    if input.ndim == 1:
        out = NLLLoss.apply(input.reshape(1, -1), target.data.reshape(1),
                            None if weight is None else weight.data, ignore_index, reduction)
        return out.reshape(()) if reduction == "none" else out
    return NLLLoss.apply(input, target.data, None if weight is None else weight.data,
                         ignore_index, reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class indices ``target`` under log-probabilities ``input``.

    input (N, C) or (N, C, d1, ...) (or (C,) with a 0-d target); target (N) or (N, d1, ...)
    integers in [0, C) or ``ignore_index``. 'mean' is sum(-w[t_n] x[n, t_n]) / sum(w[t_n]).
    """
    op = "nll_loss"
    red = _reduction(op, reduction, size_average, reduce)
    _check_class_target(op, input, target, weight, ignore_index)
    return _nll(input, target, weight, ignore_index, red)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dim (1, or 0 for a 1-D input) followed by nll_loss.

    Class-index targets (integers, shaped as for nll_loss): with label smoothing e,
    loss = (1 - e) * nll + (e / C) * s, where s_n = -sum_c w_c log p[n, c] (0 for
    ignored samples), reduced like nll (its 'mean' divides by sum w[t_n] over the
    samples kept), exactly torch's formula.
    Class-probability targets (floating, the input's shape): the target becomes
    (1 - e) * target + e / C, loss_n = -sum_c w_c target[n, c] log p[n, c]; 'mean'
    divides by the number of samples N*d1*... (not by the weights), as torch.
    """
    op = "cross_entropy"
    red = _reduction(op, reduction, size_average, reduce)
    _check_tensor(op, "input", input)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 0:
        raise ValueError(f"{op}: input tensor should be 1D or more, got a 0-d tensor")
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    if isinstance(target, Tensor) and target.dtype.kind == "f":
        return _cross_entropy_probs(op, input, target, weight, ignore_index, red, label_smoothing,
                                    class_dim, c)
    _check_class_target(op, input, target, weight, ignore_index)
    logp = log_softmax(input, class_dim)
    loss = _nll(logp, target, weight, ignore_index, red)
    if label_smoothing == 0:
        return loss
    wb = None if weight is None else weight.detach().reshape(
        (c,) + (1,) * (input.ndim - 1 - class_dim))
    smooth = -((logp if wb is None else logp * wb).sum(class_dim))
    valid = backend.array_like(target.data != ignore_index, input.data)  # 0-d compares give scalars
    smooth = smooth * Tensor(valid.astype(input.dtype))
    if red == "sum":
        smooth = smooth.sum()
    elif red == "mean":
        xp = backend.array_module(valid)
        if weight is None:
            denom = valid.sum()
        else:
            denom = (weight.data[xp.where(valid, target.data, 0)] * valid).sum()
        if float(denom) == 0:  # every sample ignored: the nll part is already NaN; zero gradients, as torch
            return loss * (1 - label_smoothing) + smooth.sum() * 0.0
        smooth = smooth.sum() / Tensor(backend.array_like(denom, input.data, input.dtype))
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / c)


def _cross_entropy_probs(op, input, target, weight, ignore_index, red, eps, class_dim, c):
    if target.shape != input.shape:
        raise ValueError(f"{op}: a floating target holds class probabilities and must have the input's "
                         f"shape {input.shape}, got {target.shape}")
    if ignore_index != -100:
        raise ValueError(f"{op}: ignore_index is not supported for floating point target")
    if weight is not None and (not isinstance(weight, Tensor) or weight.shape != (c,)):
        got = list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"{op}: weight tensor should be defined either for all {c} classes or no "
                         f"classes but got weight tensor of shape: {got}")
    logp = log_softmax(input, class_dim)
    if eps > 0:
        target = target * (1 - eps) + eps / c
    terms = logp * target
    if weight is not None:
        terms = terms * weight.detach().reshape((c,) + (1,) * (input.ndim - 1 - class_dim))
    if red == "none":
        return -terms.sum(class_dim)
    if red == "sum":
        return -terms.sum()
    return -terms.sum() / (input.numel() // c)


# --- image helpers used by the algorithms --------------------------------------------------

class GramMatrix(Function):
    """G = s * F F^T per sample, F = input reshaped to (N, C, H*W), s = 1/(C*H*W) or 1.

    dL/dF = s * (Gg + Gg^T) F   (Gg = dL/dG; G is symmetric in F, so both slots contribute).
    """

    def forward(self, x, scale):
        n, c = x.shape[:2]
        self.f, self.scale, self.shape = x.reshape(n, c, -1), scale, x.shape
        xp = backend.array_module(x)
        return (self.f @ xp.swapaxes(self.f, 1, 2)) * scale

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None
        xp = backend.array_module(g)
        return (((g + xp.swapaxes(g, 1, 2)) @ self.f) * self.scale).reshape(self.shape), None


def gram_matrix(input, normalize=True):
    """Gram matrices of an (N, C, H, W) feature map: (N, C, C), G[n, i, j] = sum_p F[n, i, p] F[n, j, p].

    With ``normalize`` (the default) G is divided by C*H*W, the number of elements of one
    sample's feature map, so G is the mean (over positions, further scaled by 1/C) of the
    feature outer products. That keeps style losses of layers with different channel counts
    and of images of different sizes in comparable ranges, so one set of style weights works
    across layers and resolutions; it is the normalisation used by the common PyTorch ports
    of Gatys et al. (e.g. the PyTorch neural-style tutorial's ``gram_matrix``, divided by
    a*b*c*d there with batch size a = 1). ``normalize=False`` gives the raw F F^T of the paper.
    """
    op = "gram_matrix"
    _check_tensor(op, "input", input)
    if input.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D (N, C, H, W) input, got shape {input.shape}")
    n, c, h, w = input.shape
    scale = 1.0 / (c * h * w) if normalize and c * h * w else 1.0
    return GramMatrix.apply(input, scale)


class TotalVariation(Function):
    """TV = a * sum |dv|^p + b * sum |dh|^p,  dv = x[..., 1:, :] - x[..., :-1, :],
    dh = x[..., :, 1:] - x[..., :, :-1]  (a = b = 1 for 'sum'; 1/#dv and 1/#dh for 'mean').

    p = 2: dTV/d(dv) = 2 a dv;  p = 1: a sign(dv). Each difference sends +grad to its
    later pixel and -grad to its earlier one (the same for dh).
    """

    def forward(self, x, p, reduction):
        xp = backend.array_module(x)
        self.dv = x[..., 1:, :] - x[..., :-1, :]
        self.dh = x[..., :, 1:] - x[..., :, :-1]
        self.p, self.shape = p, x.shape
        self.a = 1.0 / self.dv.size if reduction == "mean" and self.dv.size else 1.0
        self.b = 1.0 / self.dh.size if reduction == "mean" and self.dh.size else 1.0
        if p == 2:
            tv = self.a * (self.dv * self.dv).sum() + self.b * (self.dh * self.dh).sum()
        else:
            tv = self.a * xp.abs(self.dv).sum() + self.b * xp.abs(self.dh).sum()
        return backend.array_like(tv, x, x.dtype)

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None, None
        xp = backend.array_module(g)
        if self.p == 2:
            gv, gh = (2 * self.a) * g * self.dv, (2 * self.b) * g * self.dh
        else:
            gv, gh = (self.a * g) * xp.sign(self.dv), (self.b * g) * xp.sign(self.dh)
        gx = xp.zeros(self.shape, dtype=gv.dtype)
        gx[..., 1:, :] += gv
        gx[..., :-1, :] -= gv
        gx[..., :, 1:] += gh
        gx[..., :, :-1] -= gh
        return gx, None, None


def total_variation(input, reduction="sum", p=2):
    """Total variation of images (..., H, W): differences of vertically and horizontally
    neighbouring pixels, over every leading dim (batch, channels).

    p=2 (default): sum of squared differences,  sum (x[i+1, j] - x[i, j])^2 + sum (x[i, j+1] - x[i, j])^2.
    p=1: the anisotropic L1 variant, the same with absolute values.
    reduction='sum' (default) returns the sums above; 'mean' divides the vertical sum by the
    number of vertical differences and the horizontal sum by the number of horizontal ones
    and adds the two means (a direction with no differences, H or W = 1, contributes 0).
    The result is a 0-d tensor of the input's dtype.
    """
    op = "total_variation"
    _check_tensor(op, "input", input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input with at least 2 dims (..., H, W), got shape {input.shape}")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction (expected 'sum' or 'mean')")
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{op}: p must be 1 or 2, got {p!r}")
    return TotalVariation.apply(input, p, reduction)

