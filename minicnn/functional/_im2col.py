"""im2col, col2im and their GEMMs: the general algorithms behind conv2d and conv_transpose2d.

Notation. ``x`` is (N, C, H, W); a conv weight ``w`` is (O, C/G, kh, kw) for G groups,
stride s, dilation d, and ``xp`` is ``x`` zero-padded by (top, bottom, left, right). The
convolution (a cross-correlation, as in torch) is

    y[n, g*Og + o, h, w] = sum_{c, i, j} w[g*Og + o, c, i, j] * xp[n, g*Cg + c, h*s + i*d, w*s + j*d]

Two algorithms compute it, each a batched matrix product (GEMM) plus data movement:

* gather (im2col): copy the kh*kw shifted, strided views of ``xp`` into
  ``cols`` (N, G, Cg*kh*kw, Ho*Wo), then ``y = W @ cols`` with W viewed as
  (G, Og, Cg*kh*kw). This is conv2d's forward.
* scatter (col2im): the adjoint. ``dcols = W^T @ y`` (N, G, Cg*kh*kw, Hy*Wy), then each
  kernel offset (i, j) adds its slice into a zero buffer at the strided window it came
  from: kh*kw in-place adds of whole arrays, no ``np.add.at``. This is conv2d's
  input-gradient and conv_transpose2d's forward.

Both run over blocks of rows (``row_blocks``, ``BLOCK_BYTES``) so the column buffer of
one block stays bounded and cache-sized; each block is one copy and one GEMM.

With stride 1 each algorithm can compute the other's result with the kernel flipped
in space and its in/out channels swapped (``flip_swap``); ``_route`` picks one per call,
or one of the two im2col-free algorithms (``_lowered``, ``_shifted``).

The weight gradient is ``g @ cols^T`` with ``cols`` rebuilt block by block from the saved
input (keeping them from the forward would cost kh*kw times the input's memory per layer).
"""
from __future__ import annotations

from minicnn import backend

__all__ = ["gather", "scatter", "weight_grad", "flip_swap", "pad_or_crop", "im2col", "row_blocks", "out_size",
           "work_buffer"]


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


# Column buffers are built and consumed in blocks of output rows that stay under this
# many bytes. That bounds a layer's transient memory (the columns of a whole 64-channel
# 3x3 layer of a 512x512 image take 600 MB) and keeps a block in the last-level cache
# between the copy that builds it and the GEMM that reads it. Measured on the VGG19
# layers (2 shared cores): single-threaded, 2-32 MB blocks beat one big buffer by up to
# 1.4x; with 2 BLAS threads on a busy machine, small blocks lose badly (every GEMM call
# ends in a thread barrier, and a descheduled peer stalls it), 32 MB stays on par with one
# buffer. The loop runs over row blocks, never over pixels or batch items.
BLOCK_BYTES = 32 * 2**20


