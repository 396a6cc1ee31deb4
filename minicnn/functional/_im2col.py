"""The array machinery behind conv2d and conv_transpose2d: im2col, col2im and their GEMMs.

Notation. ``x`` is (N, C, H, W); a conv weight ``w`` is (O, C/G, kh, kw) for G groups,
stride s, dilation d, and ``xp`` is ``x`` zero-padded by (top, bottom, left, right). The
convolution (a cross-correlation, as in torch) is

    y[n, g*Og + o, h, w] = sum_{c, i, j} w[g*Og + o, c, i, j] * xp[n, g*Cg + c, h*s + i*d, w*s + j*d]

Two algorithms compute it, each one batched matrix product (GEMM) plus data movement:

* gather (im2col): copy the kh*kw shifted, strided views of ``xp`` into
  ``cols`` (N, G, Cg*kh*kw, Ho*Wo) in one array copy, then ``y = W @ cols`` with W
  viewed as (G, Og, Cg*kh*kw). This is conv2d's forward.
* scatter (col2im): the adjoint. ``dcols = W^T @ y`` (N, G, Cg*kh*kw, Hy*Wy), then each
  kernel offset (i, j) adds its slice into a zero buffer at the strided window it came
  from: kh*kw in-place adds of whole arrays, no ``np.add.at``. This is conv2d's
  input-gradient and conv_transpose2d's forward.

With stride 1 each algorithm can compute the other's result with the kernel flipped
in space and its in/out channels swapped (``flip_swap``). ``conv`` and
``conv_transpose`` then pick the one whose column buffer is smaller and whose GEMM has
the longer inner dimension (see ``_gather_is_cheaper``): e.g. the input-gradient of a
64->64 layer is done as a gather of the output gradient (K = 64*9 instead of 64), while
the input-gradient of a 3->64 layer stays a scatter (27 columns instead of 576).

The weight gradient is always ``g @ cols^T`` with ``cols`` recomputed from the saved
input (saving it would cost kh*kw times the input's memory per layer).
"""
from __future__ import annotations

from minicnn import backend

__all__ = ["conv", "conv_transpose", "weight_grad", "flip_swap", "pad_or_crop", "im2col"]


def out_size(size, kernel, stride, dilation, pad_lo, pad_hi):
    """Output length of a convolution along one axis (floor mode, as torch)."""
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1


def pad_or_crop(x, pads):
    """``x`` (N, C, H, W) with (top, bottom, left, right) zero rows/columns added; negative values crop."""
    pt, pb, pl, pr = pads
    if pt == pb == pl == pr == 0:
        return x
    N, C, H, W = x.shape
    src = x[:, :, max(0, -pt):H - max(0, -pb), max(0, -pl):W - max(0, -pr)]
    if max(pads) <= 0:
        return src  # pure crop: a view
    xp = backend.array_module(x)
    out = xp.zeros((N, C, H + pt + pb, W + pl + pr), dtype=x.dtype)
    t, l = max(0, pt), max(0, pl)
    out[:, :, t:t + src.shape[2], l:l + src.shape[3]] = src
    return out


def im2col(x, kernel, stride, pads, dilation, groups):
    """cols (N, G, Cg*kh*kw, Ho*Wo) with cols[n, g, (c, i, j), (h, w)] = xp[n, g*Cg+c, h*s+i*d, w*s+j*d].

    A read-only strided view of the padded input enumerates every (c, i, j, h, w) without
    copying; one ``ascontiguousarray`` turns it into the GEMM operand (free for 1x1 kernels).
    Returns (cols, (Ho, Wo)).
    """
    xp = backend.array_module(x)
    xpad = pad_or_crop(x, pads)
    N, C, Hp, Wp = xpad.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    Ho, Wo = out_size(Hp, kh, sh, dh, 0, 0), out_size(Wp, kw, sw, dw, 0, 0)
    Cg = C // groups
    sN, sC, sH, sW = xpad.strides
    view = backend.as_strided(xpad, (N, groups, Cg, kh, kw, Ho, Wo),
                              (sN, Cg * sC, sC, dh * sH, dw * sW, sh * sH, sw * sW))
    cols = xp.ascontiguousarray(view)
    return cols.reshape(N, groups, Cg * kh * kw, Ho * Wo), (Ho, Wo)


