"""Single-image super-resolution on minicnn: SRCNN and ESPCN, data, training, tiled inference, evaluation.

The standard protocol (SRCNN, ESPCN, VDSR papers), followed everywhere here
---------------------------------------------------------------------------
1. Work on luminance: Y of YCbCr as MATLAB's ``rgb2ycbcr`` (ITU-R BT.601,
   "studio" range Y in [16, 235]) computed on the 8-bit image and rounded to
   8 bits, then divided by 255. Grayscale images are used as Y directly.
2. Crop the high-resolution (HR) image to a multiple of the scale ``s``
   (``modcrop``) and make the low-resolution (LR) image with MATLAB-compatible
   bicubic ``imresize(hr, 1/s)`` *with antialiasing* (``minicnn.imresize``),
   in floating point (no rounding of the LR image, as the papers' code).
3. SRCNN works on the bicubic upscale ``imresize(lr, s)``; ESPCN on the LR image.
4. Scores: PSNR and SSIM on Y in [0, 1], outputs clipped and rounded to 8 bits
   first, with a border of ``s`` pixels shaved off (``evaluate``).

Colour images are upscaled by running the network on Y and bicubic on Cb and
Cr (``upscale_image``); any size works because inference runs in overlapping
tiles (``run_tiled``) that give the same result as one pass.

Data
----
Training uses images that ship inside scikit-image (``skimage.data``), never
the network: ``TRAIN_IMAGES`` = astronaut, rocket, the left view of
stereo_motorcycle, moon, brick, grass, gravel, clock, page (colour ones
converted to Y). ``coins`` (``VAL_IMAGES``) gives the validation curve during
training (nothing is selected by it: the weights of the last step are kept).
``TEST_IMAGES`` = camera (grayscale), chelsea and coffee (colour photographs)
are never seen in training; ``minicnn eval-sr`` reports them. A folder of
images can replace either set (``--data`` / ``--dataset``), e.g. Set5/Set14
for numbers comparable with the papers.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import minicnn
from algorithms.common import dihedral
from algorithms.common.files import IMAGE_SUFFIXES, atomic_path, list_images  # noqa: F401 (re-exported)
from algorithms.common.metrics import psnr, ssim
from algorithms.common.progress import progress, status
from minicnn import functional as F
from minicnn import io as mio
from minicnn.imresize import imresize
from minicnn.models.espcn import ESPCN
from minicnn.models.srcnn import SRCNN

SCALES = (2, 3, 4)
MODELS = ("srcnn", "espcn")
TRAIN_IMAGES = ("astronaut", "rocket", "motorcycle", "moon", "brick", "grass", "gravel", "clock", "page")
VAL_IMAGES = ("coins",)
TEST_IMAGES = ("camera", "chelsea", "coffee")
WEIGHTS_DIR = Path(minicnn.__file__).resolve().parent / "weights"
HR_PATCH = 48          # training patches: 48x48 high-resolution pixels (LR 24, 16, 12 for x2, x3, x4)
# Adam learning rates. SRCNN's ReLUs die at 1e-3 (all 32 conv2 units within 50 steps in our runs, the
# output then stays exactly bicubic); 1e-4, the paper's rate for its first layers, keeps them alive.
DEFAULT_LR = {"srcnn": 1e-4, "espcn": 1e-3}


# --- images: uint8 as read from files, or float64 in [0, 1]; (H, W) gray or (H, W, 3) colour ------------

def as_float(image):
    """An image as float64 in [0, 1]: uint8 is divided by 255, uint16 by 65535, floats are kept."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a / 255.0
    if a.dtype == np.uint16:
        return a / 65535.0
    if a.dtype == bool:
        return a.astype(np.float64)
    if a.dtype.kind != "f":
        raise ValueError(f"expected a uint8, uint16 or float image, got dtype {a.dtype}")
    return a.astype(np.float64, copy=False)


