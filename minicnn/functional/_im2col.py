"""The array machinery behind conv2d and conv_transpose2d: im2col, col2im and their GEMMs.

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

A third algorithm, ``_shifted``, needs no column buffer for stride 1 and one group: on
the padded input flattened per channel, tap (i, j) of the kernel reads the input shifted
by a constant flat offset, so the conv is a sum of GEMMs over contiguous slices (one per
kernel row, its kw taps stacked in the GEMM's rows) plus shifted adds, in cache-sized
blocks. It saves im2col's copy of C*kh*kw values per pixel, which dominates when C is
moderate (64-128 channels) and the kernel large (SRCNN's 64->32 5x5 layer); ``_shifted_weight_grad``
is its weight gradient, one GEMM per tap with the batch folded into the pixel axis.

With stride 1 each algorithm can compute the other's result with the kernel flipped
in space and its in/out channels swapped (``flip_swap``). ``conv`` and
``conv_transpose`` then pick ``_shifted`` where it was measured faster
(``_shifted_is_cheaper``), else the one whose column buffer is smaller, gather on a tie
(see ``_gather_is_cheaper``): e.g. the input-gradient of a 256->256 layer is a gather of
the output gradient (GEMM inner dimension 256*9 instead of 256), while the input-gradient
of a 3->64 layer stays a scatter (27 columns per pixel instead of 576).

The weight gradient is ``g @ cols^T`` with ``cols`` rebuilt block by block from the saved
input (keeping them from the forward would cost kh*kw times the input's memory per layer).
"""
from __future__ import annotations

from minicnn import backend

__all__ = ["conv", "conv_transpose", "weight_grad", "flip_swap", "pad_or_crop", "im2col", "row_blocks"]


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


def _work_buffer(xp, blocks, elems_per_row, dtype):
    """One flat scratch buffer for the largest row block (None when a single block: no reuse)."""
    if len(blocks) < 2:
        return None
    return xp.empty(max(r1 - r0 for r0, r1 in blocks) * elems_per_row, dtype=dtype)


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
    work = _work_buffer(xp, blocks, per_row, x.dtype)
    for r0, r1 in blocks:
        cols = im2col(xpad, (r0, r1), Wo, (kh, kw), stride, dilation, groups, work)
        xp.matmul(w3, cols, out=y[..., r0 * Wo:r1 * Wo])
    return y.reshape(N, O, Ho, Wo)


