"""Which algorithm computes each convolution primitive, by shape.

conv2d and conv_transpose2d are built from three primitives (see ``conv.py``), and each has
several algorithms that give the same numbers at different costs:

* ``_im2col.gather``   im2col (kh*kw copies of the input) + one GEMM per row block: general
* ``_im2col.scatter``  one GEMM + col2im adds: general, the adjoint of gather
* ``_lowered``         kw copies of the input, one GEMM per output (or kernel) row over
                       overlapping views: needs stride 1 (weight gradient) or consecutive
                       kernel rows (forward)
* ``_shifted``         no copy, a GEMM per kernel row + shifted adds: stride 1, one group

With stride 1 a conv and its adjoint compute each other's result with the kernel flipped in
space and its channels swapped (``flip_swap``), so every stride-1 call may take any of them.
The rules below pick the one measured cheapest for the shape; the tests force every route.
"""
from __future__ import annotations

from minicnn.functional import _im2col, _lowered, _shifted
from minicnn.functional._im2col import flip_swap, out_size

__all__ = ["conv", "conv_transpose", "weight_grad", "flip_swap"]


def _shifted_is_cheaper(c_in, c_out, taps):
    """Whether ``_shifted.conv`` beats im2col (gather or scatter) for a stride-1, one-group conv with
    ``taps`` = kh*kw. Measured A/B through the whole stack (2 BLAS threads, float32): SRCNN's
    64->32 5x5 layer at 512x512 runs 1.4-1.6x faster (SRCNN x2 inference 413 -> 272 ms), but
    for 3x3 kernels the results scattered around parity run to run (64->64 @256: 1.2x faster
    in isolation, 1.3x slower inside a network), so 3x3 layers keep im2col. Thin GEMMs (C < 64)
    and deep layers (C >= 256, where im2col's K = 9C GEMM runs near peak) lose."""
    return taps >= 25 and 64 <= c_in <= 128 and c_out <= c_in


def _gather_is_cheaper(c_src, c_dst):
    """For stride 1, per group: gather copies c_src*kh*kw values per output pixel into cols,
    scatter writes c_dst*kh*kw per input pixel from its GEMM and adds them back. Measured on
    VGG-like layers (single-threaded, to leave out noise): gather wins or ties for equal
    channel counts (its GEMM has the longer inner dimension); with twice as many source
    channels scatter is 15-20 % faster (64->128 input-gradient, 128->64 forward), and
    far faster at 3->64 (27 instead of 576 columns per pixel). So: gather up to a tie."""
    return c_src <= c_dst


def _lowered_is_cheaper(o_per_group, c_per_group, w_out, kernel, dilation):
    """Whether kernel-row lowering (``_lowered.conv``) beats im2col for a conv from ``c_per_group``
    to ``o_per_group`` channels per group with output rows ``w_out`` wide. It copies the input kw
    instead of kh*kw times, but its GEMMs are one per output row, (Og, kh*Cg*kw) @ (kh*Cg*kw, Wo),
    smaller than im2col's. Measured (2 BLAS threads, the two taking turns, median of the paired ratios):
    64-channel 3x3 layers 128+ px wide run 9-17 % faster forward (VGG's first layers, RED-Net at
    512 px), 128-channel ones 4-9 % slower (the copy im2col saves is a smaller share of its
    larger GEMM); single-threaded CPU time also favours it on SRCNN's 9x9 first layer and the
    input-gradient of its 32-channel 5x5 layer, not on narrow rows (512->512 @16: 1.6x) or few
    output channels (32->1: 2.8x). Its per-row GEMMs need a long enough inner dimension
    kh*Cg*kw: VGG's 3->64 layer (27) is 37-55 % slower at batch 1, SRCNN's 1->64 9x9 (81) 15 %
    faster. It needs consecutive kernel rows; a 1x1 kernel needs no copy in im2col at all."""
    inner = kernel[0] * c_per_group * kernel[1]
    return (dilation[0] == 1 and 32 <= o_per_group <= 64 and w_out >= 128 and inner >= 64
            and tuple(kernel) != (1, 1))


def conv(x, w, stride, pads, dilation, groups):
    """Cross-correlation of ``x`` (N, C, H, W) with ``w`` (O, C/G, kh, kw), pads (top, bottom, left, right).

    conv2d's forward and conv_transpose2d's input-gradient.
    """
    O, Cg, kh, kw = w.shape
    if tuple(stride) == (1, 1) and groups == 1 and _shifted_is_cheaper(Cg, O, kh * kw):
        return _shifted.conv(x, w, pads, dilation)
    w_out = out_size(x.shape[3], kw, stride[1], dilation[1], pads[2], pads[3])
    if _lowered_is_cheaper(O // groups, Cg, w_out, (kh, kw), dilation):
        return _lowered.conv(x, w, stride, pads, dilation, groups)
    if tuple(stride) == (1, 1) and not _gather_is_cheaper(Cg, O // groups):
        (dh, dw), (pt, pb, pl, pr) = dilation, pads
        H, W = x.shape[2:]
        out_hw = (out_size(H, kh, 1, dh, pt, pb), out_size(W, kw, 1, dw, pl, pr))
        return _im2col.scatter(x, flip_swap(w, groups), (1, 1), (dh * (kh - 1) - pt, dw * (kw - 1) - pl),
                               out_hw, dilation, groups)
    return _im2col.gather(x, w, stride, pads, dilation, groups)


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
            return _shifted.conv(y, flip_swap(w, 1), pads, dilation)
        if _lowered_is_cheaper(Cg, O // groups, Wout, (kh, kw), dilation):
            return _lowered.conv(y, flip_swap(w, groups), (1, 1), pads, dilation, groups)
        if _gather_is_cheaper(O // groups, Cg):
            return _im2col.gather(y, flip_swap(w, groups), (1, 1), pads, dilation, groups)
    return _im2col.scatter(y, w, stride, pad_tl, out_hw, dilation, groups)


def _lowered_grad_is_cheaper(c_per_group, pixels):
    """For the stride-1 weight gradient, kernel-row lowering's GEMMs are (Cg*kw, Ho*Wo) @ (Ho*Wo, Og),
    one per image and kernel row, their partial results summed over the batch. Measured (2 BLAS
    threads, paired): 7-29 % faster than im2col on VGG's layers at batch 8 from 64x64 outputs up,
    twice as fast on RED-Net's 40 px patches, but 2-10 % slower where an image has at most
    ``_im2col.FOLD_BELOW_PIXELS`` output pixels (im2col then folds the batch into one GEMM), and
    with 1-3 input channels its GEMMs are too thin (1.6-2.2x single-threaded)."""
    return c_per_group >= 16 and pixels > _im2col.FOLD_BELOW_PIXELS


def weight_grad(x, g, w_shape, stride, pads, dilation, groups):
    """dL/dw for y = conv(x, w) with output gradient ``g``: shape ``w_shape``.

    conv2d's and (with x and g swapped) conv_transpose2d's weight gradient.
    """
    if tuple(stride) == (1, 1) and _lowered_grad_is_cheaper(w_shape[1], g.shape[2] * g.shape[3]):
        return _lowered.weight_grad(x, g, w_shape, pads, dilation, groups)
    return _im2col.weight_grad(x, g, w_shape, stride, pads, dilation, groups)
