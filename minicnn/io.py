"""Images in and out: files <-> float tensors (1, C, H, W) in [0, 1], ImageNet and YCbCr conversions.

Loading (``load_image``, ``load_sample``, ``to_tensor``) accepts every common Pillow
mode instead of refusing it, and always gives float values in [0, 1]:

* grayscale ``L`` / ``1`` / ``I;16`` (16-bit PNG, divided by 65535) / ``I`` (32-bit
  integer, how some Pillow versions open 16-bit PNGs: also divided by 65535 and
  clipped) / ``F`` (float, clipped to [0, 1]); with ``mode='RGB'`` the gray channel is
  repeated three times;
* colour ``RGB``, palette ``P`` (expanded), ``CMYK`` / ``YCbCr`` / ``LAB`` / ``HSV``
  (converted by Pillow); with ``mode='L'`` colour becomes luma
  Y' = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as Pillow's ``convert('L')``), computed
  in float so 16-bit precision survives;
* images with transparency (``RGBA``, ``LA``, ``PA``, palette with a transparent
  colour) are composited onto a white background by default (``alpha='white'``);
  ``alpha='black'`` composites onto black, ``alpha='drop'`` ignores the alpha channel.

``size`` resizes so that the LONGEST side has ``size`` pixels (aspect ratio kept),
or to an exact ``(height, width)``; resampling is Lanczos, done in float per channel
and clipped to [0, 1].

Saving (``save_image``) clips to [0, 1], rounds to 8 bits and writes atomically:
a temporary file in the same folder is renamed into place, so an interrupted or
failed write never leaves a partial image (and never clobbers an existing one).

Colour spaces: ``imagenet_normalize`` / ``imagenet_denormalize`` (torchvision's
mean/std), ``rgb_to_ycbcr`` / ``ycbcr_to_rgb`` / ``rgb_to_y`` with MATLAB's
``rgb2ycbcr`` coefficients (ITU-R BT.601, "studio swing"): for RGB in [0, 1],
Y is in [16/255, 235/255] and Cb, Cr in [16/255, 240/255], the convention of the
super-resolution literature (SRCNN's PSNR on Y). These work on minicnn Tensors
(differentiably) and on arrays, for (N, 3, H, W) or (3, H, W).

Sample images come from scikit-image's bundled data (``load_sample('astronaut')``).
"""
from __future__ import annotations

import os


from PIL import Image, UnidentifiedImageError

from minicnn import backend as _be
from minicnn.atomic import atomic_write
from minicnn.tensor import Tensor

__all__ = ["load_image", "save_image", "load_sample", "sample_names", "to_tensor", "to_pil",
           "imagenet_normalize", "imagenet_denormalize", "rgb_to_ycbcr", "ycbcr_to_rgb", "rgb_to_y",
           "IMAGENET_MEAN", "IMAGENET_STD", "MAX_SIZE", "SAMPLE_IMAGES"]

_np = _be.numpy_module()

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: largest side length ``load_image(size=...)`` accepts
MAX_SIZE = 16384
#: scikit-image sample images that ship inside its wheel (no download needed)
SAMPLE_IMAGES = ("astronaut", "brick", "camera", "cat", "chelsea", "clock", "coffee", "coins", "colorwheel",
                 "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
                 "microaneurysms", "moon", "page", "retina", "rocket", "text")
_ALPHA = ("white", "black", "drop")
_LUMA = (0.299, 0.587, 0.114)


# --- PIL image -> float array ----------------------------------------------------------

def _check_mode(mode, op):
    if mode not in ("RGB", "L", None):
        raise ValueError(f"{op}: mode must be 'RGB' or 'L', got {mode!r}")


def _check_alpha(alpha, op):
    if alpha not in _ALPHA:
        raise ValueError(f"{op}: alpha must be one of {_ALPHA}, got {alpha!r}")