def row_blocks(rows, bytes_per_row, budget=None):
    """[(r0, r1), ...] covering range(rows), each block's column buffer under the budget."""
    step = max(1, (budget or BLOCK_BYTES) // max(1, bytes_per_row))
    return [(r, min(rows, r + step)) for r in range(0, rows, step)]


def _out_hw(xpad, kernel, stride, dilation):
    return tuple(out_size(n, k, s, d, 0, 0) for n, k, s, d in zip(xpad.shape[2:], kernel, stride, dilation))


def im2col(xpad, rows, Wo, kernel, stride, dilation, groups, work=None):
    """Columns of output rows [r0, r1) of a conv of the padded input ``xpad`` (N, C, Hp, Wp):

        cols[n, g, (c, i, j), (h - r0, w)] = xpad[n, g*Cg + c, h*s + i*d, w*s + j*d]

    shape (N, G, Cg*kh*kw, (r1-r0)*Wo). A read-only strided view enumerates every
    (c, i, j, h, w) without copying; one copy makes it the GEMM operand, into the flat
    buffer ``work`` when given (reused across blocks: a fresh buffer per block would pay
    the page faults of new memory each time). A 1x1 kernel with stride 1 needs no copy.
    """
    xp = backend.array_module(xpad)
    N, C, _, _ = xpad.shape
    (r0, r1), (kh, kw), (sh, sw), (dh, dw) = rows, kernel, stride, dilation
    Cg = C // groups
    sN, sC, sH, sW = xpad.strides
    shape = (N, groups, Cg, kh, kw, r1 - r0, Wo)
    view = backend.as_strided(xpad[:, :, r0 * sh:], shape,
                              (sN, Cg * sC, sC, dh * sH, dw * sW, sh * sH, sw * sW))
    if view.flags.c_contiguous:
        cols = view
    elif work is None:
        cols = xp.ascontiguousarray(view)
    else:
        cols = work[:view.size].reshape(shape)
        xp.copyto(cols, view)
    return cols.reshape(N, groups, Cg * kh * kw, (r1 - r0) * Wo)


def work_buffer(xp, blocks, elems_per_row, dtype, rows_read=lambda rows: rows):
    """One flat scratch buffer for the largest row block (None when a single block: no reuse).

    ``rows_read(n)``: how many buffer rows a block of n output rows fills (more than n when the
    kernel's rows overlap the next block, as in ``_lowered``)."""
    if len(blocks) < 2:
        return None
    return xp.empty(rows_read(max(r1 - r0 for r0, r1 in blocks)) * elems_per_row, dtype=dtype)


def flip_swap(w, groups):
    """The kernel of the adjoint as a conv weight: (O, Cg, kh, kw) -> (C, Og, kh, kw).

    wt[g*Cg + c, o, i, j] = w[g*Og + o, c, kh-1-i, kw-1-j]: flipped in space, in and out
    channels swapped inside each group.
    """
    xp = backend.array_module(w)
    O, Cg, kh, kw = w.shape
    wt = w.reshape(groups, O // groups, Cg, kh, kw).transpose(0, 2, 1, 3, 4)[:, :, :, ::-1, ::-1]
    return xp.ascontiguousarray(wt).reshape(groups * Cg, O // groups, kh, kw)


def gather(x, w, stride, pads, dilation, groups):
    """y = conv of x with w: per row block, im2col + one batched GEMM (G, Og, K) @ (N, G, K, L)."""
    xp = backend.array_module(x, w)
    xpad = pad_or_crop(x, pads)
    N, C = xpad.shape[:2]
    O, Cg, kh, kw = w.shape
    Ho, Wo = _out_hw(xpad, (kh, kw), stride, dilation)
    w3 = w.reshape(groups, O // groups, Cg * kh * kw)
    y = xp.empty((N, groups, O // groups, Ho * Wo), dtype=x.dtype)
    per_row = N * C * kh * kw * Wo
    blocks = row_blocks(Ho, per_row * x.itemsize)
    work = work_buffer(xp, blocks, per_row, x.dtype)
    for r0, r1 in blocks:
        cols = im2col(xpad, (r0, r1), Wo, (kh, kw), stride, dilation, groups, work)
        xp.matmul(w3, cols, out=y[..., r0 * Wo:r1 * Wo])
    return y.reshape(N, O, Ho, Wo)


def scatter(y, w, stride, pad_tl, out_hw, dilation, groups):
    """The adjoint of ``gather``: per block of rows of ``y``, one GEMM W^T @ y, then kh*kw
    strided adds into the result (col2im).

    ``y`` is (N, O, Hy, Wy); the result is (N, C, *out_hw), where output row r is row
    r + pad_top of the full (uncropped) result; rows outside the full result are zero.
    """
    xp = backend.array_module(y, w)
    N, O, Hy, Wy = y.shape
    _, Cg, kh, kw = w.shape
    (sh, sw), (dh, dw), (pt, pl), (Hout, Wout) = stride, dilation, pad_tl, out_hw
    Og, C = O // groups, Cg * groups
    w3t = w.reshape(groups, Og, Cg * kh * kw).transpose(0, 2, 1)
    y4 = y.reshape(N, groups, Og, Hy * Wy)
    # Full-result row q sits at buffer row q - top; the buffer spans the full result
    # and the requested window (pad_top can be negative: then the window starts above it).
    top, left = min(0, pt), min(0, pl)
    Hb = max((Hy - 1) * sh + dh * (kh - 1) + 1, pt + Hout) - top
    Wb = max((Wy - 1) * sw + dw * (kw - 1) + 1, pl + Wout) - left
    buf = xp.zeros((N, groups, Cg, Hb, Wb), dtype=y.dtype)
    per_row = N * C * kh * kw * Wy
    blocks = row_blocks(Hy, per_row * y.itemsize)
    work = work_buffer(xp, blocks, per_row, y.dtype)
    for r0, r1 in blocks:
        shape = (N, groups, Cg * kh * kw, (r1 - r0) * Wy)
        out = None if work is None else work[:(r1 - r0) * per_row].reshape(shape)
        dcols = xp.matmul(w3t, y4[..., r0 * Wy:r1 * Wy], out=out)  # (N, G, Cg*kh*kw, rows*Wy)
        dcols = dcols.reshape(N, groups, Cg, kh, kw, r1 - r0, Wy)
        for i in range(kh):
            b0 = r0 * sh + i * dh - top
            for j in range(kw):
                c0 = j * dw - left
                window = buf[:, :, :, b0:b0 + sh * (r1 - r0 - 1) + 1:sh, c0:c0 + sw * (Wy - 1) + 1:sw]
                window += dcols[:, :, :, i, j]
    out = buf.reshape(N, C, Hb, Wb)[:, :, pt - top:pt - top + Hout, pl - left:pl - left + Wout]
    return xp.ascontiguousarray(out)


# Below this many output pixels per row block (of all N images), weight_grad folds the batch
# into one GEMM (measured: 512->512 @32 batch 8 fwd+bwd 1.77x -> 1.23x of torch);
# above it the per-image GEMMs are large and efficient, and folding costs a copy.
FOLD_BELOW_PIXELS = 1024


def _fold_batch(xp, a):
    """(N, G, R, P) -> (G, R, N*P): the batch laid along the last (GEMM inner) axis; a view when N == 1."""
    N, G, R, P = a.shape
    if N == 1:
        return a[0]
    return xp.ascontiguousarray(a.transpose(1, 2, 0, 3)).reshape(G, R, N * P)


def weight_grad(x, g, w_shape, stride, pads, dilation, groups):
    """dL/dw for y = conv(x, w): dw[g] = sum_n g[n, g] @ cols[n, g]^T, shape ``w_shape``.

    The inner dimension of this GEMM is the number of output pixels, long and split into
    many panels, so OpenBLAS's threads meet at many barriers; measured under load, the
    orientation whose result has more rows than columns avoids pathological stalls
    (27x64 result: 29 ms vs 111 ms median, 576x64: 56 ms vs 854 ms). So the product is
    taken as cols @ g^T (K x Og) when K >= Og, else as g @ cols^T (Og x K).
    """
    O, Cg, kh, kw = w_shape
    xp = backend.array_module(x, g)
    xpad = pad_or_crop(x, pads)
    N, C = xpad.shape[:2]
    Ho, Wo = _out_hw(xpad, (kh, kw), stride, dilation)
    g4 = g.reshape(N, groups, O // groups, Ho * Wo)
    tall = Cg * kh * kw >= O // groups
    per_row = N * C * kh * kw * Wo
    blocks = row_blocks(Ho, per_row * x.itemsize)
    work = work_buffer(xp, blocks, per_row, x.dtype)
    dw = None
    for r0, r1 in blocks:
        cols = im2col(xpad, (r0, r1), Wo, (kh, kw), stride, dilation, groups, work)
        gb = g4[..., r0 * Wo:r1 * Wo]
        if N > 1 and gb.shape[-1] < FOLD_BELOW_PIXELS:
            # Few pixels per image (deep layers): join the batch into the GEMM's inner
            # dimension, one product per group instead of N small ones whose partial
            # weight gradients would be materialised and summed.
            cols, gb = _fold_batch(xp, cols), _fold_batch(xp, gb)           # (G, K, N*P), (G, Og, N*P)
            part = (xp.matmul(cols, gb.transpose(0, 2, 1)) if tall         # (G, K, Og)
                    else xp.matmul(gb, cols.transpose(0, 2, 1)))           # (G, Og, K)
        else:
            part = (xp.matmul(cols, gb.transpose(0, 1, 3, 2)) if tall      # (N, G, K, Og)
                    else xp.matmul(gb, cols.transpose(0, 1, 3, 2)))        # (N, G, Og, K)
            part = part.sum(axis=0)
        dw = part if dw is None else xp.add(dw, part, out=dw)
    if dw is None:  # an empty batch
        dw = xp.zeros((groups, Cg * kh * kw, O // groups) if tall else (groups, O // groups, Cg * kh * kw),
                      dtype=x.dtype)
    if tall:
        dw = xp.ascontiguousarray(dw.transpose(0, 2, 1))
    return dw.reshape(w_shape)
