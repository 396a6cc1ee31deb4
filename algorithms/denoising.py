"""Image denoising on minicnn with RED-Net: data, training, tiled inference, evaluation.

The task
--------
Additive white Gaussian noise: ``noisy = clean + sigma/255 * N(0, 1)`` on images
in [0, 1], with ``sigma`` on the usual [0, 255] scale. The noisy image is not
clipped before denoising (the standard benchmark protocol); outputs are clipped
to [0, 1]. A *fixed-sigma* model is trained at one sigma (25 is the goal case);
a *blind* model sees a sigma drawn uniformly from [0, 55] for every patch and
is used at any noise level.

The network is RED-Net (``minicnn.models.rednet``, Mao et al. 2016), by
default the 10-layer variant with 64 channels and the residual (image ->
output) skip, so it learns the noise, which trains far faster on a CPU budget.

Data
----
Training uses images that ship inside scikit-image (``skimage.data``), never
the network, or a folder the user names (``--data``):

* ``TRAIN_IMAGES``: astronaut, coffee, rocket (colour photographs) and brick,
  grass, gravel (grayscale texture photographs). Grayscale models see the
  colour ones converted to luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B);
  colour models see the textures as achromatic RGB.
* ``VAL_IMAGES``: chelsea (the cat), a central 96 x 96 crop, watched during
  training as the validation PSNR at sigma 25 (nothing is selected by it: the
  weights of the last step are kept).
* ``TEST_GRAY``: camera, coins, moon -- the three grayscale photographs in
  skimage.data, never used in training or validation; ``camera`` is the classic
  "cameraman" of the denoising literature. ``TEST_COLOR``: the left view of
  stereo_motorcycle, a colour photograph never used in training.
  ``minicnn eval-denoiser`` reports on these.

Patches are 40 x 40 by default, each with a random flip/rotation (one of the
8 symmetries of the square), drawn with the numpy Generator the training loop
checkpoints, so ``--resume`` replays the same batches.

Inference
---------
``denoise_array`` runs the network on an image of any size: in overlapping
tiles when it is large (``run_tiled``: each tile is extended by the receptive
field radius on every side inside the image, so the result equals one pass),
optionally averaged over the 8 flips/rotations (``self_ensemble``, "x8").
A grayscale model denoises a colour image channel by channel; a colour model
denoises a grayscale image as gray RGB.

Evaluation (``evaluate``): PSNR and SSIM (``algorithms.common.metrics``, equal
to scikit-image's) of the noisy input, a Gaussian filter, non-local means
(scikit-image, with its estimated sigma), BM3D (the ``bm3d`` package, given the
true sigma) and the RED-Net models, at sigma 15, 25 and 50.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import minicnn
from algorithms.common import dihedral
from algorithms.common.files import IMAGE_SUFFIXES, atomic_path, list_images  # noqa: F401 (re-exported)
from algorithms.common.metrics import psnr, ssim
from minicnn.models.rednet import REDNet

TRAIN_IMAGES = ("astronaut", "coffee", "rocket", "brick", "grass", "gravel")
VAL_IMAGES = ("chelsea",)
TEST_GRAY = ("camera", "coins", "moon")
TEST_COLOR = ("motorcycle",)
EVAL_SIGMAS = (15, 25, 50)
BLIND_RANGE = (0.0, 55.0)
WEIGHTS_DIR = Path(minicnn.__file__).resolve().parent / "weights"
SHIPPED = {("gray", 25.0): "rednet_gray_s25.npz", ("gray", None): "rednet_gray_blind.npz",
           ("color", None): "rednet_color_blind.npz"}
LUMA = np.array([0.299, 0.587, 0.114])


# --- images ----------------------------------------------------------------------------------------

def sample_image(name):
    """An image from scikit-image's bundled data as float64 in [0, 1], (H, W) or (H, W, 3).

    'motorcycle' is the left view of stereo_motorcycle.
    """
    try:
        from skimage import data
    except ImportError:
        raise RuntimeError("the default images come from scikit-image, which is not installed: "
                           "pip install scikit-image, or give a folder of images") from None
    if name == "motorcycle":
        img = data.stereo_motorcycle()[0]
    elif isinstance(name, str) and not name.startswith("_") and callable(getattr(data, name, None)):
        img = getattr(data, name)()
    else:
        raise ValueError(f"unknown sample image {name!r}; use names from skimage.data such as "
                         f"{', '.join(TRAIN_IMAGES + VAL_IMAGES + TEST_GRAY + TEST_COLOR)}")
    return to_float(np.asarray(img))


def to_float(img):
    """uint8 / uint16 / bool / float images as float64 in [0, 1], alpha dropped."""
    a = np.asarray(img)
    if a.dtype == bool:
        a = a.astype(np.float64)
    elif a.dtype == np.uint8:
        a = a / 255.0
    elif a.dtype == np.uint16:
        a = a / 65535.0
    else:
        a = a.astype(np.float64)
        if a.max(initial=0) > 1.0:
            a = a / 255.0
    if a.ndim == 3:
        if a.shape[-1] == 4:
            a = a[..., :3]
        elif a.shape[-1] == 2:
            a = a[..., 0]
        elif a.shape[-1] == 1:
            a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] != 3):
        raise ValueError(f"expected a grayscale (H, W) or colour (H, W, 3) image, got shape {a.shape}")
    return np.clip(a, 0.0, 1.0)


def to_gray(img):
    """Luma (BT.601) of a colour image; grayscale images pass through."""
    return img @ LUMA if img.ndim == 3 else img


def to_color(img):
    return np.repeat(img[..., None], 3, axis=-1) if img.ndim == 2 else img


def read_image(path, what="input"):
    """An image file as float64 in [0, 1]: (H, W) grayscale or (H, W, 3) colour (alpha dropped)."""
    from PIL import Image
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a folder, expected an image file")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode.startswith("I") or im.mode == "F":        # 16/32-bit grayscale
                a = np.asarray(im, dtype=np.float64)
                a = a / (65535.0 if a.max(initial=0) > 255 else 255.0)
            elif im.mode in ("1", "L", "LA"):
                a = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
            else:
                rgb = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
                gray = im.mode == "P" and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
                a = rgb[..., 0] if gray else rgb
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"{what} {str(path)!r} is not a readable image ({type(e).__name__}: {e})") from None
    return np.clip(a, 0.0, 1.0)


def write_image(path, image):
    """Write a float image in [0, 1] as 8 bits, atomically (format from the suffix, PNG by default)."""
    from PIL import Image
    path = Path(path)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
           ".webp": "WEBP"}.get(path.suffix.lower(), "PNG")
    a = np.clip(np.round(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)
    with atomic_path(path, suffix=path.suffix or ".png") as tmp:
        Image.fromarray(np.ascontiguousarray(a)).save(tmp, format=fmt)
    return path


def load_images(names=None, folder=None, what="dataset"):
    """[(name, float image)] from a folder, or from ``skimage.data`` names."""
    if folder is not None:
        return [(p.stem, read_image(p, what)) for p in list_images(folder, what)]
    return [(n, sample_image(n)) for n in names]


def as_channels(img, channels):
    """An image as an (H, W) plane (channels=1, luma) or (H, W, 3) (channels=3)."""
    return to_gray(img) if channels == 1 else to_color(img)


def add_noise(clean, sigma, gen):
    """clean + sigma/255 * N(0, 1), unclipped (float64)."""
    return clean + (float(sigma) / 255.0) * gen.standard_normal(clean.shape)


def check_sigma(sigma, what="--sigma"):
    if sigma is None:
        return None
    try:
        s = float(sigma)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number on the 0-255 scale, got {sigma!r}") from None
    if not math.isfinite(s) or s < 0 or s > 255:
        raise ValueError(f"{what} must be a noise standard deviation in [0, 255], got {sigma!r}")
    return s


# --- training data ------------------------------------------------------------------------------------

class PatchSampler:
    """Random (noisy, clean) batches of ``patch`` x ``patch`` crops, (N, C, P, P) Tensors.

    Images are picked in proportion to their area; each crop gets one of the 8
    flips/rotations and Gaussian noise of ``sigma`` (fixed) or, when ``sigma`` is
    None, of a sigma drawn per patch from U(``blind_range``). Everything random
    comes from the generator passed in, so a checkpointed generator replays the
    same batches.
    """

    def __init__(self, images, channels=1, patch=40, batch=16, sigma=25.0, blind_range=BLIND_RANGE,
                 dtype="float32", backend="numpy"):
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels!r}")
        self.channels, self.patch, self.batch = channels, int(patch), int(batch)
        self.sigma, self.blind_range = check_sigma(sigma), tuple(float(b) for b in blind_range)
        self.dtype, self.backend = minicnn.backend.resolve_dtype(dtype), backend
        planes = []
        for img in images:
            a = as_channels(np.asarray(img, dtype=np.float64), channels)
            a = a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)
            if min(a.shape[1:]) >= self.patch:
                planes.append(np.ascontiguousarray(a, dtype=self.dtype))
        if not planes:
            raise ValueError(f"no training image is at least {self.patch} x {self.patch} pixels")
        self.images = planes
        areas = np.array([p.shape[1] * p.shape[2] for p in planes], dtype=np.float64)
        self.p = areas / areas.sum()

    def clean_batch(self, gen):
        B, P, C = self.batch, self.patch, self.channels
        which = gen.choice(len(self.images), size=B, p=self.p)
        out = np.empty((B, C, P, P), self.dtype)
        for k, img in enumerate(self.images):         # a loop over images; crops are cut vectorised
            sel = np.nonzero(which == k)[0]
            if not sel.size:
                continue
            i = gen.integers(0, img.shape[1] - P + 1, size=sel.size)
            j = gen.integers(0, img.shape[2] - P + 1, size=sel.size)
            win = np.lib.stride_tricks.sliding_window_view(img, (P, P), axis=(1, 2))  # (C, h, w, P, P)
            out[sel] = np.moveaxis(win[:, i, j], 0, 1)
        return dihedral.per_item(out, gen.integers(0, 8, size=B))

    def draw_numpy(self, gen):
        clean = self.clean_batch(gen)
        if self.sigma is not None:
            s = np.full((self.batch, 1, 1, 1), self.sigma)
        else:
            s = gen.uniform(*self.blind_range, size=(self.batch, 1, 1, 1))
        noisy = clean + (s / 255.0 * gen.standard_normal(clean.shape)).astype(self.dtype)
        return noisy, clean

    def __call__(self, gen):
        noisy, clean = self.draw_numpy(gen)
        return (minicnn.tensor(noisy, backend=self.backend), minicnn.tensor(clean, backend=self.backend))


# --- models and weights -----------------------------------------------------------------------------

def build_model(depth=10, channels=1, features=64, residual=True, seed=0, dtype=None, device=None):
    model = REDNet(depth=depth, channels=channels, features=features, residual=residual, dtype=dtype,
                   device=device)
    model.reset_parameters(np.random.default_rng(seed))
    return model


def model_config(model):
    return {"depth": model.depth, "channels": model.channels, "features": model.features,
            "residual": model.residual}


def save_weights(model, path, sigma=None, extra=None):
    """The state_dict plus ``meta.*`` entries (architecture, training sigma or blind), as .npz (atomic)."""
    arrays = {k: minicnn.backend.to_numpy(v.data).astype(np.float32) for k, v in model.state_dict().items()}
    meta = dict(model_config(model), model="rednet", sigma=-1.0 if sigma is None else float(sigma))
    meta.update(extra or {})
    for k, v in meta.items():
        arrays[f"meta.{k}"] = np.array(v)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


def read_weights(path):
    """(state arrays, meta dict) of a RED-Net weights file; one-line errors naming the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"weights {str(path)!r} is a folder, expected a .npz file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise ValueError(f"weights file {str(path)!r} cannot be read ({type(e).__name__}: {e})") from None
    meta = {k[5:]: arrays.pop(k).item() for k in list(arrays) if k.startswith("meta.")}
    if meta.get("model", "rednet") != "rednet" or "conv1.weight" not in arrays:
        raise ValueError(f"weights file {str(path)!r} does not hold a RED-Net denoiser")
    return arrays, meta