def _pil_to_float(img, alpha="white"):
    """A PIL image as a float64 (H, W, C) array in [0, 1], C = 1 (gray) or 3 (colour), alpha resolved."""
    m = img.mode
    if m == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif m == "PA":
        img = img.convert("RGBA")
    elif m == "1":
        img = img.convert("L")
    elif m in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        img = img.convert("RGB")
    elif m in ("RGBa", "La"):  # premultiplied alpha
        img = img.convert("RGBA" if m == "RGBa" else "LA")
    m = img.mode
    if m.startswith("I;16") or m == "I":
        a = _np.asarray(img).astype(_np.float64) / 65535.0
        a = _np.clip(a, 0.0, 1.0)
    elif m == "F":
        a = _np.clip(_np.asarray(img, dtype=_np.float64), 0.0, 1.0)
    elif m in ("L", "LA", "RGB", "RGBA"):
        a = _np.asarray(img).astype(_np.float64) / 255.0
    else:
        try:
            a = _np.asarray(img.convert("RGB")).astype(_np.float64) / 255.0
            m = "RGB"
        except (ValueError, OSError) as exc:
            raise ValueError(f"unsupported image mode {img.mode!r} ({exc})") from None
    if a.ndim == 2:
        a = a[:, :, None]
    if m in ("LA", "RGBA"):
        color, alpha_ch = a[:, :, :-1], a[:, :, -1:]
        if alpha == "white":
            a = color * alpha_ch + (1.0 - alpha_ch)
        elif alpha == "black":
            a = color * alpha_ch
        else:
            a = color
    return a


def _to_mode(a, mode):
    """(H, W, C) float array -> C = 3 for 'RGB', 1 for 'L', unchanged for None."""
    c = a.shape[2]
    if mode == "RGB" and c == 1:
        return _np.repeat(a, 3, axis=2)
    if mode == "L" and c == 3:
        return (a @ _np.asarray(_LUMA))[:, :, None]
    return a


def _target_size(h, w, size, op):
    if size is None:
        return None
    if isinstance(size, (tuple, list)):
        if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) for s in size):
            raise ValueError(f"{op}: size must be an int (longest side) or (height, width), got {size!r}")
        th, tw = size
    elif isinstance(size, int) and not isinstance(size, bool):
        if size <= 0:
            raise ValueError(f"{op}: size must be positive, got {size!r}")
        if size > MAX_SIZE:
            raise ValueError(f"{op}: size {size!r} is too large (at most {MAX_SIZE} pixels a side)")
        scale = size / max(h, w)
        th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    else:
        raise ValueError(f"{op}: size must be an int (longest side) or (height, width), got {size!r}")
    for s in (th, tw):
        if s <= 0:
            raise ValueError(f"{op}: size must be positive, got {size!r}")
        if s > MAX_SIZE:
            raise ValueError(f"{op}: size {size!r} is too large (at most {MAX_SIZE} pixels a side)")
    return th, tw


def _resize(a, hw):
    """Lanczos-resize a float (H, W, C) array to ``hw``, per channel in 32-bit float, clipped to [0, 1]."""
    th, tw = hw
    if a.shape[:2] == (th, tw):
        return a
    chans = [_np.asarray(Image.fromarray(a[:, :, c].astype(_np.float32))  # a mode 'F' image
                         .resize((tw, th), Image.Resampling.LANCZOS)) for c in range(a.shape[2])]
    return _np.clip(_np.stack(chans, axis=2).astype(_np.float64), 0.0, 1.0)


def _finish(a, as_tensor, dtype, backend):
    """(H, W, C) float64 -> (1, C, H, W) float32 array or Tensor."""
    out = _np.ascontiguousarray(a.transpose(2, 0, 1)[None]).astype(_be.resolve_dtype(dtype))
    if not as_tensor:
        return out
    return Tensor(_be.asarray(out, backend=backend))


# --- public loading ----------------------------------------------------------------------

