"""The images of a style-transfer run, read, converted and resized once for every scale (NumPy only).

Both twins get exactly these arrays, so any difference between them comes from the
optimisation, not from image handling.

* The content image is resized (bicubic with antialiasing, ``minicnn.imresize``) so its
  longest side is ``size`` at the last scale and size / 2, size / 4, ... at the coarser
  ones; the aspect ratio is kept.
* Each style image is resized so its longest side is ``style_scale`` times the content's
  longest side at the same scale.
* ``init``: 'content' starts from the content image, 'random' from uniform noise in
  [0, 1) drawn from ``numpy.random.default_rng(seed)``, anything else is an image file
  resized to the content's size (aspect ratio not kept).
* Images are (3, H, W) arrays in [0, 1]: grayscale is repeated to three channels, an alpha
  channel is composited onto white, 16-bit and 8-bit values are scaled to [0, 1]
  (``minicnn.io``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from algorithms.common.files import check_input_file
from algorithms.style.options import StyleOptions, check_memory
from minicnn.imresize import imresize

# BT.601 full-range RGB -> YCbCr (the JPEG convention), without the +0.5 chroma offsets,
# which cancel in the luminance transfer; and its exact inverse.
RGB_TO_YCBCR = np.array([[0.299, 0.587, 0.114],
                         [-0.168735891647856, -0.331264108352144, 0.5],
                         [0.5, -0.418687589158970, -0.081312410841030]])
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)


@dataclass
class Scale:
    hw: tuple            # (height, width) of the image optimised at this scale
    content: np.ndarray  # (3, H, W) in [0, 1]
    styles: list         # [(3, Hs, Ws), ...] in [0, 1]


@dataclass
class Plan:
    scales: list         # [Scale, ...] coarse to fine
    blend: list          # style blend weights, summing to 1
    init: np.ndarray | None   # (3, H, W) start image of the first scale; None = the content image
    memory: int          # estimated bytes for the largest scale


def to_chw(image, what) -> np.ndarray:
    """An image array -> (3, H, W) float64 in [0, 1] (``minicnn.io.to_tensor``'s conversions).

    Accepts (H, W) grayscale, (H, W, 1|2|3|4) (gray, gray+alpha, RGB, RGBA; alpha is
    composited onto white) of uint8 (/255), uint16 (/65535) or float (clipped to [0, 1]),
    or an already planar (3, H, W) float array.
    """
    from minicnn import io as mio
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] == 3 and a.shape[-1] not in (1, 2, 3, 4) and a.dtype.kind == "f":
        return np.clip(a, 0.0, 1.0)
    try:
        return mio.to_tensor(a, mode="RGB", dtype="float64").numpy()[0]
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what}: {e}") from None


def read_image(source, what) -> np.ndarray:
    """A path or an array -> (3, H, W) float64 in [0, 1]; one-line errors naming ``what`` and the file."""
    if isinstance(source, (str, Path)):
        from minicnn import io as mio
        check_input_file(source, what)
        try:
            return mio.load_image(source, mode="RGB", as_tensor=False, dtype="float64")[0]
        except ValueError as e:
            raise ValueError(f"{what} {str(source)!r} is not a readable image ({e})") from None
    if not isinstance(source, np.ndarray):
        raise TypeError(f"{what} must be an image path or a NumPy array, got {type(source).__name__}")
    return to_chw(source, what)


def fit_longest(hw, longest):
    """(H, W) scaled so max(H, W) == longest, aspect ratio kept, each side >= 1."""
    h, w = hw
    f = longest / max(h, w)
    return max(1, int(round(h * f))), max(1, int(round(w * f)))


def resize(chw, hw):
    """(3, H, W) -> (3, h, w), bicubic with antialiasing, clipped to [0, 1]; unchanged when sizes match."""
    if tuple(chw.shape[1:]) == tuple(hw):
        return chw
    return np.clip(imresize(chw, output_shape=tuple(hw)), 0.0, 1.0)


def prepare(content, styles, opts: StyleOptions) -> Plan:
    """Read every input, check sizes and memory, and resize the images for each scale.

    Everything that can fail on the inputs fails here, before any optimisation."""
    if isinstance(styles, (str, Path, np.ndarray)):
        styles = [styles]
    styles = list(styles)
    opts.check(len(styles))
    if isinstance(opts.weights, (str, Path)) and opts.weights != "random":
        check_input_file(opts.weights, "weights")
    content_img = read_image(content, "content image")
    style_imgs = [read_image(s, f"style image {i + 1}" if len(styles) > 1 else "style image")
                  for i, s in enumerate(styles)]
    init_img = None
    if opts.init not in ("content", "random"):
        init_img = read_image(opts.init, "init image")

    scales = []
    for longest in opts.scale_sizes():
        hw = fit_longest(content_img.shape[1:], longest)
        need = opts.last_layer.stride
        if min(hw) < need:
            raise ValueError(f"the content image at {hw[1]}x{hw[0]} px is too small for layer "
                             f"{opts.last_layer.name}, which needs at least {need} px on each side; "
                             "use a larger --size or fewer --scales")
        style_hws = [fit_longest(s.shape[1:], max(1, int(round(opts.style_scale * longest))))
                     for s in style_imgs]
        for i, shw in enumerate(style_hws):
            if min(shw) < need:
                raise ValueError(f"style image {i + 1} at {shw[1]}x{shw[0]} px is too small for layer "
                                 f"{opts.last_layer.name} (needs {need} px on each side); raise "
                                 "--style-scale or --size")
        scales.append((hw, style_hws))
    memory = check_memory(opts, *scales[-1][0], style_shapes=scales[-1][1])

    plan_scales = [Scale(hw, resize(content_img, hw), [resize(s, shw) for s, shw in zip(style_imgs, shws)])
                   for hw, shws in scales]
    h0, w0 = plan_scales[0].hw
    if opts.init == "random":
        init = np.random.default_rng(opts.seed).random((3, h0, w0))
    elif init_img is not None:
        init = resize(init_img, (h0, w0))
    else:
        init = None
    return Plan(plan_scales, opts.blend(len(styles)), init, memory)


def save_image(path, hwc):
    """Write an (H, W, 3) float image in [0, 1] atomically (format from the file's extension)."""
    from minicnn import io as mio
    return mio.save_image(np.ascontiguousarray(np.asarray(hwc).transpose(2, 0, 1)), path)
