"""Pooling (torch.nn.functional names): max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d.

Input is (N, C, H, W) or unbatched (C, H, W), like torch.

Sliding-window pools are computed with a loop over the kh*kw kernel offsets:
offset (i, j) sees the strided slice ``xpad[..., i*dh :: sh, j*dw :: sw]`` (one
element of every window), so each pass is one vectorised array operation and
no Python loop ever runs over pixels or batch items. Their backward passes
loop over the same offsets and add the gradient into the same strided
slices, which accumulates correctly even when windows overlap.

Output size (torch's ``pooling_output_shape``) along one axis of size n::

    out = floor((n + 2p - d(k-1) - 1 + (ceil_mode ? s-1 : 0)) / s) + 1
    if ceil_mode and (out-1)*s >= n + p: out -= 1   # last window must start inside input or left padding
"""
from __future__ import annotations

import operator

from minicnn import backend
from minicnn.tensor import Function, Tensor

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]


# --- argument checks shared by pool, pad and resize ---------------------------------

def _check_tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(x).__name__}")


def _as_int(v, op, name):
    """``v`` as a Python int (bools and floats refused with a TypeError naming op and argument)."""
    if isinstance(v, bool):
        raise TypeError(f"{op}: {name} must be int values, got bool {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{op}: {name} must be int values, got {type(v).__name__} {v!r}") from None