def load_image(path, size=None, mode="RGB", *, alpha="white", as_tensor=True, dtype="float32",
               backend="numpy"):
    """Read an image file as a (1, C, H, W) float Tensor (or array) with values in [0, 1].

    ``size``: None (keep), an int (the longest side, aspect kept) or (height, width).
    ``mode``: 'RGB' (C = 3) or 'L' (C = 1). ``alpha``: 'white' | 'black' | 'drop' (see
    the module doc for every Pillow mode handled). ``as_tensor=False`` gives a NumPy
    array. Errors: a missing file -> FileNotFoundError; a file Pillow cannot decode,
    a bad size or mode -> ValueError; each names the path or the value.
    """
    op = "load_image"
    _check_mode(mode, op)
    _check_alpha(alpha, op)
    _target_size(1, 1, size, op)  # validate before touching the file
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{op}: no such image file: {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{op}: {path!r} is a folder, not an image file")
    try:
        with Image.open(path) as img:
            img.load()
            a = _pil_to_float(img, alpha)
    except UnidentifiedImageError:
        raise ValueError(f"{op}: {path!r} is not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{op}: {path!r} is too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise ValueError(f"{op}: could not decode {path!r}: {exc}") from None
    a = _to_mode(a, mode)
    hw = _target_size(a.shape[0], a.shape[1], size, op)
    if hw is not None:
        a = _resize(a, hw)
    return _finish(a, as_tensor, dtype, backend)


def to_tensor(image, mode=None, *, alpha="white", dtype="float32", backend="numpy"):
    """A PIL image or an (H, W) / (H, W, C) uint8 / uint16 / float array as a (1, C, H, W) Tensor in [0, 1].

    ``mode`` None keeps gray as 1 channel and colour as 3; 'RGB' / 'L' force 3 / 1.
    uint8 arrays are divided by 255, uint16 by 65535, bool gives 0/1, floats are clipped.
    """
    op = "to_tensor"
    _check_mode(mode, op)
    _check_alpha(alpha, op)
    if isinstance(image, Image.Image):
        a = _pil_to_float(image, alpha)
    else:
        arr = _be.to_numpy(image.data) if isinstance(image, Tensor) else _np.asarray(image)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
            raise ValueError(f"{op}: expected an (H, W) or (H, W, C) image array with C in 1..4, "
                             f"got shape {arr.shape}")
        if arr.dtype == _np.bool_:
            a = arr.astype(_np.float64)
        elif arr.dtype == _np.uint8:
            a = arr / 255.0
        elif arr.dtype == _np.uint16:
            a = arr / 65535.0
        elif arr.dtype.kind == "f":
            a = _np.clip(arr.astype(_np.float64), 0.0, 1.0)
        else:
            raise ValueError(f"{op}: unsupported array dtype {arr.dtype} (use uint8, uint16, bool or float)")
        if a.shape[2] in (2, 4):  # gray + alpha or RGBA
            color, al = a[:, :, :-1], a[:, :, -1:]
            a = color * al + (1 - al) if alpha == "white" else color * al if alpha == "black" else color
    return _finish(_to_mode(a, mode), True, dtype, backend)


def sample_names():
    """Names ``load_sample`` accepts (scikit-image images bundled in its wheel)."""
    return list(SAMPLE_IMAGES)


def load_sample(name, size=None, mode="RGB", *, as_tensor=True, dtype="float32", backend="numpy"):
    """A scikit-image sample image (``'astronaut'``, ``'chelsea'``, ``'coffee'``...) like ``load_image``.

    Unknown names raise ValueError listing the available ones; without scikit-image an
    ImportError says how to install it.
    """
    op = "load_sample"
    _check_mode(mode, op)
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"{op}: unknown sample image {name!r}; available: {', '.join(SAMPLE_IMAGES)}")
    try:
        import skimage.data
    except ImportError:
        raise ImportError(f"{op}: sample images come from scikit-image; install it with "
                          "pip install scikit-image (or load your own file with load_image)") from None
    try:
        arr = _np.asarray(getattr(skimage.data, name)())
    except Exception as exc:  # e.g. a scikit-image build without the bundled file
        raise ValueError(f"{op}: scikit-image could not provide {name!r}: {type(exc).__name__}: {exc}") from None
    if arr.dtype == _np.bool_:
        arr = arr.astype(_np.uint8) * 255
    img = Image.fromarray(arr)
    a = _to_mode(_pil_to_float(img), mode)
    hw = _target_size(a.shape[0], a.shape[1], size, op)
    if hw is not None:
        a = _resize(a, hw)
    return _finish(a, as_tensor, dtype, backend)


# --- saving -----------------------------------------------------------------------------

def _as_hwc(image, op):
    """A Tensor / array image as a float64 (H, W, C) NumPy array (C in 1, 3, 4)."""
    if isinstance(image, Tensor):
        a = _be.to_numpy(image.data)
    elif _be.is_array(image):
        a = _be.to_numpy(image)
    elif hasattr(image, "detach") and hasattr(image, "numpy"):  # a torch tensor
        a = image.detach().cpu().numpy()
    else:
        a = _np.asarray(image)
    shape = a.shape
    if a.ndim == 4:
        if shape[0] != 1:
            raise ValueError(f"{op}: expected a single image, got a batch of {shape[0]} (shape {shape}); "
                             "index one first, e.g. x[0]")
        a = a[0]
    if a.ndim == 2:
        a = a[:, :, None]
    elif a.ndim == 3:
        if a.shape[0] in (1, 3, 4):  # minicnn's (C, H, W) layout wins when both would fit
            a = a.transpose(1, 2, 0)
        elif a.shape[2] not in (1, 3, 4):
            raise ValueError(f"{op}: cannot tell the channel axis of an image of shape {shape}; "
                             "expected (1, C, H, W), (C, H, W) or (H, W, C) with C in 1, 3, 4")
    else:
        raise ValueError(f"{op}: expected an image of 2, 3 or 4 dims, got shape {shape}")
    if a.dtype == _np.uint8:
        return a.astype(_np.float64) / 255.0
    if a.dtype.kind not in "fb":
        raise ValueError(f"{op}: expected float values in [0, 1] (or uint8), got dtype {a.dtype}")
    return a.astype(_np.float64)


def to_pil(image):
    """A (1, C, H, W) / (C, H, W) / (H, W, C) / (H, W) image in [0, 1] as an 8-bit PIL image.

    Values are clipped to [0, 1] (NaN becomes 0) and rounded; C = 1 gives mode 'L',
    3 'RGB', 4 'RGBA'.
    """
    a = _as_hwc(image, "to_pil")
    a = _np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=0.0)
    u8 = _np.round(_np.clip(a, 0.0, 1.0) * 255.0).astype(_np.uint8)
    c = u8.shape[2]
    return Image.fromarray(u8[:, :, 0] if c == 1 else u8)  # mode L, RGB or RGBA from the shape


