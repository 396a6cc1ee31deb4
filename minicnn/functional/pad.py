"""pad (torch.nn.functional.pad): constant, reflect, replicate and circular padding.

``pad`` lists (before, after) amounts starting from the LAST dimension, as torch:
``(left, right, top, bottom)`` pads W by left/right and H by top/bottom.

* constant: any number of dims; negative amounts crop.
* reflect / replicate / circular: the last 1, 2 or 3 dims of a tensor with one or two
  more dims (torch's rule). Each padded axis is handled on its own, one after the
  other; every mode is a copy of slices of the input, so its backward adds the
  gradient of every copied slice back onto its source slice. Negative amounts crop
  as torch does: reflect and replicate pad the positive sides first and then crop
  (reflection happens about the original edges), circular crops first and then
  wraps the cropped tensor.
"""
from __future__ import annotations

from minicnn import backend
from minicnn.functional.pool import _as_int, _check_tensor
from minicnn.tensor import Function

__all__ = ["pad"]

MODES = ("constant", "reflect", "replicate", "circular")


def _axis_slice(axis, sl):
    """Index that applies slice ``sl`` to axis ``axis`` (non-negative) and keeps the others whole."""
    return (slice(None),) * axis + (sl,)


class ConstantPad(Function):
    """y = value everywhere, with x copied into the window ``dst`` (crop ``src`` for negative pads).

    dL/dx = g[dst] placed at ``src`` of a zero array (cropped-away elements get 0).
    """

    def forward(self, x, pairs, value):
        xp = backend.array_module(x)
        self.in_shape = x.shape
        lead = x.ndim - len(pairs)
        out_shape = list(x.shape)
        src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for i, (lo, hi) in enumerate(pairs):
            ax = lead + i
            n = x.shape[ax]
            out_shape[ax] = n + lo + hi
            # output position j holds input i = j - lo when 0 <= i < n (a crop may eat padding too)
            a, b = max(0, -lo), max(max(0, -lo), min(n, n + hi))
            src[ax], dst[ax] = slice(a, b), slice(a + lo, b + lo)
        self.src, self.dst = tuple(src), tuple(dst)
        y = xp.full(tuple(out_shape), value, dtype=x.dtype)
        y[self.dst] = x[self.src]
        return y

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None, None
        xp = backend.array_module(g)
        gx = xp.zeros(self.in_shape, dtype=g.dtype)
        gx[self.src] = g[self.dst]
        return gx, None, None


def _rev(a, b):
    """The slice that reads positions a, ..., b-1 in reverse order."""
    return slice(b - 1, a - 1 if a > 0 else None, -1)


def _pad_axis(xp, x, ax, lo, hi, mode):
    """Pad one axis by non-negative (lo, hi): reflect, replicate or circular."""
    n = x.shape[ax]
    if lo == 0 and hi == 0:
        return x
    def take(sl):
        return x[_axis_slice(ax, sl)]
    if mode == "reflect":  # x[lo], ..., x[1] | x | x[n-2], ..., x[n-1-hi]
        left, right = take(_rev(1, lo + 1)), take(_rev(n - 1 - hi, n - 1))
    elif mode == "replicate":  # x[0] lo times | x | x[n-1] hi times
        shape_l, shape_r = list(x.shape), list(x.shape)
        shape_l[ax], shape_r[ax] = lo, hi
        left = xp.broadcast_to(take(slice(0, 1)), tuple(shape_l))
        right = xp.broadcast_to(take(slice(n - 1, n)), tuple(shape_r))
    else:  # circular: x[n-lo:] | x | x[:hi]
        left, right = take(slice(n - lo, n)), take(slice(0, hi))
    return xp.concatenate([left, x, right], axis=ax)


def _unpad_axis(g, ax, lo, hi, n, mode):
    """Gradient of ``_pad_axis``: the centre plus every copied strip added back to its source."""
    if lo == 0 and hi == 0:
        return g
    def part(sl):
        return g[_axis_slice(ax, sl)]
    gx = part(slice(lo, lo + n)).copy()
    def add(a, b, value):
        gx[_axis_slice(ax, slice(a, b))] += value
    left, right = slice(0, lo), slice(lo + n, lo + n + hi)
    if mode == "reflect":
        if lo:
            add(1, lo + 1, part(_rev(0, lo)))
        if hi:
            add(n - 1 - hi, n - 1, part(_rev(lo + n, lo + n + hi)))
    elif mode == "replicate":
        if lo:
            add(0, 1, part(left).sum(axis=ax, keepdims=True))
        if hi:
            add(n - 1, n, part(right).sum(axis=ax, keepdims=True))
    else:  # circular
        if lo:
            add(n - lo, n, part(left))
        if hi:
            add(0, hi, part(right))
    return gx


def _crop_slices(shape, lead, pairs):
    return tuple(slice(None) if i < lead else
                 slice(max(-pairs[i - lead][0], 0), shape[i] - max(-pairs[i - lead][1], 0))
                 for i in range(len(shape)))