def _pair(v, op, name, what="must either be a single int, or a tuple of two ints"):
    """An int or a sequence of two ints as an (h, w) tuple of Python ints."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{op}: {name} {what}, got {tuple(v)!r}")
        return _as_int(v[0], op, name), _as_int(v[1], op, name)
    n = _as_int(v, op, name)
    return n, n


def _check_pool_input(x, op):
    _check_tensor(x, op)
    if x.ndim not in (3, 4) or any(s == 0 for s in x.shape[-3:]):
        raise ValueError(f"{op}: expected a non-empty 3D (C, H, W) or 4D (N, C, H, W) tensor for input, "
                         f"but got input of shape {x.shape}")


def pool_output_size(n, k, p, s, d, ceil_mode):
    """torch's pooling_output_shape for one axis (see the module docstring)."""
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1  # Python // floors like torch's div_rtn
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode, effective_pad_msg):
    """Validate window arguments like torch and return (k, s, p, d, out) as (h, w) pairs."""
    k = _pair(kernel_size, op, "kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        s = k
    else:
        s = _pair(stride, op, "stride", "must either be omitted, a single int, or a tuple of two ints")
    p = _pair(padding, op, "padding")
    d = _pair(dilation, op, "dilation", "must be either a single int, or a tuple of two ints")
    if min(k) <= 0:
        raise ValueError(f"{op}: kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if min(s) <= 0:
        raise ValueError(f"{op}: stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if min(d) <= 0:
        raise ValueError(f"{op}: dilation should be greater than zero, but got dilationH: {d[0]} "
                         f"dilationW: {d[1]}")
    if min(p) < 0:
        raise ValueError(f"{op}: pad must be non-negative, but got pad: {padding!r}")
    for kk, pp, dd in zip(k, p, d):
        if effective_pad_msg and pp > ((kk - 1) * dd + 1) // 2:
            raise ValueError(f"{op}: pad should be at most half of effective kernel size, but got "
                             f"pad={pp}, kernel_size={kk} and dilation={dd}")
    if p[1] > k[1] // 2 or p[0] > k[0] // 2:
        raise ValueError(f"{op}: pad should be smaller than or equal to half of kernel size, but got "
                         f"padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, kH = {k[0]}")
    C, H, W = x.shape[-3:]
    out = tuple(pool_output_size(n, kk, pp, ss, dd, ceil_mode)
                for n, kk, pp, ss, dd in zip((H, W), k, p, s, d))
    if min(out) < 1:
        raise ValueError(f"{op}: Given input size: ({C}x{H}x{W}). Calculated output size: "
                         f"({C}x{out[0]}x{out[1]}). Output size is too small (kernel_size={k}, "
                         f"stride={s}, padding={p}, dilation={d}, ceil_mode={ceil_mode})")
    return k, s, p, d, out


# --- shared window machinery ----------------------------------------------------------

def _as_4d(x):
    return x[None] if x.ndim == 3 else x


def _framed(x, pad, out, k, s, d, fill):
    """``x`` (N, C, H, W) padded with ``fill``: ``pad`` rows/cols before, and after as many as the
    last window needs (ceil_mode windows may run past the right padding: those cells read ``fill``)."""
    xp = backend.array_module(x)
    N, C, H, W = x.shape
    need = [(o - 1) * ss + (kk - 1) * dd + 1 for o, kk, ss, dd in zip(out, k, s, d)]
    after = [max(0, nd - n - p) for nd, n, p in zip(need, (H, W), pad)]
    if pad == (0, 0) and after == [0, 0]:
        return x
    frame = xp.full((N, C, pad[0] + H + after[0], pad[1] + W + after[1]), fill, dtype=x.dtype)
    frame[:, :, pad[0]:pad[0] + H, pad[1]:pad[1] + W] = x
    return frame


def _window_slices(k, s, d, out):
    """(offset number i*kw + j, slice of the padded frame seen by kernel offset (i, j))."""
    for i in range(k[0]):
        rows = slice(i * d[0], i * d[0] + (out[0] - 1) * s[0] + 1, s[0])
        for j in range(k[1]):
            cols = slice(j * d[1], j * d[1] + (out[1] - 1) * s[1] + 1, s[1])
            yield i * k[1] + j, (Ellipsis, rows, cols)


def _first_valid_offset(xp, out, s, p, d):
    """Per output position along one axis, the first kernel offset that lands inside the input."""
    start = xp.arange(out) * s - p
    return xp.where(start < 0, (-start + d - 1) // d, 0)


class MaxPool2d(Function):
    """y[n,c,oh,ow] = max over the window of x (padding reads -inf).

    Forward keeps, per output, the kernel offset of the first maximum (strict ``>``
    while scanning the window row by row, NaN always wins: torch's rule).
    dL/dx[n,c,h,w] = sum of g[n,c,oh,ow] over the outputs whose argmax is (h, w):
    for each kernel offset, ``where(argmax == offset, g, 0)`` is added into that
    offset's strided slice (plain assignment when windows cannot overlap).
    """

    def forward(self, x, k, s, p, d, out, return_indices):
        xp = backend.array_module(x)
        self.in_shape = x.shape
        x = _as_4d(x)
        N, C, H, W = x.shape
        self.geom = (k, s, p, d, out)
        frame = _framed(x, p, out, k, s, d, -float("inf"))
        self.frame_shape = frame.shape
        if not return_indices and not any(self.needs_input_grad):
            best = None  # values only: a running maximum (NaN propagates, as in torch)
            for _, sl in _window_slices(k, s, d, out):
                best = frame[sl].copy() if best is None else xp.maximum(best, frame[sl], out=best)
            return best.reshape(best.shape[1:]) if len(self.in_shape) == 3 else best
        nk = k[0] * k[1]
        idx_dtype = xp.int8 if nk < 128 else xp.int32
        best = xp.full((N, C) + out, -float("inf"), dtype=x.dtype)
        # all -inf windows report their first in-input position, like torch
        first = (_first_valid_offset(xp, out[0], s[0], p[0], d[0])[:, None] * k[1]
                 + _first_valid_offset(xp, out[1], s[1], p[1], d[1])[None, :])
        karg = xp.empty((N, C) + out, dtype=idx_dtype)
        karg[...] = first.astype(idx_dtype)
        for num, sl in _window_slices(k, s, d, out):
            v = xp.ascontiguousarray(frame[sl])  # one strided read; the rest runs on contiguous data
            upd = v > best
            upd |= xp.isnan(v)
            xp.maximum(best, v, out=best)  # NaN propagates, like torch's "NaN always wins"
            # karg = where(upd, num, karg) without a data-dependent branch (masked copies are slow)
            karg += upd.astype(idx_dtype) * (num - karg)
        self.karg = karg
        y = best
        if return_indices:
            ki, kj = karg // k[1], karg % k[1]
            rows = xp.arange(out[0])[:, None] * s[0] - p[0] + ki.astype(xp.int64) * d[0]
            cols = xp.arange(out[1])[None, :] * s[1] - p[1] + kj.astype(xp.int64) * d[1]
            idx = rows * W + cols
            if len(self.in_shape) == 3:
                return y[0], idx[0]
            return y, idx
        return y[0] if len(self.in_shape) == 3 else y

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return (None,) * 7
        xp = backend.array_module(g)
        k, s, p, d, out = self.geom
        g = g.reshape(self.karg.shape)
        overlap = s[0] < (k[0] - 1) * d[0] + 1 or s[1] < (k[1] - 1) * d[1] + 1
        # windows that tile the frame exactly (VGG's 2x2 stride 2) write every cell once
        tiles = (tuple(k) == tuple(s) and tuple(d) == (1, 1)
                 and tuple(self.frame_shape[2:]) == (out[0] * s[0], out[1] * s[1]))
        gframe = (xp.empty if tiles else xp.zeros)(self.frame_shape, dtype=g.dtype)
        finite = bool(xp.isfinite(g).all())
        zero = xp.zeros((), dtype=g.dtype)
        for num, sl in _window_slices(k, s, d, out):
            hit = self.karg == num
            # g * hit is branch-free (fast); where() keeps inf/NaN gradients off the other cells
            if overlap:
                gframe[sl] += g * hit if finite else xp.where(hit, g, zero)
            elif finite:
                xp.multiply(g, hit, out=gframe[sl])      # straight into the window's cells
            else:
                gframe[sl] = xp.where(hit, g, zero)
        H, W = self.in_shape[-2:]
        gx = gframe[:, :, p[0]:p[0] + H, p[1]:p[1] + W]
        return (gx.reshape(self.in_shape),) + (None,) * 6


class AvgPool2d(Function):
    """y[n,c,oh,ow] = (sum of x over the window, zero padding) / divisor[oh,ow].

    divisor (torch's rule): with hstart = oh*s - p, hend = min(hstart + k, H + p),
    count_include_pad counts (hend - hstart) rows, otherwise only the rows inside
    the input; the same for columns; divisor_override replaces it.
    dL/dx = for each kernel offset, (g / divisor) added into that offset's strided slice.
    """

    def forward(self, x, k, s, p, out, count_include_pad, divisor_override):
        xp = backend.array_module(x)
        self.in_shape = x.shape
        x = _as_4d(x)
        N, C, H, W = x.shape
        d = (1, 1)
        self.geom = (k, s, p, d, out)
        frame = _framed(x, p, out, k, s, d, 0)
        self.frame_shape = frame.shape
        acc = None
        for _, sl in _window_slices(k, s, d, out):
            acc = frame[sl].copy() if acc is None else xp.add(acc, frame[sl], out=acc)
        if divisor_override is not None:
            self.div = xp.asarray(float(divisor_override), dtype=x.dtype)
        else:
            counts = []
            for o, n, kk, ss, pp in zip(out, (H, W), k, s, p):
                start = xp.arange(o) * ss - pp
                end = xp.minimum(start + kk, n + pp)
                if count_include_pad:
                    counts.append(end - start)
                else:
                    counts.append(xp.minimum(end, n) - xp.maximum(start, 0))
            self.div = (counts[0][:, None] * counts[1][None, :]).astype(x.dtype)
        y = acc / self.div
        return y[0] if len(self.in_shape) == 3 else y

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return (None,) * 7
        xp = backend.array_module(g)
        k, s, p, d, out = self.geom
        gs = _as_4d(g) / self.div
        gframe = xp.zeros(self.frame_shape, dtype=g.dtype)
        for _, sl in _window_slices(k, s, d, out):
            gframe[sl] += gs
        H, W = self.in_shape[-2:]
        return (gframe[:, :, p[0]:p[0] + H, p[1]:p[1] + W].reshape(self.in_shape),) + (None,) * 6


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W), torch.nn.functional.max_pool2d's semantics.

    With ``return_indices=True`` also returns, per output, the flat index ``h * W + w``
    of the chosen element in its input plane (int64, as torch).
    """
    op = "max_pool2d"
    _check_pool_input(input, op)
    k, s, p, d, out = _pool_geometry(op, input, kernel_size, stride, padding, dilation, ceil_mode, True)
    return MaxPool2d.apply(input, k, s, p, d, out, bool(return_indices))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling, torch.nn.functional.avg_pool2d's semantics (including its border divisors)."""
    op = "avg_pool2d"
    _check_pool_input(input, op)
    k, s, p, _, out = _pool_geometry(op, input, kernel_size, stride, padding, 1, ceil_mode, True)
    if divisor_override is not None:
        divisor_override = _as_int(divisor_override, op, "divisor_override")
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor must be not zero, got divisor_override={divisor_override}")
    return AvgPool2d.apply(input, k, s, p, out, bool(count_include_pad), divisor_override)


# --- adaptive pooling ---------------------------------------------------------------------

def _adaptive_output_size(op, x, output_size):
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be 2, got {tuple(output_size)!r}")
        sizes = tuple(output_size)
    else:
        sizes = (output_size, output_size)
    sizes = tuple(n if v is None else _as_int(v, op, "output_size") for v, n in zip(sizes, x.shape[-2:]))
    if min(sizes) < 0:
        raise ValueError(f"{op}: elements of output_size must be greater than or equal to 0 but "
                         f"received {sizes}")
    return sizes


def _adaptive_bounds(xp, n, out):
    """torch's window bounds: start = floor(i*n/out), end = ceil((i+1)*n/out)."""
    i = xp.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _matrices_hw(ph, pw, x):
    """ph @ x @ pw^T over the last two axes of x, as two large 2-D matrix products."""
    xp = backend.array_module(x)
    y = (x.reshape(-1, x.shape[-1]) @ pw.T).reshape(x.shape[:-1] + (pw.shape[0],))
    y = xp.tensordot(ph, y, axes=([1], [y.ndim - 2]))  # (out_h, ..., out_w)
    return xp.ascontiguousarray(xp.moveaxis(y, 0, -2))


class AdaptiveAvgPool2d(Function):
    """y = P_h @ x @ P_w^T with P[i, start_i:end_i] = 1 / (end_i - start_i)  (window means).

    dL/dx = P_h^T @ g @ P_w. When the sizes divide evenly, the windows are a regular
    tiling and the op is a reshape + mean (gradient: g / (kh*kw) broadcast back).
    """

    def forward(self, x, out):
        xp = backend.array_module(x)
        self.in_shape = x.shape
        H, W = x.shape[-2:]
        self.even = out[0] > 0 and out[1] > 0 and H % out[0] == 0 and W % out[1] == 0
        if self.even:
            kh, kw = H // out[0], W // out[1]
            self.k = (kh, kw)
            return x.reshape(x.shape[:-2] + (out[0], kh, out[1], kw)).mean(axis=(-3, -1))
        mats = []
        for n, o in zip((H, W), out):
            start, end = _adaptive_bounds(xp, n, o)
            cols = xp.arange(n)[None, :]
            inside = (cols >= start[:, None]) & (cols < end[:, None])
            mats.append((inside / (end - start)[:, None]).astype(x.dtype))
        self.ph, self.pw = mats
        return _matrices_hw(self.ph, self.pw, x)

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None
        xp = backend.array_module(g)
        if self.even:
            kh, kw = self.k
            oh, ow = g.shape[-2:]
            g = g / (kh * kw)
            gx = xp.broadcast_to(g[..., :, None, :, None], g.shape[:-2] + (oh, kh, ow, kw))
            return gx.reshape(self.in_shape), None
        return _matrices_hw(self.ph.T, self.pw.T, g), None


class AdaptiveMaxPool2d(Function):
    """y = max over torch's adaptive windows; the flat argmax (h*W + w) is kept per output.

    Windows of neighbouring outputs may overlap, so dL/dx is a scatter-add of g
    at the argmax positions (backend.scatter_add, no per-element loop).
    """

    def forward(self, x, out, return_indices):
        xp = backend.array_module(x)
        self.in_shape = x.shape
        H, W = x.shape[-2:]
        (hs, he), (ws, we) = _adaptive_bounds(xp, H, out[0]), _adaptive_bounds(xp, W, out[1])
        kh = int((he - hs).max()) if out[0] else 0
        kw = int((we - ws).max()) if out[1] else 0
        best = xp.full(x.shape[:-2] + out, -float("inf"), dtype=x.dtype)
        arg = xp.empty(x.shape[:-2] + out, dtype=xp.int64)
        arg[...] = hs[:, None] * W + ws[None, :]
        for i in range(kh):
            rows = xp.minimum(hs + i, he - 1)  # short windows repeat their last row: ties keep the first
            xr = x[..., rows, :]
            for j in range(kw):
                cols = xp.minimum(ws + j, we - 1)
                v = xr[..., cols]
                upd = (v > best) | (v != v)
                xp.copyto(best, v, where=upd)
                xp.copyto(arg, xp.broadcast_to(rows[:, None] * W + cols[None, :], arg.shape), where=upd)
        self.arg = arg
        return (best, arg) if return_indices else best

    def backward(self, g):
        if not self.needs_input_grad[0]:
            return None, None, None
        xp = backend.array_module(g)
        H, W = self.in_shape[-2:]
        gx = xp.zeros(self.in_shape, dtype=g.dtype)
        if g.size:
            planes = g.size // (g.shape[-1] * g.shape[-2])
            plane_start = (xp.arange(planes, dtype=xp.int64) * (H * W)).reshape(g.shape[:-2] + (1, 1))
            backend.scatter_add(gx, self.arg + plane_start, g)
        return gx, None, None


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (int, pair; None keeps that input size), as torch."""
    op = "adaptive_avg_pool2d"
    _check_pool_input(input, op)
    return AdaptiveAvgPool2d.apply(input, _adaptive_output_size(op, input, output_size))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size, as torch (indices are flat h*W + w per plane)."""
    op = "adaptive_max_pool2d"
    _check_pool_input(input, op)
    return AdaptiveMaxPool2d.apply(input, _adaptive_output_size(op, input, output_size),
                                   bool(return_indices))