def save_image(image, path, **save_kwargs):
    """Write an image in [0, 1] (Tensor or array, any layout ``to_pil`` takes) to ``path``, atomically.

    The format comes from the extension (.png, .jpg, .bmp, .tif, .webp ...). Values
    are clipped to [0, 1]. The image goes to a temporary file in the same folder
    that is renamed over ``path`` only once complete; on any failure the temporary
    file is removed and ``path`` is untouched. Extra keyword arguments go to
    Pillow's ``save`` (e.g. ``quality=95``). Returns the path.
    """
    op = "save_image"
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"{op}: cannot tell an image format Pillow can write from the extension of {path!r} "
                         "(use .png, .jpg, .bmp, .tif, .webp ...)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{op}: folder {folder!r} does not exist (for {path!r})")
    pil = to_pil(image)
    if fmt == "JPEG" and pil.mode == "RGBA":
        pil = pil.convert("RGB")
    with atomic_write(path) as f:
        pil.save(f, format=fmt, **save_kwargs)
    return path


# --- colour spaces ------------------------------------------------------------------------

def _channel_axis(x, op):
    shape = tuple(x.shape)
    if len(shape) == 4 and shape[1] == 3:
        return 1
    if len(shape) == 3 and shape[0] == 3:
        return 0
    raise ValueError(f"{op}: expected an RGB image of shape (N, 3, H, W) or (3, H, W), got {shape}")


