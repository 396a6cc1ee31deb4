"""gradcheck itself: it passes correct gradients and fails, with a useful report, on wrong ones."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn
from minicnn.gradcheck import GradcheckError
from minicnn.tensor import Function


class _WrongSquare(Function):
    """y = x^2 with a deliberately wrong backward (3x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return g * 3 * self.x


def test_gradcheck_passes_a_correct_gradient():
    x = minicnn.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype="float64", requires_grad=True)
    assert minicnn.gradcheck(lambda t: (t * t).exp(), [x])


def test_gradcheck_reports_the_worst_element_of_a_wrong_backward():
    x = minicnn.tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), dtype="float64", requires_grad=True)
    with pytest.raises(GradcheckError) as err:
        minicnn.gradcheck(_WrongSquare.apply, [x])
    msg = str(err.value)
    assert "input 0 (shape (2, 3))" in msg and "index (" in msg and "analytic" in msg
    assert "6 of 6 elements fail" in msg
    assert minicnn.gradcheck(_WrongSquare.apply, [x], raise_exception=False) is False


def test_gradcheck_refuses_float32():
    x = minicnn.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        minicnn.gradcheck(lambda t: t * 2, [x])