def _scatter(y, w, stride, pad_tl, out_hw, dilation, groups):
    """The adjoint of ``_gather``: per block of rows of ``y``, one GEMM W^T @ y, then kh*kw
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
    work = _work_buffer(xp, blocks, per_row, y.dtype)
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


# The column buffer of one block of ``_shifted`` stays under this many bytes, so that the
# GEMM writes it and the kw adds read it while it is still in the L2 cache.
SHIFT_BLOCK_BYTES = 4 * 2**20


def _shifted(x, w, pads, dilation):
    """Stride-1, one-group conv of ``x`` with ``w`` (O, C, kh, kw) without im2col: per kernel row i,
    one GEMM of the (kw*O, C) weight rows with the input shifted by i rows, then kw shifted adds.

    On the zero-padded input flattened per channel (``xf``: (C, N*Hp*Wp), image after image,
    rows Wp long), output pixel (n, h, w) sits at flat position q = (n*Hp + h)*Wp + w and
    reads xf[:, q + i*dh*Wp + j*dw] for tap (i, j); so tap row i is one GEMM over a
    contiguous slice of ``xf`` (no copy), and its kw taps are the kw row groups of the
    result, each shifted by j*dw. Positions past the right edge of a row or below the last
    output row of an image are computed and dropped (their inputs wrap into the next row
    or image). Work goes in blocks of flat positions sized to stay in cache between the
    GEMM and the adds.
    """
    xp = backend.array_module(x, w)
    xpad = pad_or_crop(x, pads)
    N, C, Hp, Wp = xpad.shape
    O, _, kh, kw = w.shape
    dh, dw = dilation
    Ho, Wo = _out_hw(xpad, (kh, kw), (1, 1), dilation)
    if min(N, Ho, Wo) <= 0:
        return xp.zeros((N, O, max(Ho, 0), max(Wo, 0)), dtype=x.dtype)
    # (C, N*Hp*Wp): a view for one image, one copy of the input for a batch
    xf = (xpad[0] if N == 1 else xp.ascontiguousarray(xpad.transpose(1, 0, 2, 3))).reshape(C, N * Hp * Wp)
    y = xp.empty((O, N * Hp * Wp), dtype=x.dtype)
    span = dw * (kw - 1)
    total = ((N - 1) * Hp + Ho - 1) * Wp + Wo     # flat positions up to the last output pixel
    rows = [xp.ascontiguousarray(w[:, :, i].transpose(2, 0, 1)).reshape(kw * O, C) for i in range(kh)]
    step = max(Wo, SHIFT_BLOCK_BYTES // (x.itemsize * kw * O) - span)
    work = xp.empty(kw * O * (min(step, total) + span), dtype=x.dtype)
    for q0 in range(0, total, step):
        q1 = min(total, q0 + step)
        n, acc = q1 - q0, y[:, q0:q1]
        out = work[:kw * O * (n + span)].reshape(kw * O, n + span)    # contiguous, as BLAS wants
        for i in range(kh):
            src = xf[:, q0 + i * dh * Wp:q1 + i * dh * Wp + span]
            part = xp.matmul(rows[i], src, out=out).reshape(kw, O, n + span)
            for j in range(kw):
                tap = part[j, :, j * dw:j * dw + n]
                if i == j == 0:
                    acc[...] = tap
                else:
                    acc += tap
    out = y.reshape(O, N, Hp, Wp)[:, :, :Ho, :Wo]
    return xp.ascontiguousarray(out[:, 0][None] if N == 1 else out.transpose(1, 0, 2, 3))


def _shifted_weight_grad(x, g, w_shape, pads, dilation):
    """dL/dw of ``_shifted``'s conv without im2col: dw[:, :, i, j] = gz @ xf[:, shifted by tap (i, j)]^T.

    ``gz`` is the output gradient laid on the same flat (N*Hp*Wp) grid as the input, zero at
    the dropped positions, so every tap is one GEMM of two contiguous slices with the long
    pixel axis as the inner dimension, and the batch is folded into it. Blocks of flat
    positions keep both slices in cache across the kh*kw taps.
    """
    xp = backend.array_module(x, g)
    xpad = pad_or_crop(x, pads)
    N, C, Hp, Wp = xpad.shape
    O, _, kh, kw = w_shape
    dh, dw = dilation
    Ho, Wo = _out_hw(xpad, (kh, kw), (1, 1), dilation)
    if min(N, Ho, Wo) <= 0:
        return xp.zeros(w_shape, dtype=x.dtype)
    xf = (xpad[0] if N == 1 else xp.ascontiguousarray(xpad.transpose(1, 0, 2, 3))).reshape(C, N * Hp * Wp)
    gz = xp.zeros((O, N, Hp, Wp), dtype=g.dtype)
    gz[:, :, :Ho, :Wo] = g.transpose(1, 0, 2, 3)
    gz = gz.reshape(O, N * Hp * Wp)
    total = ((N - 1) * Hp + Ho - 1) * Wp + Wo
    taps = [(i * kw + j, i * dh * Wp + j * dw) for i in range(kh) for j in range(kw)]
    acc = xp.zeros((kh * kw, O, C), dtype=x.dtype)
    part = xp.empty((O, C), dtype=x.dtype)
    step = max(Wo, SHIFT_BLOCK_BYTES // (2 * x.itemsize * (O + C)))
    for q0 in range(0, total, step):
        q1 = min(total, q0 + step)
        for t, off in taps:
            acc[t] += xp.matmul(gz[:, q0:q1], xf[:, q0 + off:q1 + off].T, out=part)
    return xp.ascontiguousarray(acc.reshape(kh, kw, O, C).transpose(2, 3, 0, 1))


def _shifted_is_cheaper(c_in, c_out, taps):
    """Whether ``_shifted`` beats im2col (gather or scatter) for a stride-1, one-group conv with
    ``taps`` = kh*kw. Measured A/B through the whole stack (2 BLAS threads, float32): SRCNN's
    64->32 5x5 layer at 512x512 runs 1.4-1.6x faster (SRCNN x2 inference 413 -> 272 ms), but
    for 3x3 kernels the results scattered around parity run to run (64->64 @256: 1.2x faster
    in isolation, 1.3x slower inside a network), so 3x3 layers keep im2col. Thin GEMMs (C < 64)
    and deep layers (C >= 256, where im2col's K = 9C GEMM runs near peak) lose."""
    return taps >= 25 and 64 <= c_in <= 128 and c_out <= c_in


def _shifted_grad_is_cheaper(c_in, c_out, taps, n):
    """For the weight gradient: on batches of small images with 5x5 kernels the batch folds into
    the GEMM's inner dimension (SRCNN 64->32 5x5 @48 batch 16: 1.45x in isolation); measured
    slower for 256-channel 3x3 layers at batch 8, so the same bounds as the forward apply."""
    return n > 1 and taps >= 25 and 32 <= c_in <= 128 and 32 <= c_out <= 128


def _gather_is_cheaper(c_src, c_dst):
    """For stride 1, per group: gather copies c_src*kh*kw values per output pixel into cols,
    scatter writes c_dst*kh*kw per input pixel from its GEMM and adds them back. Measured on
    VGG-like layers (single-threaded, to leave out noise): gather wins or ties for equal
    channel counts (its GEMM has the longer inner dimension); with twice as many source
    channels scatter is 15-20 % faster (64->128 input-gradient, 128->64 forward), and
    far faster at 3->64 (27 instead of 576 columns per pixel). So: gather up to a tie."""
    return c_src <= c_dst


def conv(x, w, stride, pads, dilation, groups):
    """Cross-correlation of ``x`` (N, C, H, W) with ``w`` (O, C/G, kh, kw), pads (top, bottom, left, right).

    conv2d's forward and conv_transpose2d's input-gradient.
    """
    O, Cg, kh, kw = w.shape
    if tuple(stride) == (1, 1) and groups == 1 and _shifted_is_cheaper(Cg, O, kh * kw):
        return _shifted(x, w, pads, dilation)
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
    if tuple(stride) == (1, 1):
        (dh, dw), (pt, pl), (Hout, Wout) = dilation, pad_tl, out_hw
        Hy, Wy = y.shape[2:]
        et, el = dh * (kh - 1) - pt, dw * (kw - 1) - pl
        pads = (et, Hout + dh * (kh - 1) - Hy - et, el, Wout + dw * (kw - 1) - Wy - el)
        if groups == 1 and _shifted_is_cheaper(O, Cg, kh * kw):
            return _shifted(y, flip_swap(w, 1), pads, dilation)
        if _gather_is_cheaper(O // groups, Cg):
            return _gather(y, flip_swap(w, groups), (1, 1), pads, dilation, groups)
    return _scatter(y, w, stride, pad_tl, out_hw, dilation, groups)


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
    if tuple(stride) == (1, 1) and groups == 1 and _shifted_grad_is_cheaper(Cg, O, kh * kw, x.shape[0]):
        return _shifted_weight_grad(x, g, w_shape, pads, dilation)
    xp = backend.array_module(x, g)
    xpad = pad_or_crop(x, pads)
    N, C = xpad.shape[:2]
    Ho, Wo = _out_hw(xpad, (kh, kw), stride, dilation)
    g4 = g.reshape(N, groups, O // groups, Ho * Wo)
    tall = Cg * kh * kw >= O // groups
    per_row = N * C * kh * kw * Wo
    blocks = row_blocks(Ho, per_row * x.itemsize)
    work = _work_buffer(xp, blocks, per_row, x.dtype)
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