def _const(values, x, axis):
    """``values`` shaped to broadcast along the channel ``axis`` of ``x``, same dtype/backend."""
    shape = [1] * len(x.shape)
    shape[axis] = len(values)
    data = x.data if isinstance(x, Tensor) else x
    dt = data.dtype if data.dtype.kind == "f" else _np.dtype(_np.float32)
    arr = _be.array_like(_np.asarray(values, dtype=dt).reshape(shape), data)
    return Tensor(arr) if isinstance(x, Tensor) else arr


def _as_float(x):
    if isinstance(x, Tensor) or _be.is_array(x):
        return x
    return _np.asarray(x, dtype=_np.float64)


def imagenet_normalize(x):
    """(x - mean) / std per channel with ImageNet's mean/std (x in [0, 1]); Tensor (differentiable) or array."""
    x = _as_float(x)
    axis = _channel_axis(x, "imagenet_normalize")
    return (x - _const(IMAGENET_MEAN, x, axis)) / _const(IMAGENET_STD, x, axis)


def imagenet_denormalize(x):
    """The inverse of ``imagenet_normalize``: x * std + mean."""
    x = _as_float(x)
    axis = _channel_axis(x, "imagenet_denormalize")
    return x * _const(IMAGENET_STD, x, axis) + _const(IMAGENET_MEAN, x, axis)


# MATLAB rgb2ycbcr for images in [0, 1]: ycbcr = offset + M @ rgb
_YCC_M = _np.array([[65.481, 128.553, 24.966],
                    [-37.797, -74.203, 112.0],
                    [112.0, -93.786, -18.214]]) / 255.0
_YCC_OFFSET = _np.array([16.0, 128.0, 128.0]) / 255.0
_YCC_M_INV = _np.linalg.inv(_YCC_M)


def _mix(x, matrix, offset_before, offset_after, op):
    """out_c = sum_k matrix[c, k] * (x_k - offset_before[k]) + offset_after[c] along the channel axis."""
    x = _as_float(x)
    axis = _channel_axis(x, op)
    idx = [slice(None)] * len(x.shape)
    chans = []
    for k in range(3):
        idx[axis] = slice(k, k + 1)
        chans.append(x[tuple(idx)] - float(offset_before[k]))
    outs = []
    for c in range(3):
        acc = chans[0] * float(matrix[c, 0]) + chans[1] * float(matrix[c, 1]) + chans[2] * float(matrix[c, 2])
        outs.append(acc + float(offset_after[c]))
    if isinstance(x, Tensor):
        from minicnn.ops import cat
        return cat(outs, dim=axis)
    return _be.array_module(x).concatenate(outs, axis=axis)


def rgb_to_ycbcr(x):
    """RGB in [0, 1] -> YCbCr, MATLAB ``rgb2ycbcr`` (BT.601): Y in [16, 235]/255, Cb, Cr in [16, 240]/255."""
    return _mix(x, _YCC_M, (0.0, 0.0, 0.0), _YCC_OFFSET, "rgb_to_ycbcr")


def ycbcr_to_rgb(x):
    """YCbCr (as ``rgb_to_ycbcr`` makes it) -> RGB, MATLAB ``ycbcr2rgb``; not clipped."""
    return _mix(x, _YCC_M_INV, _YCC_OFFSET, (0.0, 0.0, 0.0), "ycbcr_to_rgb")


def rgb_to_y(x):
    """Only the Y (luma) channel of ``rgb_to_ycbcr``, shaped (N, 1, H, W) or (1, H, W)."""
    x = _as_float(x)
    axis = _channel_axis(x, "rgb_to_y")
    idx = [slice(None)] * len(x.shape)
    parts = []
    for k in range(3):
        idx[axis] = slice(k, k + 1)
        parts.append(x[tuple(idx)] * float(_YCC_M[0, k]))
    return parts[0] + parts[1] + parts[2] + float(_YCC_OFFSET[0])
