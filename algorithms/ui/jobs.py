"""What each tab of the browser UI runs, without any web code (so it is testable on its own).

Every job takes file paths and plain option values, writes its images into ``workdir``
and returns a ``JobResult``: the result image, the numbers to show, a curve PNG, and
notes (random VGG weights, no ground truth...). While it runs it calls
``report(fraction, text, preview=None)``; it stops early, keeping what it has, when
``stop.requested`` becomes True (the Cancel button) and then raises ``Cancelled``
for jobs whose result is meaningless half done.

Inputs are checked first (``check_upload``): not an image, too many pixels or a broken
file give a one-line ``ValueError`` that the page shows as it is.
"""
from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["JobResult", "Stop", "Cancelled", "check_upload", "sample_path", "run_denoise", "run_upscale",
           "run_style", "run_dream", "MAX_PIXELS", "MAX_UPLOAD_MB", "DREAM_LAYERS"]

MAX_UPLOAD_MB = 20                 # the web server refuses larger files
MAX_PIXELS = 40_000_000            # and we refuse images with more pixels than this (decoded size)
DREAM_LAYERS = ("relu3_1", "relu3_3", "relu4_1", "relu4_2", "relu4_3", "relu5_1")


class Cancelled(RuntimeError):
    """The user pressed Cancel before there was a result to show."""


class Stop:
    """A stop request shared between the page's Cancel button and the running job."""

    def __init__(self):
        self.requested = False

    def request(self):
        self.requested = True