def to_uint8(image):
    """Clip to [0, 1] and round to 8 bits."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _hwc(chw):
    """(1, C, H, W) or (C, H, W) -> (H, W) for one channel, (H, W, C) otherwise."""
    a = np.asarray(chw)
    a = a[0] if a.ndim == 4 else a
    return a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)


def rgb_to_ycbcr(rgb):
    """(H, W, 3) RGB (uint8, or float in [0, 1]) -> YCbCr in [0, 1] (MATLAB ``rgb2ycbcr`` via ``minicnn.io``)."""
    return np.moveaxis(mio.rgb_to_ycbcr(np.moveaxis(as_float(rgb), -1, 0)), 0, -1)


def ycbcr_to_rgb(ycc):
    """The exact inverse of ``rgb_to_ycbcr`` (float64, not clipped)."""
    return np.moveaxis(mio.ycbcr_to_rgb(np.moveaxis(np.asarray(ycc, dtype=np.float64), -1, 0)), 0, -1)


def luminance(image):
    """Y in [0, 1] (float64) of an image as the papers compute it.

    Colour (H, W, 3): MATLAB ``rgb2ycbcr`` on the 8-bit image, i.e. Y rounded to
    8-bit levels, / 255. Grayscale (H, W): the image itself (used as Y).
    """
    a = as_float(image)
    if a.ndim == 2:
        return a
    return np.round(rgb_to_ycbcr(a[..., :3])[..., 0] * 255.0) / 255.0


def check_sample_name(name):
    if name != "motorcycle" and name not in mio.SAMPLE_IMAGES:
        raise ValueError(f"unknown sample image {name!r}; use one of motorcycle, {', '.join(mio.SAMPLE_IMAGES)}")
    return name


def sample_image(name):
    """An 8-bit image bundled with scikit-image; 'motorcycle' is stereo_motorcycle's left view."""
    try:
        from skimage import data
    except ImportError:
        raise RuntimeError("the default images come from scikit-image, which is not installed: "
                           "pip install scikit-image, or give a folder of images") from None
    check_sample_name(name)
    img = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    return to_uint8(_hwc(mio.to_tensor(np.asarray(img), dtype="float64").numpy()))


def read_image(path):
    """An image file as uint8 (H, W) or (H, W, 3) (``minicnn.io.load_image``; transparency
    composited onto white, 16-bit images rounded to 8 bits as the protocol works in 8 bits)."""
    return to_uint8(_hwc(mio.load_image(path, mode=None, as_tensor=False, dtype="float64")))


def write_image(path, image):
    """Write a uint8 image, or a float one in [0, 1] (clipped, rounded), atomically (``minicnn.io``)."""
    return mio.save_image(np.asarray(image), path)


def load_named_images(names=None, folder=None, what="dataset"):
    """[(name, uint8 image)] from a folder, or from ``skimage.data`` names."""
    if folder is not None:
        return [(p.stem, read_image(p)) for p in list_images(folder, what)]
    return [(n, sample_image(n)) for n in names]


# --- the degradation protocol -----------------------------------------------------------------

def check_scale(scale):
    if isinstance(scale, bool) or scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale!r}")
    return int(scale)


def modcrop(image, scale):
    """Crop the bottom/right so both sides are multiples of ``scale``."""
    h, w = image.shape[:2]
    return image[:h - h % scale, :w - w % scale]