def load_weights(path, dtype=None, device=None):
    """(model in eval mode, meta) from a weights file written by ``save_weights``."""
    arrays, meta = read_weights(path)
    n = sum(1 for k in arrays if k.startswith("conv") and k.endswith(".weight"))
    w1 = arrays["conv1.weight"]
    cfg = {"depth": int(meta.get("depth", 2 * n)), "channels": int(meta.get("channels", w1.shape[1])),
           "features": int(meta.get("features", w1.shape[0])), "residual": bool(meta.get("residual", True))}
    try:
        model = REDNet(**cfg, dtype=dtype, device=device)
        model.load_state_dict(arrays)
    except (RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0]
        raise ValueError(f"weights file {str(path)!r} does not fit a RED-Net {cfg}: {first}") from None
    model.eval()
    sigma = float(meta.get("sigma", -1.0))
    meta["sigma"] = None if sigma < 0 else sigma
    return model, meta


def shipped_weights(color, sigma):
    """(path, note) of the shipped weights for a colour/grayscale image at ``sigma`` (None = blind).

    The fixed-sigma model is used when its sigma matches; otherwise the blind model.
    """
    kind = "color" if color else "gray"
    if sigma is not None and (kind, float(sigma)) in SHIPPED:
        name = SHIPPED[(kind, float(sigma))]
        note = f"{kind} model trained at sigma {sigma:g}"
    else:
        name = SHIPPED[(kind, None)]
        note = f"blind {kind} model (trained on sigma {BLIND_RANGE[0]:g}-{BLIND_RANGE[1]:g})"
        if sigma is not None:
            note += f"; there is no {kind} model for sigma {sigma:g} alone"
    path = WEIGHTS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"shipped weights {str(path)!r} are missing; train them with "
                                f"`minicnn train-denoiser` (see minicnn/weights/README.md) and pass --weights")
    return path, note


