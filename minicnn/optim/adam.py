"""Adam and AdamW (= torch.optim.Adam / torch.optim.AdamW, same update order).

For each parameter p with gradient g, step t = 1, 2, ... does::

    g <- -g                                  if maximize
    p <- p * (1 - lr * lambda)               AdamW (decoupled weight decay)
    g <- g + lambda * p                      Adam with weight_decay = lambda (L2 penalty)
    m <- m + (1 - beta1) * (g - m)           first moment  (torch's lerp)
    v <- beta2 * v + (1 - beta2) * g * g     second moment
    vmax <- max(vmax, v); use vmax for v     if amsgrad
    denom = sqrt(v) / sqrt(1 - beta2**t) + eps
    p <- p - lr / (1 - beta1**t) * m / denom

``eps`` is added *after* the bias-corrected square root, exactly as torch does,
so float64 trajectories agree with torch to rounding.
"""
from __future__ import annotations

import numbers

from minicnn import backend
from minicnn.optim.optimizer import Optimizer
from minicnn.tensor import no_grad

__all__ = ["Adam", "AdamW"]


def _lerp_(start, end, weight):
    """``start += weight * (end - start)`` in place, in the two forms torch's lerp uses."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
    return start


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False)``; ``decoupled_weight_decay=True`` gives AdamW."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2 or \
                not all(isinstance(b, numbers.Real) for b in betas):
            raise ValueError(f"betas must be a pair of floats, got {betas!r}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Adam update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, group)
        return loss

    def _update(self, p, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad = group["weight_decay"], group["amsgrad"]
        g = p.grad.data
        xp = backend.array_module(p.data, g, op=f"{type(self).__name__}.step")
        state = self.state.setdefault(p, {})
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if amsgrad:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if group["maximize"]:
            g = -g
        state["step"] += 1
        t = float(state["step"])
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                g = g + wd * p.data
        _lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * (g * g)
        bias_correction1 = 1 - beta1 ** t
        bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
        step_size = lr / bias_correction1
        if amsgrad:
            vmax = state["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            denom = xp.sqrt(vmax) / bias_correction2_sqrt + eps
        else:
            denom = xp.sqrt(v) / bias_correction2_sqrt + eps
        p.data += -step_size * (m / denom)


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
    maximize=False)``: Adam with the weight decay applied to the parameters, not the gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for g in self.param_groups:
            g["decoupled_weight_decay"] = True