def flip_swap(w, groups):
    """The kernel of the adjoint as a conv weight: (O, Cg, kh, kw) -> (C, Og, kh, kw).

    wt[g*Cg + c, o, i, j] = w[g*Og + o, c, kh-1-i, kw-1-j]: flipped in space, in and out
    channels swapped inside each group.
    """
    xp = backend.array_module(w)
    O, Cg, kh, kw = w.shape
    wt = w.reshape(groups, O // groups, Cg, kh, kw).transpose(0, 2, 1, 3, 4)[:, :, :, ::-1, ::-1]
    return xp.ascontiguousarray(wt).reshape(groups * Cg, O // groups, kh, kw)


def _gather(x, w, stride, pads, dilation, groups):
    """y = conv of x with w: im2col + one batched GEMM (G, Og, K) @ (N, G, K, L)."""
    xp = backend.array_module(x, w)
    O, _, kh, kw = w.shape
    cols, (Ho, Wo) = im2col(x, (kh, kw), stride, pads, dilation, groups)
    y = xp.matmul(w.reshape(groups, O // groups, -1), cols)  # (N, G, Og, Ho*Wo)
    return y.reshape(x.shape[0], O, Ho, Wo)


def _scatter(y, w, stride, pad_tl, out_hw, dilation, groups):
    """The adjoint of ``_gather``: one GEMM W^T @ y, then kh*kw strided adds (col2im).

    ``y`` is (N, O, Hy, Wy); the result is (N, C, *out_hw), where output row r is row
    r + pad_top of the full (uncropped) result; rows outside the full result are zero.
    """
    xp = backend.array_module(y, w)
    N, O, Hy, Wy = y.shape
    _, Cg, kh, kw = w.shape
    (sh, sw), (dh, dw), (pt, pl), (Hout, Wout) = stride, dilation, pad_tl, out_hw
    Og = O // groups
    w3 = w.reshape(groups, Og, Cg * kh * kw).transpose(0, 2, 1)
    dcols = xp.matmul(w3, y.reshape(N, groups, Og, Hy * Wy))  # (N, G, Cg*kh*kw, Hy*Wy)
    dcols = dcols.reshape(N, groups, Cg, kh, kw, Hy, Wy)
    # Full-result row q sits at buffer row q - top; the buffer spans the full result
    # and the requested window (pad_top can be negative: then the window starts above it).
    top, left = min(0, pt), min(0, pl)
    Hb = max((Hy - 1) * sh + dh * (kh - 1) + 1, pt + Hout) - top
    Wb = max((Wy - 1) * sw + dw * (kw - 1) + 1, pl + Wout) - left
    buf = xp.zeros((N, groups, Cg, Hb, Wb), dtype=dcols.dtype)
    for i in range(kh):
        r0 = i * dh - top
        for j in range(kw):
            c0 = j * dw - left
            window = buf[:, :, :, r0:r0 + sh * (Hy - 1) + 1:sh, c0:c0 + sw * (Wy - 1) + 1:sw]
            window += dcols[:, :, :, i, j]
    out = buf.reshape(N, groups * Cg, Hb, Wb)[:, :, pt - top:pt - top + Hout, pl - left:pl - left + Wout]
    return xp.ascontiguousarray(out)


def _gather_is_cheaper(c_src, c_dst):
    """For stride 1: gather copies c_src*k*k columns per pixel, scatter writes c_dst*k*k and
    adds them; gather's GEMM also has the longer inner dimension. Prefer gather unless it
    moves clearly more data."""
    return c_src <= 2 * c_dst


def conv(x, w, stride, pads, dilation, groups):
    """Cross-correlation of ``x`` (N, C, H, W) with ``w`` (O, C/G, kh, kw), pads (top, bottom, left, right).

    conv2d's forward and conv_transpose2d's input-gradient.
    """
    O, Cg, kh, kw = w.shape
    if tuple(stride) == (1, 1) and not _gather_is_cheaper(Cg, O // groups):
        (dh, dw), (pt, pb, pl, pr) = dilation, pads
        H, W = x.shape[2:]
        out_hw = (out_size(H, kh, 1, dh, pt, pb), out_size(W, kw, 1, dw, pl, pr))
        return _scatter(x, flip_swap(w, groups), (1, 1), (dh * (kh - 1) - pt, dw * (kw - 1) - pl),
                        out_hw, dilation, groups)
    return _gather(x, w, stride, pads, dilation, groups)


def conv_transpose(y, w, stride, pad_tl, out_hw, dilation, groups):
    """The adjoint of ``conv`` with weight ``w`` (O, C/G, kh, kw): (N, O, Hy, Wy) -> (N, C, *out_hw).

    conv2d's input-gradient and conv_transpose2d's forward.
    """
    O, Cg, kh, kw = w.shape
    if tuple(stride) == (1, 1) and _gather_is_cheaper(O // groups, Cg):
        (dh, dw), (pt, pl), (Hout, Wout) = dilation, pad_tl, out_hw
        Hy, Wy = y.shape[2:]
        et, el = dh * (kh - 1) - pt, dw * (kw - 1) - pl
        pads = (et, Hout + dh * (kh - 1) - Hy - et, el, Wout + dw * (kw - 1) - Wy - el)
        return _gather(y, flip_swap(w, groups), (1, 1), pads, dilation, groups)
    return _scatter(y, w, stride, pad_tl, out_hw, dilation, groups)


def weight_grad(x, g, w_shape, stride, pads, dilation, groups):
    """dL/dw for y = conv(x, w): dw[g] = sum_n g[n, g] @ cols[n, g]^T, shape ``w_shape``."""
    xp = backend.array_module(x, g)
    O, _, kh, kw = w_shape
    cols, (Ho, Wo) = im2col(x, (kh, kw), stride, pads, dilation, groups)
    N = x.shape[0]
    g4 = g.reshape(N, groups, O // groups, Ho * Wo)
    dw = xp.matmul(g4, cols.transpose(0, 1, 3, 2))  # (N, G, Og, Cg*kh*kw)
    dw = dw.sum(axis=0) if N > 1 else dw[0]
    return dw.reshape(w_shape)