# --- inference ---------------------------------------------------------------------------------------

def _model_backend(model):
    p = next(iter(model.parameters()))
    return p.backend, p.dtype


def forward_planes(model, x):
    """The model on (N, C, H, W) numpy input -> float64 numpy output, no graph recorded."""
    be, dtype = _model_backend(model)
    t = minicnn.tensor(np.ascontiguousarray(x, dtype=dtype), backend=be)
    with minicnn.no_grad():
        out = model(t)
    return minicnn.backend.to_numpy(out.data).astype(np.float64)


def run_tiled(model, x, tile=0, forward=forward_planes):
    """The model on (N, C, H, W) input in overlapping tiles with ``tile`` x ``tile`` cores.

    Each tile core is extended by the receptive-field radius ``model.radius`` on
    every side that lies inside the image, run, and cut back to its core, so no
    core pixel sees a tile edge's zero padding: the result equals one pass over the
    whole image up to floating-point rounding. ``tile=0`` means one pass.
    """
    h, w = x.shape[-2:]
    if not tile or (h <= tile and w <= tile):
        return forward(model, x)
    r = int(model.radius)
    out = np.empty(x.shape[:2] + (h, w), dtype=np.float64)
    for y0 in range(0, h, tile):                     # a loop over tiles, not pixels
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            a0, b0, a1, b1 = max(y0 - r, 0), max(x0 - r, 0), min(y1 + r, h), min(x1 + r, w)
            o = forward(model, x[..., a0:a1, b0:b1])
            out[..., y0:y1, x0:x1] = o[..., y0 - a0:y1 - a0, x0 - b0:x1 - b0]
    return out


