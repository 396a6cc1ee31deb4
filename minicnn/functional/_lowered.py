"""Convolution by kernel-row lowering: im2col's GEMMs from a column buffer kw (not kh*kw) times the input.

im2col (``_im2col.im2col``) copies every input value kh*kw times, once per kernel tap, and
for a 64-channel 3x3 layer that copy costs as much as the GEMM. This module copies each
value only kw times, once per kernel column, and lets the kernel rows come from strided
views that overlap in memory (the idea of "memory-efficient convolution", Cho & Brand 2017).

Notation as in ``_im2col``: ``xp`` is the padded input (N, C, Hp, Wp), the weight is
(O, C/G, kh, kw), stride (sh, sw), dilation (dh, dw), Cg = C/G, Og = O/G.

Forward (needs dh == 1). The lowered buffer, for the input rows a block of output rows reads, is

    L[n, g, h, c, j, w] = xp[n, g*Cg + c, h, w*sw + j*dw]        (N, G, Hb, Cg, kw, Wo)

For output row r the GEMM's inner index (i, c, j) then walks kh consecutive rows h = r*sh + i
of L with one stride (Wo values per step), so ``L`` seen as (N, G, Ho, kh*Cg*kw, Wo) with
row stride sh*Cg*kw*Wo is a plain strided matrix per output row: no copy, rows overlap,

    y[n, g, :, r, :] = W[g] (Og, kh*Cg*kw) @ L[n, g, r]   (kh*Cg*kw, Wo)

one GEMM per output row, all in one batched ``matmul`` call that writes the NCHW result in place.

Weight gradient (needs sh == 1). With the kernel column outside the rows,

    M[n, g, c, j, h, w] = xp[n, g*Cg + c, h, w + j*dw]            (N, G, Cg, kw, Hb, Wo)

kernel row i reads rows h = r + i*dh for all output rows r, a contiguous run of Ho*Wo values of
M, so dW for kernel row i is one GEMM with the pixels as inner dimension:

    dW[g, :, :, i, :] = sum_n g[n, g] (Og, Ho*Wo) @ M[n, g, :, :, i*dh:i*dh+Ho, :]^T (Ho*Wo, Cg*kw)

Both go over blocks of output rows so the buffer stays under ``_im2col.BLOCK_BYTES``.
On the NumPy backend the strided views go straight to BLAS; CuPy's matmul may copy a view
with overlapping rows into a contiguous one (then its memory is im2col's, its result the same).
"""
from __future__ import annotations

from minicnn import backend
from minicnn.functional import _im2col
from minicnn.functional._im2col import out_size, pad_or_crop, row_blocks, work_buffer

__all__ = ["conv", "weight_grad"]


def _lower_rows(xpad, h0, h1, Wo, groups, kw, sw, dw, rows_outside, work):
    """The kw column-shifted copies of padded rows [h0, h1), (N, G, Hb, Cg, kw, Wo), or with
    ``rows_outside`` (N, G, Cg, kw, Hb, Wo); into the flat scratch buffer ``work`` when given."""
    xp = backend.array_module(xpad)
    N, C = xpad.shape[:2]
    Cg, Hb = C // groups, h1 - h0
    sN, sC, sH, sW = xpad.strides
    if rows_outside:
        shape, strides = (N, groups, Cg, kw, Hb, Wo), (sN, Cg * sC, sC, dw * sW, sH, sw * sW)
    else:
        shape, strides = (N, groups, Hb, Cg, kw, Wo), (sN, Cg * sC, sH, sC, dw * sW, sw * sW)
    view = backend.as_strided(xpad[:, :, h0:], shape, strides)
    out = xp.empty(shape, dtype=xpad.dtype) if work is None else work[:view.size].reshape(shape)
    xp.copyto(out, view)
    return out


def _c_strides(a):
    """Row-major strides of ``a``'s shape, also along axes of length 1 (where numpy may keep others)."""
    strides, step = [], a.itemsize
    for n in reversed(a.shape):
        strides.append(step)
        step *= n
    return strides[::-1]


def _blocks(rows, bytes_per_row, halo_bytes):
    """Row blocks whose buffer (rows plus the kernel's halo) stays under BLOCK_BYTES where it can."""
    return row_blocks(rows, bytes_per_row, max(bytes_per_row, _im2col.BLOCK_BYTES - halo_bytes))


