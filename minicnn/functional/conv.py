"""2-D convolution and transposed convolution (torch.nn.functional names and arguments).

``conv2d`` and ``conv_transpose2d`` are adjoint to each other: the forward of one is the
input-gradient of the other, so both Functions call the same three primitives of
``minicnn.functional._route``:

* ``conv``            im2col on strided views + one GEMM             (conv2d forward)
* ``conv_transpose``  one GEMM + col2im by kh*kw strided adds        (conv2d input-gradient)
* ``weight_grad``     grad_output @ im2col(input)^T                  (both weight-gradients)

(``_route`` may run each through a cheaper algorithm for the shape: ``_lowered`` copies the
input kw instead of kh*kw times, ``_shifted`` not at all; the numbers are the same).

Gradients nobody asked for are skipped: with a weight that does not require grad
(style transfer, deep dream) no weight gradient is computed and the input is not kept.
"""
from __future__ import annotations

from minicnn.functional import _route as M
from minicnn.tensor import Function, Tensor

__all__ = ["conv2d", "conv_transpose2d", "Conv2d", "ConvTranspose2d"]


class Conv2d(Function):
    """y = conv2d(x, W, b): y[n,o,h,w] = b[o] + sum_{c,i,j} W[o,c,i,j] * xp[n, c, h*s+i*d, w*s+j*d]
    (channels c of o's group, xp = x zero-padded).

    With g = dL/dy:
      dL/dx = conv_transpose(g, W): every output pixel sends g[n,o,h,w] * W[o,c,i,j] back to
              the input pixel it read, xp[n, c, h*s+i*d, w*s+j*d] (then the padding is cut off)
      dL/dW[o,c,i,j] = sum_{n,h,w} g[n,o,h,w] * xp[n, c, h*s+i*d, w*s+j*d]   (= g @ cols^T)
      dL/db[o] = sum_{n,h,w} g[n,o,h,w]
    """

    def forward(self, x, w, b, stride, pads, dilation, groups):
        self.unbatched = x.ndim == 3
        if self.unbatched:
            x = x[None]
        self.args = (stride, pads, dilation, groups)
        self.x_hw, self.w_shape = x.shape[2:], w.shape
        need_x, need_w = self.needs_input_grad[:2]
        self.x = x if need_w else None      # only the weight-gradient reads the input
        self.w = w if need_x else None      # only the input-gradient reads the weight
        y = M.conv(x, w, stride, pads, dilation, groups)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y[0] if self.unbatched else y

    def backward(self, g):
        if self.unbatched:
            g = g[None]
        stride, pads, dilation, groups = self.args
        need_x, need_w, need_b = self.needs_input_grad[:3]
        dx = dw = db = None
        if need_x:
            dx = M.conv_transpose(g, self.w, stride, (pads[0], pads[2]), self.x_hw, dilation, groups)
            dx = dx[0] if self.unbatched else dx
        if need_w:
            dw = M.weight_grad(self.x, g, self.w_shape, stride, pads, dilation, groups)
        if need_b:
            db = g.sum(axis=(0, 2, 3))
        return dx, dw, db, None, None, None, None


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, W, b), the adjoint of conv2d with the same W (C_in, C_out/G, kh, kw):
    each input pixel x[n,c,h,w] adds x * W[c,o,:,:] into the output window starting at
    (h*s - p, w*s - p) with taps d apart; output_padding adds rows/columns at the bottom/right.

    With g = dL/dy (conv2d below has the same stride, padding, dilation and groups, and
    bottom/right padding p - output_padding so that its output has x's size):
      dL/dx = conv2d(g, W)
      dL/dW[c,o,i,j] = sum_{n,h,w} x[n,c,h,w] * gp[n, o, h*s+i*d, w*s+j*d]   (conv2d's weight
              gradient with g as its input and x as its output gradient)
      dL/db[o] = sum_{n,h,w} g[n,o,h,w]
    """

    def forward(self, x, w, b, stride, padding, output_padding, dilation, groups):
        self.unbatched = x.ndim == 3
        if self.unbatched:
            x = x[None]
        (ph, pw), (oph, opw) = padding, output_padding
        H, W = x.shape[2:]
        out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
                       zip((H, W), stride, padding, dilation, w.shape[2:], output_padding))
        # the conv2d whose adjoint this is: padding p, and p - output_padding at the far side
        self.args = (stride, (ph, ph - oph, pw, pw - opw), dilation, groups)
        self.w_shape = w.shape
        need_x, need_w = self.needs_input_grad[:2]
        self.x = x if need_w else None
        self.w = w if need_x else None
        y = M.conv_transpose(x, w, stride, padding, out_hw, dilation, groups)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y[0] if self.unbatched else y

    def backward(self, g):
        if self.unbatched:
            g = g[None]
        stride, pads, dilation, groups = self.args
        need_x, need_w, need_b = self.needs_input_grad[:3]
        dx = dw = db = None
        if need_x:
            dx = M.conv(g, self.w, stride, pads, dilation, groups)
            dx = dx[0] if self.unbatched else dx
        if need_w:
            dw = M.weight_grad(g, self.x, self.w_shape, stride, pads, dilation, groups)
        if need_b:
            db = g.sum(axis=(0, 2, 3))
        return dx, dw, db, None, None, None, None, None


# --- argument checks (all before any array work) ------------------------------------------

def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) or (
        hasattr(v, "dtype") and getattr(v, "ndim", None) == 0 and v.dtype.kind in "iu")


def _pair(op, name, value):
    if _is_int(value):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        return (int(value[0]), int(value[1]))
    if isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        raise ValueError(f"{op}: expected {name} to be a single integer value or a list of 2 values "
                         f"to match the convolution dimensions, but got {name}={list(value)}")
    raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


def _check_tensors(op, input, weight, bias):
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
    if input.ndim not in (3, 4):
        raise ValueError(f"{op}: expected 3D (unbatched) or 4D (batched) input, but got input "
                         f"of size: {list(input.shape)}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4D weight (out_channels, in_channels/groups, kH, kW), "
                         f"but got weight of size: {list(weight.shape)}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.dtype}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"{op}: input dtype {input.dtype} and {name} dtype {t.dtype} differ; "
                            "cast one of them (.float() or .double())")


def _check_hyper(op, stride, dilation, groups):
    stride, dilation = _pair(op, "stride", stride), _pair(op, "dilation", dilation)
    if not _is_int(groups):
        raise TypeError(f"{op}: groups must be an int, got {groups!r}")
    if groups <= 0:
        raise ValueError(f"{op}: non-positive groups is not supported, got groups={groups}")
    if min(stride) <= 0:
        raise ValueError(f"{op}: non-positive stride is not supported, got stride={stride}")
    if min(dilation) <= 0:
        raise ValueError(f"{op}: dilation should be greater than zero, but got dilation={dilation}")
    return stride, dilation, int(groups)


def _check_bias(op, bias, channels, weight):
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != channels):
        raise ValueError(f"{op}: given weight of size {list(weight.shape)}, expected bias to be "
                         f"1-dimensional with {channels} elements, but got bias of size "
                         f"{list(bias.shape)} instead")


def _conv_pads(op, padding, kernel, stride, dilation):
    """(top, bottom, left, right) zero padding from an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"{op}: invalid padding string {padding!r}; expected 'same', 'valid', "
                             "an int or a pair of ints")
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                             f"(got stride={stride})")
        # torch: total d*(k-1) per axis, half (rounded down) before, the rest after
        (th, tw) = (d * (k - 1) for d, k in zip(dilation, kernel))
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = _pair(op, "padding", padding)
    if min(ph, pw) < 0:
        raise ValueError(f"{op}: negative padding is not supported, got padding={(ph, pw)}")
    return (ph, ph, pw, pw)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, exactly as torch.nn.functional.conv2d.

    input (N, C_in, H, W) or unbatched (C_in, H, W); weight (C_out, C_in/groups, kH, kW);
    bias (C_out,) or None; stride, dilation: int or pair; padding: int, pair, 'valid' or
    'same' (stride 1 only; for an even dilated kernel the extra row/column goes to the
    bottom/right, as torch). Output (N, C_out, H_out, W_out) with
    H_out = (H + 2*pad - dilation*(kH-1) - 1) // stride + 1.
    """
    op = "conv2d"
    _check_tensors(op, input, weight, bias)
    stride, dilation, groups = _check_hyper(op, stride, dilation, groups)
    kernel = tuple(weight.shape[2:])
    pads = _conv_pads(op, padding, kernel, stride, dilation)
    C_out, Cg = weight.shape[:2]
    C_in = input.shape[-3]
    if C_out % groups:
        raise ValueError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} "
                         f"at dimension 0, but got weight of size {list(weight.shape)} instead")
    if C_in != Cg * groups:
        raise ValueError(f"{op}: given groups={groups}, weight of size {list(weight.shape)}, expected "
                         f"input{list(input.shape)} to have {Cg * groups} channels, but got {C_in} "
                         "channels instead")
    _check_bias(op, bias, C_out, weight)
    H, W = input.shape[-2:]
    padded = (H + pads[0] + pads[1], W + pads[2] + pads[3])
    dilated = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if padded[0] < dilated[0] or padded[1] < dilated[1]:
        raise ValueError(f"{op}: calculated padded input size per channel: ({padded[0]} x {padded[1]}). "
                         f"Kernel size: ({dilated[0]} x {dilated[1]}). Kernel size can't be greater "
                         "than actual input size")
    return Conv2d.apply(input, weight, bias, stride, pads, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution, exactly as torch.nn.functional.conv_transpose2d.

    input (N, C_in, H, W) or unbatched (C_in, H, W); weight (C_in, C_out/groups, kH, kW);
    bias (C_out,) or None. Output size per axis:
    (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
    output_padding must be smaller than stride or dilation (torch's rule).
    """
    op = "conv_transpose2d"
    _check_tensors(op, input, weight, bias)
    stride, dilation, groups = _check_hyper(op, stride, dilation, groups)
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a pair of ints, not the string {padding!r}")
    padding = _pair(op, "padding", padding)
    output_padding = _pair(op, "output_padding", output_padding)
    if min(padding) < 0:
        raise ValueError(f"{op}: negative padding is not supported, got padding={padding}")
    if min(output_padding) < 0:
        raise ValueError(f"{op}: negative output_padding is not supported, got "
                         f"output_padding={output_padding}")
    for a in range(2):
        if output_padding[a] >= stride[a] and output_padding[a] >= dilation[a]:
            raise ValueError(
                f"{op}: output padding must be smaller than either stride or dilation, but got "
                f"output_padding_height: {output_padding[0]} output_padding_width: {output_padding[1]} "
                f"stride_height: {stride[0]} stride_width: {stride[1]} dilation_height: "
                f"{dilation[0]} dilation_width: {dilation[1]}")
    C_w, Cg_out = weight.shape[:2]
    C_in = input.shape[-3]
    if C_w % groups:
        raise ValueError(f"{op}: given groups={groups}, expected weight to be divisible by {groups} "
                         f"at dimension 0, but got weight of size {list(weight.shape)} instead")
    if C_in != C_w:
        raise ValueError(f"{op}: given transposed=1, weight of size {list(weight.shape)}, expected "
                         f"input{list(input.shape)} to have {C_w} channels, but got {C_in} "
                         "channels instead")
    _check_bias(op, bias, Cg_out * groups, weight)
    H, W = input.shape[-2:]
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n, s, p, d, k, o in
                zip((H, W), stride, padding, dilation, weight.shape[2:], output_padding))
    if min(out) <= 0:
        raise ValueError(f"{op}: given input size per channel: ({H} x {W}). Calculated output size "
                         f"per channel: ({out[0]} x {out[1]}). Output size is too small")
    return ConvTranspose2d.apply(input, weight, bias, stride, padding, output_padding, dilation, groups)