def denoise_planes(model, x, tile=0, self_ensemble=False, forward=forward_planes):
    """Denoised (N, C, H, W) float64 (unclipped); x8 self-ensemble averages the 8 flips/rotations."""
    if not self_ensemble:
        return run_tiled(model, x, tile, forward)
    return dihedral.ensemble(lambda xt: run_tiled(model, xt, tile, forward), x)


def denoise_array(model, noisy, tile=0, self_ensemble=False, clip=True, forward=forward_planes):
    """Denoise a float image (H, W) or (H, W, 3) with ``model``; returns float64 of the same shape.

    A grayscale model denoises each colour channel as its own plane; a colour model
    denoises a grayscale image as gray RGB and returns the mean of the three outputs.
    """
    a = np.asarray(noisy, dtype=np.float64)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] != 3):
        raise ValueError(f"denoise: expected a (H, W) or (H, W, 3) image, got shape {a.shape}")
    c = model.channels
    if a.ndim == 2:
        x = a[None, None] if c == 1 else np.repeat(a[None, None], 3, axis=1)
    else:
        x = np.moveaxis(a, -1, 0)[None] if c == 3 else np.moveaxis(a, -1, 0)[:, None]
    y = denoise_planes(model, x, tile, self_ensemble, forward)
    if a.ndim == 2:
        out = y[0, 0] if c == 1 else y[0].mean(axis=0)
    else:
        out = np.moveaxis(y[0], 0, -1) if c == 3 else np.moveaxis(y[:, 0], 0, -1)
    return np.clip(out, 0.0, 1.0) if clip else out


