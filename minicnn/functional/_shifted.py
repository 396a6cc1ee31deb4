"""Stride-1 convolution without a column buffer: one GEMM per kernel row plus shifted adds.

Notation as in ``_im2col``. On the zero-padded input flattened per channel, tap (i, j) of
the kernel reads the input shifted by a constant flat offset, so the conv is a sum of GEMMs
over contiguous slices (one per kernel row, its kw taps stacked in the GEMM's rows) plus
shifted adds, in cache-sized blocks. It saves im2col's copy of C*kh*kw values per pixel,
which dominates when C is moderate (64-128 channels) and the kernel large (SRCNN's 64->32
5x5 layer); ``_route`` says where it is used.
"""
from __future__ import annotations

from minicnn import backend
from minicnn.functional._im2col import out_size, pad_or_crop

__all__ = ["conv"]


# The column buffer of one block of ``_shifted`` stays under this many bytes, so that the
# GEMM writes it and the kw adds read it while it is still in the L2 cache.
SHIFT_BLOCK_BYTES = 4 * 2**20


def conv(x, w, pads, dilation):
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
    Ho, Wo = out_size(Hp, kh, 1, dh, 0, 0), out_size(Wp, kw, 1, dw, 0, 0)
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
