"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (= torch.optim.SGD).

For each parameter p with gradient g, one step does (mu = momentum,
tau = dampening, lambda = weight_decay)::

    g <- -g                               if maximize
    g <- g + lambda * p                   if lambda != 0      (L2 penalty)
    b <- g                                on the first step   (no dampening then)
    b <- mu * b + (1 - tau) * g           afterwards          if mu != 0
    g <- g + mu * b  (nesterov)  or  g <- b                   if mu != 0
    p <- p - lr * g
"""
from __future__ import annotations

from minicnn import backend
from minicnn.optim.optimizer import Optimizer
from minicnn.tensor import no_grad

__all__ = ["SGD"]


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)``."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss or None."""
        loss = self._evaluate(closure)
        with no_grad():
            for group in self.param_groups:
                lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
                wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.data
                    backend.array_module(p.data, g, op="SGD.step")
                    if maximize:
                        g = -g
                    if wd != 0:
                        g = g + wd * p.data
                    if mu != 0:
                        state = self.state.setdefault(p, {})
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = state["momentum_buffer"] = g.copy()
                        else:
                            buf *= mu
                            buf += (1 - tau) * g
                        g = g + mu * buf if nesterov else buf
                    p.data += -lr * g
        return loss