def conv(x, w, stride, pads, dilation, groups):
    """Cross-correlation of ``x`` (N, C, H, W) with ``w`` (O, C/G, kh, kw); dilation[0] must be 1."""
    xp = backend.array_module(x, w)
    xpad = pad_or_crop(x, pads)
    N, C, Hp, Wp = xpad.shape
    O, Cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    assert dh == 1, "kernel-row lowering needs consecutive kernel rows"
    Ho, Wo = out_size(Hp, kh, sh, 1, 0, 0), out_size(Wp, kw, sw, dw, 0, 0)
    G, Og, K = groups, O // groups, kh * Cg * kw
    y = xp.empty((N, G, Og, Ho, Wo), dtype=x.dtype)
    if min(N, Ho, Wo) <= 0:
        return y.reshape(N, O, Ho, Wo)
    wk = xp.ascontiguousarray(w.reshape(G, Og, Cg, kh, kw).transpose(0, 1, 3, 2, 4)).reshape(G, 1, Og, K)
    row_elems = N * C * kw * Wo                  # lowered values per input row
    blocks = _blocks(Ho, row_elems * x.itemsize * sh, row_elems * x.itemsize * kh)
    work = work_buffer(xp, blocks, row_elems, x.dtype, lambda rows: (rows - 1) * sh + kh)
    for r0, r1 in blocks:
        L = _lower_rows(xpad, r0 * sh, (r1 - 1) * sh + kh, Wo, G, kw, sw, dw, False, work)
        s = _c_strides(L)
        rows = backend.as_strided(L, (N, G, r1 - r0, K, Wo), (s[0], s[1], sh * s[2], s[4], s[5]))
        xp.matmul(wk, rows, out=y[:, :, :, r0:r1].transpose(0, 1, 3, 2, 4))
    return y.reshape(N, O, Ho, Wo)


def weight_grad(x, g, w_shape, pads, dilation, groups):
    """dL/dw of a stride-1 conv of ``x`` whose output gradient is ``g``: shape ``w_shape``.

    As in ``_im2col.weight_grad`` the product is oriented so that its result has more rows
    than columns (fewer OpenBLAS thread stalls on the long inner dimension).
    """
    xp = backend.array_module(x, g)
    xpad = pad_or_crop(x, pads)
    N, C, Hp, Wp = xpad.shape
    O, Cg, kh, kw = w_shape
    dh, dw = dilation
    G, Og = groups, O // groups
    Ho, Wo = out_size(Hp, kh, 1, dh, 0, 0), out_size(Wp, kw, 1, dw, 0, 0)
    tall = Cg * kw >= Og
    acc = xp.zeros((G, kh, Cg * kw, Og) if tall else (G, kh, Og, Cg * kw), dtype=x.dtype)
    if min(N, Ho, Wo) > 0:
        g5 = g.reshape(N, G, 1, Og, Ho * Wo)
        row_elems = N * C * kw * Wo
        blocks = _blocks(Ho, row_elems * x.itemsize, row_elems * x.itemsize * dh * (kh - 1))
        work = work_buffer(xp, blocks, row_elems, x.dtype, lambda rows: rows + dh * (kh - 1))
        for r0, r1 in blocks:
            M = _lower_rows(xpad, r0, r1 + dh * (kh - 1), Wo, G, kw, 1, dw, True, work)
            s = _c_strides(M)
            cols = backend.as_strided(M, (N, G, kh, Cg * kw, (r1 - r0) * Wo), (s[0], s[1], dh * s[4], s[3], s[5]))
            gb = g5[..., r0 * Wo:r1 * Wo]
            part = (xp.matmul(cols, gb.transpose(0, 1, 2, 4, 3)) if tall       # (N, G, kh, Cg*kw, Og)
                    else xp.matmul(gb, cols.transpose(0, 1, 2, 4, 3)))         # (N, G, kh, Og, Cg*kw)
            acc += part.sum(axis=0)
    if tall:
        dw_ = acc.reshape(G, kh, Cg, kw, Og).transpose(0, 4, 2, 1, 3)
    else:
        dw_ = acc.reshape(G, kh, Og, Cg, kw).transpose(0, 2, 3, 1, 4)
    return xp.ascontiguousarray(dw_).reshape(w_shape)
