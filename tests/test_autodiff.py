"""The autodiff engine: graph recording, accumulation, no_grad, detach, deep graphs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn
from minicnn.tensor import Function
from tests.harness import assert_close


def test_deep_chain_of_10000_ops_backward():
    x = minicnn.tensor(1.0, requires_grad=True, dtype="float64")
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    # d/dx of 1.0001**10000 * x
    assert abs(x.grad.item() - 1.0001 ** 10_000) < 1e-9 * 1.0001 ** 10_000


def test_tensor_used_twice_accumulates_and_matches_torch():
    a = np.random.default_rng(0).standard_normal((3, 4))
    m = minicnn.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    for x, lib in ((m, minicnn), (t, torch)):
        y = x * x + x.exp() * x  # x appears four times
        z = (y.sum(dim=0) * y.mean(dim=1).sum()).sum()
        z.backward()
    assert_close(m.grad, t.grad, np.float64, "accumulated gradient")


def test_grad_accumulates_across_backward_calls():
    x = minicnn.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 4).sum().backward()
    assert np.allclose(x.grad.numpy(), [7.0, 7.0])


def test_requires_grad_propagates_and_leaves_without_grad_get_none():
    a = minicnn.tensor([1.0, 2.0], requires_grad=True)
    b = minicnn.tensor([3.0, 4.0])
    c = a * b
    assert c.requires_grad and not c.is_leaf and c.grad_fn is not None
    assert not (b * b).requires_grad
    c.sum().backward()
    assert b.grad is None
    assert np.allclose(a.grad.numpy(), [3.0, 4.0])


class _Spy(Function):
    """Multiply, recording which input gradients backward was asked for."""
    calls = []

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        na, nb = self.needs_input_grad
        _Spy.calls.append((na, nb))
        return (g * self.b if na else None), (g * self.a if nb else None)


def test_backward_is_told_which_inputs_need_gradients():
    _Spy.calls.clear()
    w = minicnn.tensor([1.0, 2.0])               # like frozen VGG weights
    x = minicnn.tensor([3.0, 4.0], requires_grad=True)
    _Spy.apply(w, x).sum().backward()
    assert _Spy.calls == [(False, True)]
    assert w.grad is None and np.allclose(x.grad.numpy(), [1.0, 2.0])


def test_no_grad_records_nothing_and_restores_state():
    x = minicnn.tensor([1.0], requires_grad=True)
    with minicnn.no_grad():
        y = x * 2
        assert not minicnn.is_grad_enabled()
    assert minicnn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @minicnn.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad


def test_detach_cuts_the_graph():
    x = minicnn.tensor([2.0], requires_grad=True)
    y = x * x
    z = y.detach() * x          # only the second factor carries gradient
    z.backward(minicnn.tensor([1.0]))
    assert x.grad.item() == pytest.approx(4.0)
    assert not y.detach().requires_grad


def test_graph_is_freed_unless_retained():
    x = minicnn.tensor([1.5], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(6.0)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_needs_scalar_or_gradient_of_right_shape():
    x = minicnn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"gradient shape \(3,\)"):
        (x * 2).backward(minicnn.tensor([1.0, 1.0, 1.0]))
    with pytest.raises(RuntimeError, match="does not require grad"):
        minicnn.tensor([1.0]).backward()


def test_retain_grad_keeps_non_leaf_gradient():
    x = minicnn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).retain_grad()
    (y * y).sum().backward()
    assert np.allclose(y.grad.numpy(), [6.0, 12.0])


def test_dtypes_default_float32_and_float64_on_request():
    assert minicnn.tensor([1.0]).dtype == np.float32
    assert minicnn.tensor([1.0], dtype="float64").dtype == np.float64
    assert minicnn.tensor([1, 2]).dtype.kind == "i"
    with minicnn.default_dtype("float64"):
        assert minicnn.tensor([1.0]).dtype == np.float64
        assert minicnn.randn(2).dtype == np.float64
    assert minicnn.zeros(2).dtype == np.float32
    x = minicnn.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 2
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and np.allclose(x.grad.numpy(), 2.0)
    with pytest.raises(TypeError, match="floating"):
        minicnn.tensor([1, 2], requires_grad=True)


def test_scalars_on_either_side_keep_the_tensor_dtype():
    x = minicnn.tensor([1.0, 2.0])
    for y in (x + 1.5, 1.5 + x, 2 * x, x / 3, 3 / x, 1 - x, x ** 2, 2 ** x):
        assert y.dtype == np.float32
    assert np.allclose((2 ** x).numpy(), [2.0, 4.0])
    assert np.allclose((3 / x).numpy(), [3.0, 1.5])


def test_comparisons_give_bool_tensors():
    x = minicnn.tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x == x).tolist() == [True, True, True]
    assert (x <= 2).dtype == bool