# --- training -------------------------------------------------------------------------------------------

@dataclass
class DenoiseConfig:
    channels: int = 1                 # 1 grayscale, 3 colour
    sigma: float | None = 25.0        # None: blind, sigma ~ U(blind_range) per patch
    blind_range: tuple = BLIND_RANGE
    depth: int = 10
    features: int = 64
    residual: bool = True
    steps: int = 600
    batch_size: int = 16
    patch: int = 40
    lr: float = 1e-3
    lr_min: float = 1e-5              # cosine annealing from lr to lr_min over the run
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    checkpoint: str | None = None
    checkpoint_every: int = 50
    validate_every: int = 50
    resume: bool = False
    plot: str | None = None
    val_crop: int = 96
    val_sigma: float = 25.0
    train_names: tuple = TRAIN_IMAGES
    val_names: tuple = VAL_IMAGES
    data: str | None = None           # a folder of training images instead of train_names
    init: str | None = None           # start from these weights (fine-tuning) instead of He initialisation
    val_data: str | None = None
    history: dict = field(default_factory=dict)

    def describe(self):
        d = asdict(self)
        d.pop("history")
        return d


def check_config(cfg: DenoiseConfig):
    if cfg.channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (colour), got {cfg.channels!r}")
    cfg.sigma = check_sigma(cfg.sigma)
    lo, hi = (float(v) for v in cfg.blind_range)
    if not 0 <= lo < hi <= 255:
        raise ValueError(f"blind sigma range must satisfy 0 <= low < high <= 255, got {cfg.blind_range!r}")
    for name in ("steps", "batch_size", "patch", "checkpoint_every", "validate_every", "val_crop"):
        v = getattr(cfg, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if cfg.patch < 8:
        raise ValueError(f"patch must be at least 8 pixels, got {cfg.patch}")
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        raise ValueError(f"lr must be a positive number, got {cfg.lr!r}")
    if not 0 <= cfg.lr_min <= cfg.lr:
        raise ValueError(f"lr_min must be in [0, lr={cfg.lr}], got {cfg.lr_min!r}")
    if cfg.depth not in range(4, 1000, 2):
        raise ValueError(f"depth must be an even number of layers >= 4 (10, 20 or 30), got {cfg.depth!r}")
    return cfg


def validation_fn(val_images, channels, sigma, crop, seed=1234):
    """validate(model) -> {'val_psnr': mean PSNR on central crops at ``sigma``}, and the noisy PSNR."""
    gen = np.random.default_rng(seed)
    pairs = []
    for img in val_images:
        a = as_channels(np.asarray(img, dtype=np.float64), channels)
        h, w = a.shape[:2]
        c = min(crop, h, w)
        top, left = (h - c) // 2, (w - c) // 2
        clean = a[top:top + c, left:left + c]
        pairs.append((add_noise(clean, sigma, gen), clean))
    noisy_psnr = float(np.mean([psnr(n, c) for n, c in pairs]))

    def validate(model):
        return {"val_psnr": float(np.mean([psnr(denoise_array(model, n), c) for n, c in pairs]))}
    return validate, noisy_psnr


def mse_loss(model, x, y):
    """Mean squared error between the network's output on the noisy batch and the clean batch."""
    from minicnn import functional as F
    return F.mse_loss(model(x), y)


def init_from(model, path):
    """Load the weights of ``path`` into ``model`` (same architecture), e.g. to fine-tune a blind model."""
    arrays, meta = read_weights(path)
    try:
        model.load_state_dict(arrays)
    except (RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0]
        raise ValueError(f"--init weights {str(path)!r} do not fit a RED-Net {model_config(model)}: {first}") \
            from None
    return meta


def train_denoiser(cfg: DenoiseConfig, model=None, train_images=None, val_images=None):
    """Train RED-Net by ``cfg``; returns (model, TrainResult, noisy validation PSNR).

    Uses the shared loop (algorithms/common/training.py): Adam on the MSE,
    cosine-annealed learning rate, a progress bar with the loss and validation
    PSNR, checkpoints every ``checkpoint_every`` steps, exact ``resume`` and a PNG
    of the curves. ``train_images``/``val_images`` (lists of float images) replace
    the named/folder sets (tests use synthetic images).
    """
    from algorithms.common.training import TrainConfig, train
    from minicnn.optim import Adam
    from minicnn.optim.lr_scheduler import CosineAnnealingLR

    check_config(cfg)
    if train_images is None:
        train_images = [img for _, img in load_images(cfg.train_names, cfg.data, "training")]
    if val_images is None:
        val_images = [img for _, img in load_images(cfg.val_names, cfg.val_data, "validation")]
    sampler = PatchSampler(train_images, cfg.channels, cfg.patch, cfg.batch_size, cfg.sigma, cfg.blind_range,
                           cfg.dtype, cfg.backend)
    if model is None:
        model = build_model(cfg.depth, cfg.channels, cfg.features, cfg.residual, seed=cfg.seed, dtype=cfg.dtype)
        if cfg.init:
            init_from(model, cfg.init)
        model.to(cfg.backend)
    validate, noisy_val = validation_fn(val_images, cfg.channels, cfg.val_sigma, cfg.val_crop)
    opt = Adam(model.parameters(), lr=cfg.lr)
    sched = CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr_min)
    kind = ("colour" if cfg.channels == 3 else "gray") + (f" sigma={cfg.sigma:g}" if cfg.sigma is not None
                                                            else " blind")
    tc = TrainConfig(steps=cfg.steps, checkpoint=cfg.checkpoint, checkpoint_every=cfg.checkpoint_every,
                     validate_every=cfg.validate_every, resume=cfg.resume, plot=cfg.plot, seed=cfg.seed,
                     desc=f"RED{cfg.depth} {kind}")
    result = train(model, opt, sampler, mse_loss, tc, scheduler=sched, validate=validate)
    cfg.history = result.history
    return model, result, noisy_val


