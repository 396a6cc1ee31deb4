"""Broadcasting arithmetic: add, sub, mul, div, neg, pow, maximum, minimum, where.

Inputs broadcast like NumPy/torch; each backward sums the output gradient back
to its input's shape with ``unbroadcast``. Python numbers may stand on either
side and get no gradient.
"""
from __future__ import annotations

from minicnn import backend
from minicnn.ops._common import as_operand, binary_operands, check_broadcast
from minicnn.tensor import Function, Tensor, unbroadcast


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


class Add(Function):
    """y = a + b;  dL/da = g,  dL/db = g  (each summed to its shape)."""

    def forward(self, a, b):
        self.sa, self.sb = _shape(a), _shape(b)
        return a + b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (unbroadcast(g, self.sa) if na else None, unbroadcast(g, self.sb) if nb else None)


class Sub(Function):
    """y = a - b;  dL/da = g,  dL/db = -g."""

    def forward(self, a, b):
        self.sa, self.sb = _shape(a), _shape(b)
        return a - b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (unbroadcast(g, self.sa) if na else None, unbroadcast(-g, self.sb) if nb else None)


class Mul(Function):
    """y = a * b;  dL/da = g * b,  dL/db = g * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (unbroadcast(g * self.b, _shape(self.a)) if na else None,
                unbroadcast(g * self.a, _shape(self.b)) if nb else None)


class Div(Function):
    """y = a / b;  dL/da = g / b,  dL/db = -g * a / b**2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (unbroadcast(g / self.b, _shape(self.a)) if na else None,
                unbroadcast(-g * self.a / (self.b * self.b), _shape(self.b)) if nb else None)


class Neg(Function):
    """y = -x;  dL/dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Pow(Function):
    """y = a ** b;  dL/da = g * b * a**(b-1),  dL/db = g * y * log(a)  (a > 0)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, g):
        na, nb = self.needs_input_grad
        ga = gb = None
        if na:
            ga = unbroadcast(g * self.b * self.a ** (self.b - 1), _shape(self.a))
        if nb:
            xp = backend.array_module(self.a, self.b)
            # torch defines d(a**b)/db as 0 where a == 0 and b >= 0; mirror that.
            safe = xp.where(self.a == 0, 1, self.a)
            gb = unbroadcast(g * self.y * xp.log(safe), _shape(self.b))
        return ga, gb


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties (as torch)."""

    name = "maximum"
    pick = "greater"

    def forward(self, a, b):
        xp = backend.array_module(a, b)
        self.sa, self.sb = a.shape, b.shape
        wins = getattr(xp, self.pick)(a, b)
        self.wa = wins + 0.5 * (a == b)
        return xp.maximum(a, b) if self.pick == "greater" else xp.minimum(a, b)

    def backward(self, g):
        na, nb = self.needs_input_grad
        wa = self.wa.astype(g.dtype)
        return (unbroadcast(g * wa, self.sa) if na else None,
                unbroadcast(g * (1 - wa), self.sb) if nb else None)


class Minimum(Maximum):
    """y = min(a, b);  the gradient goes to the smaller input, split evenly on ties."""

    name = "minimum"
    pick = "less"


class Where(Function):
    """y = cond ? a : b;  dL/da = g where cond, dL/db = g elsewhere."""

    def forward(self, cond, a, b):
        xp = backend.array_module(cond, a, b)
        self.cond, self.sa, self.sb = cond, _shape(a), _shape(b)
        return xp.where(cond, a, b)

    def backward(self, g):
        _, na, nb = self.needs_input_grad
        return (None,
                unbroadcast(g * self.cond, self.sa) if na else None,
                unbroadcast(g * ~self.cond, self.sb) if nb else None)


def add(a, b):
    a, b = binary_operands("add", a, b)
    return Add.apply(a, b)


def sub(a, b):
    a, b = binary_operands("sub", a, b)
    return Sub.apply(a, b)


def mul(a, b):
    a, b = binary_operands("mul", a, b)
    return Mul.apply(a, b)


def div(a, b):
    a, b = binary_operands("div", a, b)
    return Div.apply(a, b)


def neg(x):
    return Neg.apply(as_operand(x, "neg"))


def pow(a, b):
    a, b = binary_operands("pow", a, b)
    return Pow.apply(a, b)


def _tensor_pair(op, a, b):
    a, b = binary_operands(op, a, b)
    like = a if isinstance(a, Tensor) else b
    xp = backend.array_module(like.data)
    a = a if isinstance(a, Tensor) else Tensor(xp.asarray(a, dtype=like.dtype))
    b = b if isinstance(b, Tensor) else Tensor(xp.asarray(b, dtype=like.dtype))
    return a, b


def maximum(a, b):
    return Maximum.apply(*_tensor_pair("maximum", a, b))


def minimum(a, b):
    return Minimum.apply(*_tensor_pair("minimum", a, b))


def where(condition, input, other):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (torch.where)."""
    cond = as_operand(condition, "where")
    if not isinstance(cond, Tensor):
        raise TypeError("where: condition must be a bool Tensor")
    input, other = as_operand(input, "where"), as_operand(other, "where")
    check_broadcast("where", cond, input, other)
    if cond.dtype != bool:
        cond = Tensor(cond.data != 0)
    return Where.apply(cond, input, other)


__all__ = ["add", "sub", "mul", "div", "neg", "pow", "maximum", "minimum", "where"]
