"""A first look at minicnn: fit a tiny two-layer network to a sine curve by gradient descent."""
from __future__ import annotations

import math

import minicnn


def fit_sine(steps=500, hidden=32, lr=0.03, seed=0, log=print):
    """Fit y = sin(x) on [-pi, pi]; returns (first loss, last loss)."""
    minicnn.manual_seed(seed)
    x = minicnn.arange(-64, 64).reshape(-1, 1).float() * (math.pi / 64)
    y = minicnn.tensor(minicnn.backend.numpy_module().sin(x.numpy()))
    w1 = (minicnn.randn(1, hidden) * 1.0).requires_grad_()
    b1 = minicnn.zeros(hidden, requires_grad=True)
    w2 = (minicnn.randn(hidden, 1) * (1 / hidden ** 0.5)).requires_grad_()
    params = [w1, b1, w2]
    first = last = None
    for step in range(steps):
        pred = (x @ w1 + b1).tanh() @ w2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with minicnn.no_grad():
            for p in params:
                p.data -= lr * p.grad.data
        first = loss.item() if first is None else first
        last = loss.item()
        if step % 100 == 0 or step == steps - 1:
            log(f"step {step:4d}  mse {last:.5f}")
    return first, last