# --- evaluation ------------------------------------------------------------------------------------------

def gaussian_filter_width(sigma):
    """The Gaussian filter's standard deviation in pixels for noise ``sigma``: 0.5 + sigma / 50.

    A fixed rule (0.8 px at sigma 15, 1.0 at 25, 1.5 at 50), not tuned on the test images.
    """
    return 0.5 + float(sigma) / 50.0


def gaussian_denoise(noisy, sigma):
    from scipy.ndimage import gaussian_filter
    s = gaussian_filter_width(sigma)
    return np.clip(gaussian_filter(noisy, (s, s, 0) if noisy.ndim == 3 else s, mode="reflect"), 0, 1)


def nlm_denoise(noisy, sigma):
    """scikit-image non-local means with its own noise estimate (h = 0.8 sigma_est, 5x5 patches, 13x13 search)."""
    from skimage.restoration import denoise_nl_means, estimate_sigma
    ch = -1 if noisy.ndim == 3 else None
    s = float(estimate_sigma(noisy, channel_axis=ch, average_sigmas=True))
    return np.clip(denoise_nl_means(noisy, h=0.8 * s, sigma=s, fast_mode=True, patch_size=5,
                                    patch_distance=6, channel_axis=ch), 0, 1)


def bm3d_denoise(noisy, sigma):
    """BM3D (the ``bm3d`` package; Makinen, Azzari and Foi) given the true sigma."""
    try:
        import bm3d
    except ImportError:
        raise RuntimeError("BM3D needs the bm3d package: pip install 'minicnn[eval]' (or pip install bm3d), "
                           "or leave bm3d out of --methods") from None
    s = float(sigma) / 255.0
    out = bm3d.bm3d_rgb(noisy, s) if noisy.ndim == 3 else bm3d.bm3d(noisy, s)
    return np.clip(np.asarray(out, dtype=np.float64), 0, 1)