def downscale(hr, scale):
    """MATLAB ``imresize(hr, 1/scale, 'bicubic')`` of a modcropped (H, W[, C]) image, as float64."""
    h, w = hr.shape[:2]
    if h % scale or w % scale:
        raise ValueError(f"downscale: image size {h}x{w} is not a multiple of scale {scale}; modcrop first")
    if h // scale < 1 or w // scale < 1:
        raise ValueError(f"downscale: image {h}x{w} is too small for scale {scale}")
    return imresize(as_float(hr), output_shape=(h // scale, w // scale), axes=(0, 1))


def upscale(lr, scale, method="bicubic"):
    """MATLAB ``imresize(lr, scale, method)`` of an (H, W[, C]) image (uint8 or float), as float64."""
    return imresize(as_float(lr), scale=scale, method=method, axes=(0, 1))


def make_pair(image, scale):
    """(lr, hr) float64 Y images of an image (uint8, or float in [0, 1]) by the protocol above."""
    hr = modcrop(luminance(image), scale)
    return downscale(hr, scale), hr


def quantize(y):
    """Clip to [0, 1] and round to 8-bit levels, as the papers do before scoring."""
    return np.round(np.clip(y, 0.0, 1.0) * 255.0) / 255.0


# --- models and weights files -------------------------------------------------------------------

def check_model(kind):
    if kind not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {kind!r}")
    return kind


def build_model(kind, scale, residual=True, dtype=None, device=None):
    """A fresh SRCNN (9-5-5, 64/32) or ESPCN (5-3-3, 64/32, tanh) for ``scale``."""
    check_model(kind)
    check_scale(scale)
    if kind == "srcnn":
        return SRCNN(residual=residual, dtype=dtype, device=device)
    return ESPCN(scale, residual=residual, dtype=dtype, device=device)


def model_input(kind, lr, scale):
    """What the network sees: the bicubic upscale (SRCNN) or the LR image itself (ESPCN)."""
    return upscale(lr, scale) if kind == "srcnn" else np.asarray(lr, dtype=np.float64)


def default_weights(kind, scale):
    return WEIGHTS_DIR / f"{kind}_x{scale}.npz"


def save_weights(model, path, kind, scale):
    """The model's state_dict plus ``meta.model``, ``meta.scale``, ``meta.residual``, as .npz (atomic)."""
    arrays = {k: minicnn.backend.to_numpy(v.data) for k, v in model.state_dict().items()}
    arrays["meta.model"] = np.array(kind)
    arrays["meta.scale"] = np.array(int(scale))
    arrays["meta.residual"] = np.array(bool(model.residual))
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


def load_weights(path, kind, scale, dtype=None, device=None):
    """A model of ``kind`` for ``scale`` with the weights in ``path``.

    Refuses, with a one-line ValueError naming the file, weights made for another
    model or another scale (read from the ``meta.*`` entries, or for ESPCN from
    the shape of ``conv3``).
    """
    check_model(kind)
    check_scale(scale)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise ValueError(f"weights file {str(path)!r} cannot be read ({type(e).__name__}: {e})") from None
    meta = {k[5:]: arrays.pop(k) for k in list(arrays) if k.startswith("meta.")}
    if "model" in meta and str(meta["model"]) != kind:
        raise ValueError(f"weights file {str(path)!r} holds an {str(meta['model']).upper()} model, not "
                         f"{kind.upper()}; pass --model {meta['model']} or other weights")
    if "scale" in meta and int(meta["scale"]) != scale:
        raise ValueError(f"weights file {str(path)!r} was trained for scale {int(meta['scale'])}, "
                         f"not {scale}; pass --scale {int(meta['scale'])} or weights made for x{scale}")
    w3 = arrays.get("conv3.weight")
    if kind == "espcn" and w3 is not None and "scale" not in meta and w3.shape[0] != scale * scale:
        found = math.isqrt(w3.shape[0])
        raise ValueError(f"weights file {str(path)!r} has an ESPCN for scale {found} "
                         f"(conv3 makes {w3.shape[0]} channels), not {scale}")
    residual = bool(meta["residual"]) if "residual" in meta else True
    model = build_model(kind, scale, residual=residual, dtype=dtype, device=device)
    try:
        model.load_state_dict(arrays)
    except (RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0]
        raise ValueError(f"weights file {str(path)!r} does not fit {kind}: {first}") from None
    model.eval()
    return model


def load_model(kind, scale, weights=None, dtype=None, device=None):
    """The shipped (or the given) weights for ``kind`` at ``scale``, in eval mode."""
    path = Path(weights) if weights else default_weights(kind, scale)
    if not weights and not path.exists():
        raise FileNotFoundError(f"no shipped weights for {kind} x{scale} ({str(path)!r}); train them "
                                f"with `minicnn train-sr --model {kind} --scale {scale}` and pass --weights")
    return load_weights(path, kind, scale, dtype=dtype, device=device)


# --- inference ---------------------------------------------------------------------------------

def _model_backend(model):
    p = next(iter(model.parameters()))
    return p.backend, p.dtype


def forward_plane(model, x):
    """The model on one (H, W) plane (numpy) -> numpy float64 output plane, no graph recorded."""
    be, dtype = _model_backend(model)
    t = minicnn.tensor(np.asarray(x, dtype=dtype)[None, None], backend=be)
    with minicnn.no_grad():
        out = model(t)
    return minicnn.backend.to_numpy(out.data)[0, 0].astype(np.float64)


def run_tiled(model, x, factor, tile=0, desc=None):
    """The model on an (H, W) plane in overlapping tiles of ``tile`` x ``tile`` input pixels.

    Each tile is extended by the model's receptive-field radius on every side
    that is inside the image, run, and cut back to its core, so tiles never see
    each other's zero padding: the result equals one pass over the whole plane
    (up to floating-point summation order). ``factor`` is the model's output /
    input size ratio (1 for SRCNN, the scale for ESPCN); ``tile=0`` means no tiling.
    ``desc`` names a progress bar over the tiles (none by default).
    """
    h, w = x.shape
    if not tile or (h <= tile and w <= tile):
        return forward_plane(model, x)
    r, f = int(model.radius), int(factor)
    out = np.empty((h * f, w * f), dtype=np.float64)
    bar = progress(math.ceil(h / tile) * math.ceil(w / tile), desc, unit="tile") if desc else None
    for y0 in range(0, h, tile):                     # a loop over tiles, not pixels
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            a0, b0, a1, b1 = max(y0 - r, 0), max(x0 - r, 0), min(y1 + r, h), min(x1 + r, w)
            o = forward_plane(model, x[a0:a1, b0:b1])
            out[y0 * f:y1 * f, x0 * f:x1 * f] = o[(y0 - a0) * f:(y1 - a0) * f, (x0 - b0) * f:(x1 - b0) * f]
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return out


def super_resolve_y(model, kind, lr_y, scale, tile=0, desc=None, self_ensemble=False):
    """HR luminance (float64, unclipped) from LR luminance in [0, 1]; ``tile`` counts LR pixels.

    ``self_ensemble``: the mean over the 8 flips/rotations of the input (8x the time), as
    in the "+" results of the SR literature; it averages away some of the network's
    orientation-dependent error."""
    if self_ensemble:
        return dihedral.ensemble(lambda x: super_resolve_y(model, kind, x, scale, tile, desc), lr_y)
    if kind == "srcnn":
        return run_tiled(model, upscale(lr_y, scale), 1, tile * scale, desc)
    return run_tiled(model, lr_y, scale, tile, desc)


def upscale_image(image, scale, model, kind, tile=0, desc=None, self_ensemble=False):
    """An image ((H, W) or (H, W, 3), uint8 or float in [0, 1]) upscaled ``scale`` times: the network
    on Y, bicubic on Cb and Cr. uint8 in gives uint8 out; float in gives float64 out (unclipped)."""
    a = as_float(image)
    if a.ndim == 2:
        out = super_resolve_y(model, kind, a, scale, tile, desc, self_ensemble)
    else:
        ycc = rgb_to_ycbcr(a[..., :3])
        y = super_resolve_y(model, kind, ycc[..., 0], scale, tile, desc, self_ensemble)
        cbcr = upscale(ycc[..., 1:], scale)
        out = ycbcr_to_rgb(np.concatenate([y[..., None], cbcr], axis=-1))
    return to_uint8(out) if np.asarray(image).dtype == np.uint8 else out


# --- training ------------------------------------------------------------------------------------

class PatchSampler:
    """Random (input, target) patch batches from a list of images (uint8 or [0, 1]), for one model and scale.

    Every image is turned once into its (LR, HR) pair by the protocol; a batch
    draws ``batch`` positions (images picked in proportion to their area), cuts
    aligned LR/HR patches of ``HR_PATCH`` pixels and applies one of the 8
    flips/rotations to each. Everything random comes from the generator passed
    to ``draw``, so a checkpointed generator state replays the same batches.
    """

    def __init__(self, images, kind, scale, patch=HR_PATCH, dtype="float32", backend="numpy"):
        self.kind, self.scale = check_model(kind), check_scale(scale)
        self.lr_patch = max(1, patch // scale)
        self.dtype, self.backend = minicnn.backend.resolve_dtype(dtype), backend
        self.inputs, self.targets = [], []
        for img in images:
            lr, hr = make_pair(img, scale)
            if min(lr.shape) < self.lr_patch:
                continue
            self.inputs.append(model_input(kind, lr, scale).astype(self.dtype))
            self.targets.append(hr.astype(self.dtype))
        if not self.inputs:
            raise ValueError(f"no training image is large enough for {patch}x{patch} patches at scale {scale}")
        areas = np.array([t.size for t in self.targets], dtype=np.float64)
        self.p = areas / areas.sum()

    def draw_numpy(self, gen, batch):
        s, p = self.scale, self.lr_patch
        f_in = s if self.kind == "srcnn" else 1
        which = gen.choice(len(self.inputs), size=batch, p=self.p)
        xs = np.empty((batch, p * f_in, p * f_in), self.dtype)
        ys = np.empty((batch, p * s, p * s), self.dtype)
        for k in range(len(self.inputs)):           # a loop over images; patches are cut vectorised
            sel = np.nonzero(which == k)[0]
            h_lr, w_lr = self.targets[k].shape[0] // s, self.targets[k].shape[1] // s
            i = gen.integers(0, h_lr - p + 1, size=sel.size)
            j = gen.integers(0, w_lr - p + 1, size=sel.size)
            xs[sel] = _windows(self.inputs[k], p * f_in)[i * f_in, j * f_in]
            ys[sel] = _windows(self.targets[k], p * s)[i * s, j * s]
        t = gen.integers(0, 8, size=batch)
        return dihedral.per_item(xs, t), dihedral.per_item(ys, t)

    def draw(self, gen, batch):
        x, y = self.draw_numpy(gen, batch)
        return (minicnn.tensor(x[:, None], backend=self.backend),
                minicnn.tensor(y[:, None], backend=self.backend))


def _windows(img, size):
    return np.lib.stride_tricks.sliding_window_view(img, (size, size))


@dataclass
class SRConfig:
    kind: str = "srcnn"
    scale: int = 3
    steps: int = 2000
    batch_size: int = 16
    patch: int = HR_PATCH
    lr: float | None = None          # None: DEFAULT_LR of the model
    lr_decay_steps: int = 0          # StepLR(gamma=0.1) every this many steps; 0 = constant lr
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    checkpoint: str | None = None
    checkpoint_every: int = 100
    validate_every: int = 100
    resume: bool = False
    plot: str | None = None
    val_crop: int = 144              # validation on the central crop (HR pixels) of each image
    loss_border: int = 0             # HR pixels on each side of a patch left out of the loss
    rescale: tuple = ()              # factors < 1: downscaled copies of the training images join them


def check_rescale(factors):
    factors = tuple(factors)
    for f in factors:
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.1 <= f < 1:
            raise ValueError(f"rescale factors must be numbers in [0.1, 1), got {f!r}")
    return factors


def rescaled_copies(images, factors):
    """The images followed by their copies downscaled by each factor (MATLAB bicubic with
    antialiasing, rounded to 8 bits like the originals): the scale augmentation of the SR
    literature. A downscaled photograph is a new photograph of the same scene from further
    away, with its textures at higher spatial frequencies, so few images give more variety
    (for SRCNN x3 it gave no clear gain on the held-out images: minicnn/weights/README.md)."""
    out = list(images)
    for f in check_rescale(factors):
        out += [to_uint8(imresize(as_float(img), scale=f, axes=(0, 1))) for img in images]
    return out


def check_loss_border(border, patch):
    """The loss needs at least one pixel: ``2 * border < patch``."""
    if isinstance(border, bool) or not isinstance(border, int) or border < 0 or 2 * border >= patch:
        raise ValueError(f"loss border must be an integer in [0, {(patch - 1) // 2}] for {patch}-pixel patches, "
                         f"got {border!r}")
    return border


def validation_fn(val_images, kind, scale, crop):
    """validate(model) -> {'val_psnr': mean PSNR on Y over the central crops}, and the bicubic PSNR."""
    pairs = []
    for img in val_images:
        hr = modcrop(luminance(img), scale)
        h, w = hr.shape
        c = min(crop - crop % scale, h - h % scale, w - w % scale)
        top, left = ((h - c) // 2) // scale * scale, ((w - c) // 2) // scale * scale
        hr = hr[top:top + c, left:left + c]
        lr = downscale(hr, scale)
        pairs.append((lr, hr))
    bic = float(np.mean([psnr(quantize(upscale(lr, scale)), hr, shave=scale) for lr, hr in pairs]))

    def validate(model):
        scores = [psnr(quantize(super_resolve_y(model, kind, lr, scale)), hr, shave=scale) for lr, hr in pairs]
        return {"val_psnr": float(np.mean(scores))}
    return validate, bic


def mse_loss(model, x, y, border=0):
    """MSE over the patch, or over its centre when ``border`` > 0.

    The zero padding of the convolutions makes the outer ``model.radius`` pixels
    of a patch see a black frame that whole images only show at their edge; with
    48-pixel patches and SRCNN's 8-pixel radius that is over half the pixels, so
    leaving a border out of the loss spends the training signal on the interior
    task (as the papers' unpadded networks do by construction). Measured on SRCNN x3
    (minicnn/weights/README.md) it did not beat longer training with the whole-patch loss."""
    out = model(x)
    if border:
        out, y = out[:, :, border:-border, border:-border], y[:, :, border:-border, border:-border]
    return F.mse_loss(out, y)


def train_sr(train_images, val_images, cfg: SRConfig, model=None):
    """Train a model by ``cfg`` on images (uint8 or float in [0, 1]); returns (model, TrainResult, bicubic val PSNR).

    Uses the shared loop (algorithms/common/training.py): Adam on MSE, progress
    bar with loss and validation PSNR, checkpoints, exact ``resume``, curves PNG.
    """
    from algorithms.common.training import TrainConfig, train
    from minicnn.optim import Adam
    check_model(cfg.kind)
    check_scale(cfg.scale)
    check_loss_border(cfg.loss_border, cfg.patch)
    check_rescale(cfg.rescale)
    if model is None:
        minicnn.manual_seed(cfg.seed)
        model = build_model(cfg.kind, cfg.scale, dtype=cfg.dtype)
    model.to(cfg.backend)
    sampler = PatchSampler(rescaled_copies(train_images, cfg.rescale), cfg.kind, cfg.scale, cfg.patch, cfg.dtype,
                           cfg.backend)
    validate, bic = (validation_fn(val_images, cfg.kind, cfg.scale, cfg.val_crop) if val_images
                     else (None, float("nan")))
    if val_images:
        status(f"validation: bicubic gives {bic:.2f} dB on Y (x{cfg.scale})")
    optimizer = Adam(model.parameters(), lr=cfg.lr if cfg.lr is not None else DEFAULT_LR[cfg.kind])
    scheduler = None
    if cfg.lr_decay_steps:
        from minicnn.optim.lr_scheduler import StepLR
        scheduler = StepLR(optimizer, step_size=cfg.lr_decay_steps, gamma=0.1)
    tc = TrainConfig(steps=cfg.steps, checkpoint=cfg.checkpoint, checkpoint_every=cfg.checkpoint_every,
                     validate_every=cfg.validate_every, resume=cfg.resume, plot=cfg.plot, seed=cfg.seed,
                     desc=f"{cfg.kind} x{cfg.scale}")
    result = train(model, optimizer, lambda gen: sampler.draw(gen, cfg.batch_size),
                   functools.partial(mse_loss, border=cfg.loss_border), tc,
                   scheduler=scheduler, validate=validate)
    return model, result, bic


# --- evaluation ------------------------------------------------------------------------------------

BASELINES = ("nearest", "bilinear", "bicubic")


def evaluate(images, scale, models, tile=0, self_ensemble=False):
    """PSNR/SSIM on Y (quantised outputs, ``scale``-pixel border shaved) per image and method.

    ``images``: [(name, image)] (uint8 or [0, 1]); ``models``: {name: (kind, model)}; with
    ``self_ensemble`` every model also gets an "<name> x8" row (mean over 8 flips/rotations). Returns
    (rows, outputs): rows are dicts {image, method, psnr, ssim}, outputs
    {image: {method: HR Y}} plus the ground truth under 'HR'.
    """
    rows, outputs = [], {}
    for name, img in images:
        lr, hr = make_pair(img, scale)
        results = {m: quantize(upscale(lr, scale, m)) for m in BASELINES}
        for label, (kind, model) in models.items():
            single = super_resolve_y(model, kind, lr, scale, tile)
            results[label] = quantize(single)
            if self_ensemble:       # transform 0 of the ensemble is the single pass: not run twice
                results[label + " x8"] = quantize(dihedral.ensemble(
                    lambda x, m=model, k=kind: super_resolve_y(m, k, x, scale, tile), lr, first=single))
        for method, out in results.items():
            rows.append({"image": name, "method": method, "psnr": psnr(out, hr, shave=scale),
                         "ssim": ssim(out, hr, shave=scale)})
        outputs[name] = {"HR": hr, **results}
    return rows, outputs


def markdown_table(rows, scale):
    """A Markdown table: one row per method, PSNR/SSIM per image and their mean."""
    images = list(dict.fromkeys(r["image"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    get = {(r["image"], r["method"]): r for r in rows}
    head = "| method | " + " | ".join(f"{i} PSNR / SSIM" for i in images) + " | mean PSNR / SSIM | vs bicubic |"
    lines = [f"Y-channel PSNR (dB) / SSIM at x{scale}, border of {scale} px shaved", "", head,
             "|" + "---|" * (len(images) + 3)]
    bic = np.mean([get[(i, "bicubic")]["psnr"] for i in images]) if "bicubic" in methods else None
    for m in methods:
        ps = [get[(i, m)]["psnr"] for i in images]
        ss = [get[(i, m)]["ssim"] for i in images]
        cells = [f"{p:.2f} / {s:.4f}" for p, s in zip(ps, ss)]
        gain = f"{np.mean(ps) - bic:+.2f} dB" if bic is not None else ""
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {np.mean(ps):.2f} / {np.mean(ss):.4f} | {gain} |")
    return "\n".join(lines) + "\n"


def detail_crop(hr, size):
    """(top, left) of the ``size`` x ``size`` window with the most gradient energy (box sums, vectorised)."""
    size = min(size, *hr.shape)
    g = np.zeros_like(hr)
    g[:-1, :] += np.diff(hr, axis=0) ** 2
    g[:, :-1] += np.diff(hr, axis=1) ** 2
    c = np.pad(g.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    box = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    top, left = np.unravel_index(int(np.argmax(box)), box.shape)
    return int(top), int(left), size


def comparison_png(path, outputs, rows, scale, crop=96, zoom=3):
    """A side-by-side PNG: for each image, the same detailed crop from HR and every method (Y, enlarged)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    get = {(r["image"], r["method"]): r for r in rows}
    names = list(outputs)
    methods = list(next(iter(outputs.values())))
    fig, axes = plt.subplots(len(names), len(methods), figsize=(2.2 * len(methods), 2.5 * len(names)),
                             squeeze=False)
    for i, name in enumerate(names):
        top, left, c = detail_crop(outputs[name]["HR"], crop)
        for j, m in enumerate(methods):
            ax = axes[i][j]
            patch = outputs[name][m][top:top + c, left:left + c]
            ax.imshow(np.kron(patch, np.ones((zoom, zoom))), cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
            label = m if m == "HR" else f"{m}\n{get[(name, m)]['psnr']:.2f} dB"
            ax.set_title(label if i == 0 or m == "HR" else f"{get[(name, m)]['psnr']:.2f} dB", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i][0].set_ylabel(name)
    fig.suptitle(f"x{scale} super-resolution (Y channel, crop {crop}px shown x{zoom})", fontsize=10)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