class BorderPad(Function):
    """Reflect / replicate / circular padding, one axis at a time (see the module docstring).

    Each axis's output is a concatenation of slices of its input (reflected,
    repeated or wrapped), so dL/dx for that axis = the centre slice of g plus the
    border strips of g added (flipped back for reflect, summed for replicate)
    onto the input slices they were copied from; axes are undone in reverse order.
    """

    def forward(self, x, pairs, mode):
        xp = backend.array_module(x)
        self.in_shape, self.pairs, self.mode = x.shape, pairs, mode
        lead = x.ndim - len(pairs)
        self.lead = lead
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
        if mode == "circular":
            x = x[_crop_slices(x.shape, lead, pairs)]
        self.mid_shape = x.shape  # the shape the positive padding starts from
        for i, (lo, hi) in enumerate(pos):
            x = _pad_axis(xp, x, lead + i, lo, hi, mode)
        if mode != "circular":
            self.padded_shape = x.shape
            x = x[_crop_slices(x.shape, lead, pairs)]
        return xp.ascontiguousarray(x)

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None, None
        xp = backend.array_module(g)
        lead, pairs, mode = self.lead, self.pairs, self.mode
        if mode != "circular":  # undo the final crop
            full = xp.zeros(self.padded_shape, dtype=g.dtype)
            full[_crop_slices(self.padded_shape, lead, pairs)] = g
            g = full
        for i in reversed(range(len(pairs))):
            lo, hi = max(pairs[i][0], 0), max(pairs[i][1], 0)
            ax = lead + i
            g = _unpad_axis(g, ax, lo, hi, self.mid_shape[ax], mode)
        if mode == "circular":  # undo the first crop
            gx = xp.zeros(self.in_shape, dtype=g.dtype)
            gx[_crop_slices(self.in_shape, lead, pairs)] = g
            g = gx
        return g, None, None


def pad(input, pad, mode="constant", value=None):
    """Pad ``input`` by ``pad`` = (last-dim before, last-dim after, 2nd-last before, ...), as torch.

    ``mode``: 'constant' (fill with ``value``, default 0; negative amounts crop), 'reflect'
    (mirror without repeating the edge; each amount < that dim's size), 'replicate' (repeat
    the edge) or 'circular' (wrap around; each amount <= that dim's size).
    """
    op = "pad"
    _check_tensor(input, op)
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"{op}: pad must be a tuple of ints, got {type(pad).__name__} {pad!r}")
    amounts = [_as_int(v, op, "pad") for v in pad]
    if len(amounts) % 2:
        raise ValueError(f"{op}: Padding length must be divisible by 2, got pad={tuple(pad)}")
    if len(amounts) // 2 > input.ndim:
        raise ValueError(f"{op}: Padding length should be less than or equal to two times the input "
                         f"dimension but got padding length {len(amounts)} and input of dimension "
                         f"{input.ndim}")
    if mode not in MODES:
        raise ValueError(f"{op}: Unrecognised padding mode {mode!r}; expected one of {MODES}")
    k = len(amounts) // 2
    # pairs ordered from the first padded dim to the last one
    pairs = tuple((amounts[2 * i], amounts[2 * i + 1]) for i in reversed(range(k)))
    lead = input.ndim - k
    if mode == "constant":
        for i, (lo, hi) in enumerate(pairs):
            n = input.shape[lead + i]
            if n + min(lo, 0) + min(hi, 0) < 0:  # torch crops the input first (narrow)
                raise ValueError(f"{op}: narrow(): length must be non-negative: padding {(lo, hi)} crops "
                                 f"{-min(lo, 0) - min(hi, 0)} elements from dimension {lead + i} (size {n}) "
                                 f"of input {input.shape}")
        value = 0.0 if value is None else float(value)
        return ConstantPad.apply(input, pairs, value)
    if value is not None and value != 0:
        raise ValueError(f'{op}: Padding mode "{mode}" doesn\'t take in value argument, got value={value}')
    if k == 0 or k > 3 or input.ndim not in (k + 1, k + 2):
        raise ValueError(f"{op}: Padding size {len(amounts)} is not supported for {input.ndim}D input "
                         f"tensor in mode {mode!r} (a {len(amounts)}-element pad needs a {k + 1}D or "
                         f"{k + 2}D input)")
    if any(s == 0 for s in input.shape[-k - 1:]):
        raise ValueError(f"{op}: mode {mode!r} expects non-zero sizes except the batch dimension, got "
                         f"input of shape {input.shape}")
    for i, (lo, hi) in enumerate(pairs):
        ax = lead + i
        n = input.shape[ax]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"{op}: Padding size should be less than the corresponding input dimension, "
                             f"but got: padding ({lo}, {hi}) at dimension {ax} of input {input.shape}")
        m = n - max(-lo, 0) - max(-hi, 0)
        if mode == "circular" and (m < 0 or max(lo, 0) > m or max(hi, 0) > m):
            raise ValueError(f"{op}: Padding value causes wrapping around more than once: padding "
                             f"({lo}, {hi}) at dimension {ax} of input {input.shape}")
        if n + lo + hi < 0:
            raise ValueError(f"{op}: padding ({lo}, {hi}) of dimension {ax} (size {n}) of input "
                             f"{input.shape} gives a negative size {n + lo + hi}")
    return BorderPad.apply(input, pairs, mode)