def central_crop(img, size):
    if not size:
        return img
    h, w = img.shape[:2]
    ch, cw = min(size, h), min(size, w)
    top, left = (h - ch) // 2, (w - cw) // 2
    return img[top:top + ch, left:left + cw]


def evaluate(images, methods, sigmas=EVAL_SIGMAS, seed=0, progress_fn=None):
    """PSNR/SSIM of every method on every (image, sigma).

    ``images``: [(name, clean float image)]; ``methods``: [(name, fn(noisy, sigma) -> image or None)]
    where None means "not applicable" (e.g. a sigma-25 model at sigma 50). The noise of image i at
    sigma s comes from ``default_rng([seed, i, s])``, the same for every method.
    Returns rows {image, sigma, method, psnr, ssim, seconds} and the outputs {(image, sigma, method): array}.
    """
    rows, outputs = [], {}
    for i, (name, clean) in enumerate(images):
        for s in sigmas:
            noisy = add_noise(clean, s, np.random.default_rng([seed, i, int(round(s * 100))]))
            outputs[(name, s, "clean")] = clean
            for mname, fn in methods:
                t0 = time.perf_counter()
                out = noisy if mname == "noisy" else fn(noisy, s)
                dt = time.perf_counter() - t0
                if out is None:
                    continue
                outputs[(name, s, mname)] = out
                rows.append({"image": name, "sigma": s, "method": mname, "psnr": psnr(out, clean),
                             "ssim": ssim(out, clean), "seconds": dt})
                if progress_fn:
                    progress_fn(rows[-1])
    return rows, outputs


def markdown_table(rows, methods, sigmas=None):
    """One Markdown table: a row per (sigma, image) plus a mean row per sigma; cells 'PSNR / SSIM'."""
    sigmas = sigmas or sorted({r["sigma"] for r in rows})
    cell = {(r["image"], r["sigma"], r["method"]): r for r in rows}
    names = list(dict.fromkeys(r["image"] for r in rows))
    head = "| sigma | image | " + " | ".join(methods) + " |"
    lines = [head, "|" + "---|" * (len(methods) + 2)]
    for s in sigmas:
        for n in names:
            cells = []
            for m in methods:
                r = cell.get((n, s, m))
                cells.append(f"{r['psnr']:.2f} / {r['ssim']:.4f}" if r else "-")
            lines.append(f"| {s:g} | {n} | " + " | ".join(cells) + " |")
        means = []
        for m in methods:
            rs = [cell[(n, s, m)] for n in names if (n, s, m) in cell]
            means.append(f"**{np.mean([r['psnr'] for r in rs]):.2f} / {np.mean([r['ssim'] for r in rs]):.4f}**"
                         if len(rs) == len(names) else "-")
        lines.append(f"| {s:g} | **mean** | " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def side_by_side(path, outputs, rows, names, sigma, methods, crop=None):
    """A PNG grid: a row per image, columns clean, then each method, titled with PSNR/SSIM."""
    from algorithms.common.plots import plt
    cell = {(r["image"], r["sigma"], r["method"]): r for r in rows}
    cols = ["clean"] + [m for m in methods if any((n, sigma, m) in outputs for n in names)]
    fig, axes = plt.subplots(len(names), len(cols), figsize=(2.6 * len(cols), 2.8 * len(names)), squeeze=False)
    for r, n in enumerate(names):
        for c, m in enumerate(cols):
            ax = axes[r][c]
            ax.axis("off")
            img = outputs.get((n, sigma, m))
            if img is None:
                continue
            img = central_crop(np.clip(img, 0, 1), crop)
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            sc = cell.get((n, sigma, m))
            title = f"{n} (clean)" if m == "clean" else m
            ax.set_title(title if sc is None else f"{m}\n{sc['psnr']:.2f} dB / {sc['ssim']:.3f}", fontsize=8)
    fig.suptitle(f"Gaussian noise sigma = {sigma:g}", fontsize=10)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
