"""Bad arguments raise clear errors naming the op, the argument and the values."""
from __future__ import annotations

import pytest

import minicnn


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum"])
def test_broadcast_mismatch_names_op_and_both_shapes(op):
    a, b = minicnn.ones(2, 3), minicnn.ones(4)
    with pytest.raises(ValueError, match=rf"{op}: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        getattr(minicnn, op)(a, b)


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\).*3 != 4"):
        minicnn.ones(2, 3) @ minicnn.ones(4, 5)
    with pytest.raises(ValueError, match="at least 1 dim"):
        minicnn.matmul(minicnn.tensor(1.0), minicnn.ones(2))


def test_reshape_cat_stack_and_dim_errors():
    x = minicnn.ones(2, 3)
    with pytest.raises(ValueError, match=r"reshape: shape \[4, 2\] is invalid for input of size 6"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="cat: sizes of tensors must match except in dimension 0"):
        minicnn.cat([x, minicnn.ones(2, 4)], 0)
    with pytest.raises(ValueError, match=r"stack: expects each tensor to be equal size.*\(2, 4\)"):
        minicnn.stack([x, minicnn.ones(2, 4)])
    with pytest.raises(IndexError, match=r"sum: dim 2 is out of range.*2 dims"):
        x.sum(dim=2)
    with pytest.raises(IndexError, match=r"getitem: .*shape \(2, 3\)"):
        x[5]
    with pytest.raises(TypeError, match="add: expected a Tensor or a number, got str"):
        x + "a"
    with pytest.raises(ValueError, match="clamp: at least one"):
        x.clamp()