@dataclass
class JobResult:
    image: str                                     # result PNG
    numbers: list = field(default_factory=list)    # [(name, value)] formatted
    plot: str | None = None                        # a curve PNG
    extra: dict = field(default_factory=dict)      # other images {label: path} (e.g. the noisy input)
    notes: list = field(default_factory=list)      # shown above the numbers (warnings first)
    interrupted: bool = False

    def markdown(self) -> str:
        lines = [f"> **Note:** {n}" for n in self.notes]
        if self.interrupted:
            lines.append("> **Cancelled:** this is the best result reached before the run was stopped.")
        if lines:
            lines.append("")
        lines += ["| quantity | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in self.numbers]
        return "\n".join(lines)


def _noop(*_a, **_k):
    pass


def _new_name(workdir, stem, suffix=".png"):
    Path(workdir).mkdir(parents=True, exist_ok=True)
    return str(Path(workdir) / f"{stem}-{uuid.uuid4().hex[:8]}{suffix}")


# --- inputs ---------------------------------------------------------------------------------------

def check_upload(path, max_pixels=MAX_PIXELS, what="upload"):
    """Refuse a file that is not a readable image or has too many pixels; returns (width, height)."""
    from PIL import Image, UnidentifiedImageError
    if path is None:
        raise ValueError(f"{what}: no image given; pick a sample or upload an image")
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: file {p.name!r} is missing")
    try:
        with Image.open(p) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise ValueError(f"{what}: the image is too large: {w}x{h} px = {w * h / 1e6:.1f} Mpixel; "
                                 f"at most {max_pixels / 1e6:.0f} Mpixel here (use the command line for "
                                 "larger images)")
            im.load()
    except UnidentifiedImageError:
        raise ValueError(f"{what}: {p.name!r} is not an image (PNG, JPEG, BMP, TIFF, WebP, GIF ...)") from None
    except Image.DecompressionBombError:
        raise ValueError(f"{what}: the image {p.name!r} is too large to decode safely") from None
    except (OSError, SyntaxError) as e:
        raise ValueError(f"{what}: {p.name!r} is not a readable image ({e})") from None
    return w, h


def sample_path(name, workdir):
    """A scikit-image sample written once as PNG into ``workdir`` (so it is shown and used like an upload)."""
    from minicnn import io as mio
    if name not in mio.sample_names():
        raise ValueError(f"unknown sample image {name!r}; choose from {', '.join(mio.sample_names())}")
    path = Path(workdir) / "samples" / f"{name}.png"
    if not path.exists():
        from PIL import Image
        import skimage.data
        a = np.asarray(getattr(skimage.data, name)())
        if a.dtype == bool:
            a = a.astype(np.uint8) * 255
        if a.dtype != np.uint8:
            a = np.clip(np.round(a * 255 if a.max() <= 1 else a), 0, 255).astype(np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.png")
        Image.fromarray(a).save(tmp)
        tmp.replace(path)
    return str(path)


def _fit(img, size):
    """Shrink an (H, W[, C]) float image so its longest side is at most ``size`` (bicubic, antialiased)."""
    from minicnn.imresize import imresize
    h, w = img.shape[:2]
    if not size or max(h, w) <= size:
        return img
    f = size / max(h, w)
    hw = (max(1, round(h * f)), max(1, round(w * f)))
    return np.clip(imresize(np.asarray(img, dtype=np.float64), output_shape=hw, axes=(0, 1)), 0.0, 1.0)


def _check_int(name, v, lo, hi):
    if v is None or isinstance(v, bool) or not float(v).is_integer() or not lo <= v <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}")
    return int(v)


def _check_real(name, v, lo, hi):
    if v is None or not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{name} must be a number from {lo:g} to {hi:g}, got {v!r}")
    return float(v)


def _write_float(path, img):
    from algorithms.denoising import write_image
    write_image(path, img)
    return path


# --- denoising ---------------------------------------------------------------------------------------

def run_denoise(src, *, sigma=25.0, add_noise=True, size=512, seed=0, tile=256, weights=None, backend="numpy",
                workdir=".", report=_noop, stop=None):
    """Denoise an image. ``add_noise``: treat it as clean, add noise of ``sigma`` first and score the result.

    ``weights``: a RED-Net .npz (``minicnn train-denoiser``) instead of the shipped models.
    """
    from algorithms import denoising as D
    from algorithms.common.metrics import psnr, ssim
    check_upload(src, what="input")
    sigma = _check_real("noise sigma", sigma, 0, 100)
    size = _check_int("size", size, 16, 4096)
    report(0.02, "reading the image")
    img = _fit(D.read_image(src, "input"), size)
    color = img.ndim == 3
    noisy = D.add_noise(img, sigma, np.random.default_rng(seed)) if add_noise else img
    if weights:
        path, note = weights, f"RED-Net weights {Path(weights).name}"
    else:
        path, note = D.shipped_weights(color, sigma if add_noise else None)
    model, _meta = D.load_weights(path)
    model.to(backend)
    h, w = img.shape[:2]
    n_tiles = math.ceil(h / tile) * math.ceil(w / tile) if tile and max(h, w) > tile else 1
    done = [0]

    def forward(m, x):                   # one call per tile
        if stop is not None and stop.requested:
            raise Cancelled("denoising cancelled")
        out = D.forward_planes(m, x)
        done[0] += 1
        report(0.1 + 0.85 * min(1.0, done[0] / n_tiles), f"denoising {w}x{h}: tile {done[0]}/{n_tiles}")
        return out

    report(0.1, f"denoising {w}x{h} with the {note}")
    t0 = time.perf_counter()
    out = D.denoise_array(model, noisy, tile=tile, forward=forward)
    seconds = time.perf_counter() - t0
    result = JobResult(image=_write_float(_new_name(workdir, "denoised"), out))
    result.numbers = [("image", f"{w}x{h} px, {'colour' if color else 'grayscale'}")]
    if add_noise:
        result.extra["noisy input"] = _write_float(_new_name(workdir, "noisy"), np.clip(noisy, 0, 1))
        gauss = D.gaussian_denoise(noisy, sigma)
        result.numbers += [
            ("noise added", f"Gaussian, sigma {sigma:g} (0-255 scale), seed {seed}"),
            ("PSNR noisy", f"{psnr(noisy, img):.2f} dB (SSIM {ssim(noisy, img):.3f})"),
            ("PSNR Gaussian filter", f"{psnr(gauss, img):.2f} dB (SSIM {ssim(gauss, img):.3f})"),
            ("PSNR RED-Net", f"**{psnr(out, img):.2f} dB** (SSIM {ssim(out, img):.3f})"),
        ]
    else:
        result.notes.append("The image was taken as already noisy: there is no clean image to score against, "
                            "so no PSNR is shown. Tick 'add noise first' to measure.")
    result.numbers += [("model", note), ("time", f"{seconds:.2f} s"), ("backend", backend)]
    report(1.0, "done")
    return result


# --- super-resolution ---------------------------------------------------------------------------------

def run_upscale(src, *, scale=3, model="espcn", shrink_first=True, size=384, backend="numpy", workdir=".",
                report=_noop, stop=None):
    """Upscale ``scale`` times; ``shrink_first`` shrinks the image first so the result can be scored."""
    from algorithms import super_resolution as SR
    check_upload(src, what="input")
    scale = SR.check_scale(int(scale) if isinstance(scale, (int, float)) and float(scale).is_integer() else scale)
    SR.check_model(model)
    size = _check_int("size", size, 16, 4096)
    report(0.05, "reading the image")
    img = SR.read_image(src)
    if img.ndim == 3 and img.shape[-1] == 4:
        img = img[..., :3]
    img = np.round(_fit(img / 255.0, size) * 255).astype(np.uint8)
    net = SR.load_model(model, scale).to(backend)
    result_numbers = []
    if shrink_first:
        hr = SR.modcrop(img, scale)
        if min(hr.shape[:2]) < 4 * scale:
            raise ValueError(f"the image is too small to shrink {scale} times ({hr.shape[1]}x{hr.shape[0]} px)")
        planes = hr[..., None] if hr.ndim == 2 else hr
        lr = np.stack([SR.downscale(planes[..., k] / 255.0, scale) for k in range(planes.shape[-1])], -1)
        lr8 = np.round(np.clip(lr, 0, 1) * 255).astype(np.uint8)
        lr8 = lr8[..., 0] if hr.ndim == 2 else lr8
        report(0.3, f"scoring on the {hr.shape[1]}x{hr.shape[0]} original")
        rows, _ = SR.evaluate([("input", hr)], scale, {model: (model, net)})
        by = {r["method"]: r for r in rows}
        result_numbers += [(f"PSNR {m} (Y)", (f"**{by[m]['psnr']:.2f} dB**" if m == model else
                                               f"{by[m]['psnr']:.2f} dB") + f" (SSIM {by[m]['ssim']:.3f})")
                           for m in ("nearest", "bilinear", "bicubic", model)]
        result_numbers.append((f"{model} vs bicubic", f"{by[model]['psnr'] - by['bicubic']['psnr']:+.2f} dB"))
    else:
        lr8 = img
    if stop is not None and stop.requested:
        raise Cancelled("upscaling cancelled")
    report(0.6, f"upscaling {lr8.shape[1]}x{lr8.shape[0]} x{scale} with {model}")
    t0 = time.perf_counter()
    out = SR.upscale_image(lr8, scale, net, model, tile=128)
    seconds = time.perf_counter() - t0
    bic = np.round(np.clip(SR.upscale(lr8 / 255.0, scale), 0, 1) * 255).astype(np.uint8)
    result = JobResult(image=_new_name(workdir, f"{model}_x{scale}"))
    SR.write_image(result.image, out)
    result.extra["input (low resolution)"] = SR.write_image(_new_name(workdir, "lowres"), lr8)
    result.extra["bicubic"] = SR.write_image(_new_name(workdir, "bicubic"), bic)
    result.numbers = [("input", f"{lr8.shape[1]}x{lr8.shape[0]} px"),
                      ("output", f"{out.shape[1]}x{out.shape[0]} px (x{scale})")] + result_numbers + [
        ("model", f"{model} x{scale}, shipped weights"), ("time", f"{seconds:.2f} s"), ("backend", backend)]
    if not shrink_first:
        result.notes.append("Upscaled as given: there is no high-resolution original to score against. Tick "
                            "'shrink first' to measure PSNR against the original.")
    report(1.0, "done")
    return result


# --- style transfer ------------------------------------------------------------------------------------

def _vgg_note(pretrained, what):
    if pretrained:
        return None
    return (f"VGG19 runs on RANDOM weights (no pretrained weights file was found), so {what} uses untrained "
            "features: the code is the real one, the picture is not. Run `minicnn convert-weights "
            "vgg19-dcbb9e9d.pth` once to use torchvision's weights.")


def run_style(content, style, *, size=128, iters=40, style_weight=1e6, original_colors=False, seed=0,
              backend="numpy", vgg_weights=None, workdir=".", report=_noop, stop=None):
    import warnings

    from algorithms.common.images import load_rgb
    from algorithms.style_transfer import style_transfer
    check_upload(content, what="content image")
    check_upload(style, what="style image")
    size = _check_int("size", size, 32, 1024)
    iters = _check_int("iterations", iters, 1, 2000)
    style_weight = _check_real("style weight", style_weight, 0, 1e12)
    c = load_rgb(content, "content image", size=size)
    s = load_rgb(style, "style image", size=size)
    plot = _new_name(workdir, "style_losses")
    out = _new_name(workdir, "style")

    def callback(losses, get_image):
        k = losses["iteration"]
        preview = get_image() if k and k % 5 == 0 else None
        report(min(0.99, (k + 1) / iters), f"iteration {k}/{iters}: loss {losses['total']:.4g}", preview)

    report(0.0, "building VGG19")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = style_transfer(c, s, size=size, iters=iters, style_weight=style_weight,
                           original_colors=bool(original_colors), seed=int(seed), weights=vgg_weights,
                           backend=backend, output=out, plot=plot, progress=False, stop=stop, callback=callback)
    n = max(1, r.history["iteration"][-1])
    h, w = r.sizes[-1]
    result = JobResult(image=out, plot=plot, interrupted=r.interrupted)
    result.numbers = [("image", f"{w}x{h} px"),
                      ("total loss", f"{r.first_loss:.4g} -> **{r.best_loss:.4g}** (best, iteration "
                                     f"{r.best_iteration})"),
                      ("iterations", str(n)),
                      ("time", f"{r.seconds:.1f} s, {r.seconds / n:.3f} s per iteration"),
                      ("VGG19 weights", "pretrained" if r.pretrained else "RANDOM"), ("backend", backend)]
    note = _vgg_note(r.pretrained, "style transfer")
    if note:
        result.notes.append(note)
    report(1.0, "done")
    return result


# --- deep dream -----------------------------------------------------------------------------------------

def run_dream(src, *, layer="relu4_2", size=192, octaves=3, steps=8, step_size=1.5, seed=0, backend="numpy",
              vgg_weights=None, workdir=".", report=_noop, stop=None):
    import warnings

    from algorithms.common.plots import plot_curves
    from algorithms.deep_dream import deep_dream
    check_upload(src, what="input")
    if layer not in DREAM_LAYERS:
        raise ValueError(f"layer must be one of {', '.join(DREAM_LAYERS)}, got {layer!r}")
    size = _check_int("size", size, 32, 1024)
    octaves = _check_int("octaves", octaves, 1, 8)
    steps = _check_int("steps", steps, 1, 100)
    step_size = _check_real("step size", step_size, 0.01, 20)
    total = octaves * steps
    count = [0]

    def callback(octave, step, value):
        count[0] += 1
        report(min(0.99, count[0] / total), f"octave {octave + 1}/{octaves}, step {step + 1}/{steps}: "
                                            f"objective {value:.4g}")

    out = _new_name(workdir, "dream")
    report(0.0, "building VGG19")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = deep_dream(src, layers=(layer,), size=size, octaves=octaves, steps=steps, step_size=step_size,
                       seed=int(seed), weights=vgg_weights, backend=backend, output=out, progress=False,
                       stop=stop, callback=callback)
    hist = r.history
    curves = {}
    for k in range(len(r.shapes)):
        idx = [i for i, o in enumerate(hist["octave"]) if o == k]
        if idx:
            curves[f"octave {k + 1}"] = (idx, [hist["objective"][i] for i in idx])
    plot = _new_name(workdir, "dream_objective")
    if curves:
        plot_curves(plot, curves, title=f"deep dream objective ({layer})", xlabel="step", log_y=False)
    n = max(1, len(hist["objective"]))
    h, w = r.image.shape[:2]
    result = JobResult(image=out, plot=plot if curves else None, interrupted=r.interrupted)
    first, last = (hist["objective"][0], hist["objective"][-1]) if hist["objective"] else (math.nan, math.nan)
    result.numbers = [("image", f"{w}x{h} px; octaves " + ", ".join(f"{b}x{a}" for a, b in r.shapes)),
                      ("objective", f"{first:.4g} (first step) -> {last:.4g} (last step)"),
                      ("steps", str(len(hist["objective"]))),
                      ("time", f"{r.seconds:.1f} s, {r.seconds / n:.3f} s per step"),
                      ("VGG19 weights", "pretrained" if r.pretrained else "RANDOM"), ("backend", backend)]
    note = _vgg_note(r.pretrained, "deep dream")
    if note:
        result.notes.append(note)
    report(1.0, "done")
    return result
