"""Central-difference gradient checking in float64.

``gradcheck(fn, inputs)`` compares the gradients autodiff computes for a random
projection of ``fn``'s output, ``L = sum(fn(*inputs) * v)``, with the numerical
derivative ``(L(x + eps) - L(x - eps)) / (2 eps)`` taken one element at a time.
On failure it raises ``GradcheckError`` naming the input, the worst element,
both values and the error.
"""
from __future__ import annotations

from minicnn import backend
from minicnn.tensor import Tensor, no_grad

__all__ = ["gradcheck", "GradcheckError", "numerical_grad"]


class GradcheckError(AssertionError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _projected(fn, inputs, weights):
    total = 0.0
    for o, w in zip(_outputs(fn, inputs), weights):
        total += float((o.data * w).sum())
    return total


def numerical_grad(fn, inputs, weights, index, eps):
    """d/dx of sum(fn(...) * weights) for ``inputs[index]``, by central differences."""
    x = inputs[index].data
    flat = x.reshape(-1)
    grad = backend.array_module(x).zeros(x.size, dtype=x.dtype)
    with no_grad():
        for k in range(flat.size):
            orig = float(flat[k])
            flat[k] = orig + eps
            plus = _projected(fn, inputs, weights)
            flat[k] = orig - eps
            minus = _projected(fn, inputs, weights)
            flat[k] = orig
            grad[k] = (plus - minus) / (2 * eps)
    return grad.reshape(x.shape)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0, raise_exception=True):
    """Check autodiff gradients of ``fn`` at ``inputs`` (float64 Tensors) against finite differences.

    Returns True on success. On failure raises GradcheckError (or returns False
    when ``raise_exception`` is False) with the worst element's position and values.
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != backend.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {t.dtype}; gradcheck needs float64")
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    rng = backend.numpy_module().random.default_rng(seed)
    outs = _outputs(fn, inputs)
    if not outs:
        raise ValueError("gradcheck: fn returned no floating-point Tensor")
    xp = backend.array_module(outs[0].data)
    weights = [xp.asarray(rng.standard_normal(o.shape)) for o in outs]
    for t in checked:
        inputs[t].grad = None
    loss = None
    for o, w in zip(outs, weights):
        if o.requires_grad:
            term = (o * Tensor(w)).sum()
            loss = term if loss is None else loss + term
    if loss is None:
        raise GradcheckError("gradcheck: the output does not depend on any input that requires grad")
    loss.backward()
    for i in checked:
        t = inputs[i]
        analytic = t.grad.data if t.grad is not None else xp.zeros_like(t.data)
        numeric = numerical_grad(fn, inputs, weights, i, eps)
        err = xp.abs(analytic - numeric)
        bound = atol + rtol * xp.abs(numeric)
        if bool((err > bound).any()):
            worst = int((err - bound).argmax())
            pos = tuple(int(p) for p in backend.numpy_module().unravel_index(worst, t.shape))
            msg = (f"gradcheck: gradient of input {i} (shape {t.shape}) is wrong at index {pos}: "
                   f"analytic {float(analytic.reshape(-1)[worst]):.10g}, numerical "
                   f"{float(numeric.reshape(-1)[worst]):.10g}, |diff| {float(err.reshape(-1)[worst]):.3g} "
                   f"> atol + rtol*|numerical| = {float(bound.reshape(-1)[worst]):.3g}; "
                   f"{int((err > bound).sum())} of {t.numel()} elements fail")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
