"""The ``minicnn demo`` gallery: the four algorithms on built-in sample images, one HTML page.

Each algorithm is one *section* function ``(ctx) -> Section`` that runs the algorithm
through its public Python API, writes its images and plots into ``<out>/<key>/`` and
returns what the page shows. ``run_gallery`` calls them one after another, each inside
its own ``try``: a failing algorithm becomes a section that shows its error (and the
traceback, folded), the others still render, and the page is always written. It
returns the page's path and the failed sections, so the command can exit non-zero.

Sizes come from a *profile*: ``full`` fits a few minutes on 2 CPU cores in total,
``quick`` (``--quick``) runs every code path at tiny sizes in seconds (tests).

The page is honest about what it shows:
* VGG weights: 'pretrained (file)' or 'RANDOM', with a warning box when random (style
  transfer and deep dream on random features are not the real thing);
* trained models (denoiser, super-resolution): the shipped weights file and its training
  steps, or, when no shipped weights exist, a model trained *inside the demo* for a few
  steps, said so in a warning box;
* every number is measured in this run (PSNR against the clean image / ground truth,
  losses, seconds); nothing is copied from elsewhere.
"""
from __future__ import annotations

import contextlib
import os
import platform
import shlex
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from algorithms.common.progress import status
from algorithms.demo.page import Figure, Section, Table, write_page

__all__ = ["PROFILES", "SECTIONS", "DemoContext", "run_gallery", "run_section"]

PROFILES = {
    # content/style at 128 px, 40 L-BFGS iterations; dream at 192 px, 3 octaves x 8 steps;
    # denoising a 192x192 crop; x3 super-resolution of a 192x192 crop.
    "full": {"style_size": 128, "style_iters": 40, "dream_size": 192, "dream_octaves": 3, "dream_steps": 8,
             "denoise_crop": 192, "sr_crop": 192, "train_steps": 40, "train_patch": 32,
             "bm3d": True},
    "quick": {"style_size": 32, "style_iters": 3, "dream_size": 48, "dream_octaves": 1, "dream_steps": 2,
              "denoise_crop": 40, "sr_crop": 36, "train_steps": 2, "train_patch": 24, "bm3d": True},
}

STYLE_CONTENT, STYLE_IMAGE = "chelsea", "immunohistochemistry"
STYLE_WEIGHT, STYLE_WEIGHT_RANDOM = 1e6, 1e8
DREAM_IMAGE = "astronaut"
DENOISE_IMAGE, DENOISE_SIGMA = "camera", 25.0
SR_IMAGE, SR_SCALE = "chelsea", 3


@dataclass
class DemoContext:
    """Where and how the gallery runs."""
    output: Path
    profile: dict
    quick: bool = False
    backend: str = "numpy"
    seed: int = 0
    vgg_weights: str | None = None          # None: the default weights file if any, else random
    progress: bool = True
    facts: dict = field(default_factory=dict)   # filled by sections (e.g. VGG weights status)

    def folder(self, key) -> Path:
        d = self.output / key
        d.mkdir(parents=True, exist_ok=True)
        return d

    def rel(self, path) -> str:
        return os.path.relpath(path, self.output)


# --- helpers ------------------------------------------------------------------------------------

def _fmt_s(seconds) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def _vgg_note(pretrained, path, model="vgg19"):
    if pretrained:
        return f"pretrained ({path})" if path else "pretrained"
    return "RANDOM (no pretrained weights file found)"


def _random_vgg_warning(what):
    return (f"The VGG19 weights are RANDOM: no pretrained weights file was found, so {what} runs on the "
            "features of an untrained network. The code path is the real one, but the picture is not what "
            "ImageNet features give. Get torchvision's vgg19-dcbb9e9d.pth and run "
            "`minicnn convert-weights vgg19-dcbb9e9d.pth` once (or pass --weights) to see the real thing.")


@contextlib.contextmanager
def _quiet_random_weights():
    """The page says it loudly; do not repeat the RandomWeightsWarning on the terminal."""
    with warnings.catch_warnings():
        try:
            from minicnn.models.vgg import RandomWeightsWarning
            warnings.simplefilter("ignore", RandomWeightsWarning)
        except ImportError:   # pragma: no cover
            pass
        yield


def _vgg_path(model):
    return getattr(model, "weights_path", None)


def _bar_plot(path, labels, values, title, ylabel, highlight=None):
    from algorithms.common.files import atomic_path
    from algorithms.common.plots import plt
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    colors = ["#ef6c00" if lab == highlight else "#78909c" for lab in labels]
    bars = ax.bar(labels, values, color=colors)
    lo = min(values) - 1.0
    ax.set_ylim(lo, max(values) + 0.8)
    for b, v in zip(bars, values):
        ax.text(b.get_x() + b.get_width() / 2, v + 0.1, f"{v:.2f}", ha="center", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def _ratio(first, last) -> str:
    """'3400x lower' / '96.6% of the start' for a loss that went from ``first`` to ``last``."""
    if not first or first != first or last != last:
        return "-"
    r = last / first
    return f"{1 / r:.0f}x lower" if 0 < r < 0.01 else f"{r:.1%} of the start"


def _cmd(*parts) -> str:
    return " ".join(shlex.quote(str(p)) for p in parts)


# --- style transfer -------------------------------------------------------------------------------

def section_style(ctx: DemoContext) -> Section:
    from algorithms.common.images import load_rgb, save_rgb
    from algorithms.style_transfer import style_transfer
    p = ctx.profile
    d = ctx.folder("style")
    size, iters = p["style_size"], p["style_iters"]
    content = load_rgb(STYLE_CONTENT, "content", size=size)
    style = load_rgb(STYLE_IMAGE, "style", size=size)
    save_rgb(content, d / "content.png")
    save_rgb(style, d / "style.png")
    # Random VGG features have far smaller Gram matrices than ImageNet ones: with the default style
    # weight (1e6, tuned for pretrained weights) the style term barely moves the image. The demo
    # then uses 1e8 and says so.
    from minicnn.models.vgg import default_weights_path
    random_vgg = ctx.vgg_weights == "random" or (ctx.vgg_weights is None and default_weights_path("vgg19") is None)
    style_weight = STYLE_WEIGHT_RANDOM if random_vgg else STYLE_WEIGHT
    with _quiet_random_weights():
        r = style_transfer(content, style, size=size, iters=iters, optimizer="lbfgs", seed=ctx.seed,
                           style_weight=style_weight,
                           weights=ctx.vgg_weights, backend=ctx.backend, output=str(d / "result.png"),
                           plot=str(d / "losses.png"), progress=ctx.progress)
    h, w = r.sizes[-1]
    n_iter = max(1, r.history["iteration"][-1])
    best = r.history["total"].index(r.best_loss) if r.best_loss in r.history["total"] else -1
    s = Section("style", "Neural style transfer (Gatys et al.)",
                summary=f"The picture of a cat ({STYLE_CONTENT}) is optimised with L-BFGS so that VGG19 sees "
                        f"its content (relu4_2) and the texture statistics (Gram matrices of relu1_1 ... "
                        f"relu5_1) of the style image ({STYLE_IMAGE}).")
    s.figures = [Figure(ctx.rel(d / "content.png"), f"content: skimage '{STYLE_CONTENT}', {w}x{h}"),
                 Figure(ctx.rel(d / "style.png"), f"style: skimage '{STYLE_IMAGE}'"),
                 Figure(ctx.rel(d / "result.png"), f"result after {n_iter} L-BFGS iterations")]
    s.plots = [Figure(ctx.rel(d / "losses.png"), "total loss and its terms per iteration (log scale)")]
    s.numbers = [
        ("image", f"{w}x{h} px"),
        ("total loss", f"{r.first_loss:.4g} -> {r.best_loss:.4g} (best, iteration {r.best_iteration}; "
                       f"{_ratio(r.first_loss, r.best_loss)})"),
        ("content / style / tv at the best image",
         " / ".join(f"{r.history[k][best]:.4g}" for k in ("content", "style", "tv")) if best >= 0 else "-"),
        ("loss weights (content / style / tv)", f"1 / {style_weight:g} / 1"
         + (f" (style weight raised from the default {STYLE_WEIGHT:g}: random features have small Gram "
            "matrices)" if style_weight != STYLE_WEIGHT else " (the defaults)")),
        ("iterations", f"{n_iter} (loss evaluations: {r.evaluations})"),
        ("time", f"{_fmt_s(r.seconds)} in all, {r.seconds / n_iter:.3f} s per iteration"),
        ("backend", ctx.backend),
        ("VGG19 weights", _vgg_note(r.pretrained, ctx.vgg_weights)),
    ]
    ctx.facts["VGG19 weights"] = "pretrained" if r.pretrained else "RANDOM"
    if not r.pretrained:
        s.warnings.append(_random_vgg_warning("style transfer"))
    s.command = _cmd("minicnn", "style", d / "content.png", d / "style.png", "-o", d / "result.png",
                     "--size", size, "--iters", iters, "--style-weight", f"{style_weight:g}", "--backend",
                     ctx.backend)
    return s


# --- deep dream -------------------------------------------------------------------------------------

def section_dream(ctx: DemoContext) -> Section:
    from algorithms.common.images import load_rgb, save_rgb
    from algorithms.common.plots import plot_curves
    from algorithms.deep_dream import DEFAULT_LAYERS, deep_dream
    p = ctx.profile
    d = ctx.folder("dream")
    size, octaves, steps = p["dream_size"], p["dream_octaves"], p["dream_steps"]
    save_rgb(load_rgb(DREAM_IMAGE, "input", size=size), d / "input.png")
    with _quiet_random_weights():
        r = deep_dream(DREAM_IMAGE, size=size, octaves=octaves, steps=steps, seed=ctx.seed,
                       weights=ctx.vgg_weights, backend=ctx.backend, output=str(d / "result.png"),
                       progress=ctx.progress)
    hist = r.history
    curves = {}
    for k in range(len(r.shapes)):
        idx = [i for i, o in enumerate(hist["octave"]) if o == k]
        if idx:
            h, w = r.shapes[k]
            curves[f"octave {k + 1} ({w}x{h})"] = (idx, [hist["objective"][i] for i in idx])
    plot_curves(d / "objective.png", curves, title=f"deep dream objective ({', '.join(r.options.layers)})",
                xlabel="step (all octaves in a row)", log_y=False)
    n = max(1, len(hist["objective"]))
    h, w = r.image.shape[:2]
    per_octave = []
    for k in range(len(r.shapes)):
        vals = [v for o, v in zip(hist["octave"], hist["objective"]) if o == k]
        if vals:
            per_octave.append(f"{vals[0]:.4g} -> {vals[-1]:.4g}")
    s = Section("dream", "Deep dream (Mordvintsev et al.)",
                summary=f"Gradient ascent on the image '{DREAM_IMAGE}' makes the VGG19 layer "
                        f"{', '.join(r.options.layers)} respond more strongly (L2 objective), octave by octave "
                        f"from small to full size, with random jitter.")
    s.figures = [Figure(ctx.rel(d / "input.png"), f"input: skimage '{DREAM_IMAGE}', {w}x{h}"),
                 Figure(ctx.rel(d / "result.png"), f"dream after {len(r.shapes)} octave(s) x {steps} steps")]
    s.plots = [Figure(ctx.rel(d / "objective.png"), "objective at every step, one curve per octave")]
    s.numbers = [
        ("image", f"{w}x{h} px; octaves " + ", ".join(f"{b}x{a}" for a, b in r.shapes)),
        ("layers", ", ".join(r.options.layers) + ("" if tuple(r.options.layers) != tuple(DEFAULT_LAYERS)
                                                   else " (the default)")),
        ("objective per octave (first -> last step)", "; ".join(per_octave) or "-"),
        ("steps", f"{n} ({steps} per octave)"),
        ("time", f"{_fmt_s(r.seconds)} in all, {r.seconds / n:.3f} s per step"),
        ("backend", ctx.backend),
        ("VGG19 weights", _vgg_note(r.pretrained, ctx.vgg_weights)),
    ]
    ctx.facts.setdefault("VGG19 weights", "pretrained" if r.pretrained else "RANDOM")
    if not r.pretrained:
        s.warnings.append(_random_vgg_warning("deep dream"))
    s.command = _cmd("minicnn", "dream", d / "input.png", "-o", d / "result.png", "--size", size,
                     "--octaves", octaves, "--steps", steps, "--backend", ctx.backend)
    return s


# --- denoising -------------------------------------------------------------------------------------

def _denoiser(ctx: DemoContext, d: Path):
    """(model, description, warnings, training plot or None): shipped weights, else a quick in-demo training."""
    from algorithms import denoising as D
    try:
        path, note = D.shipped_weights(False, DENOISE_SIGMA)
    except FileNotFoundError:
        path = None
    if path is not None:
        model, meta = D.load_weights(path)
        model.to(ctx.backend)
        steps = meta.get("steps")
        desc = f"shipped weights {Path(path).name} ({note}" + (f", {int(steps)} training steps)" if steps else ")")
        return model, desc, [], None
    p = ctx.profile
    plot = d / "training.png"
    cfg = D.DenoiseConfig(channels=1, sigma=DENOISE_SIGMA, steps=p["train_steps"], patch=p["train_patch"],
                          features=32, batch_size=8, validate_every=p["train_steps"], seed=ctx.seed,
                          backend=ctx.backend, plot=str(plot), val_crop=min(96, p["denoise_crop"]))
    model, result, _noisy = D.train_denoiser(cfg)
    warn = (f"No shipped denoiser weights were found (minicnn/weights/{D.SHIPPED[('gray', DENOISE_SIGMA)]}), "
            f"so this RED-Net was trained inside the demo for only {result.step} steps: its numbers show the "
            "code working, not what the trained model achieves. Train it with `minicnn train-denoiser`.")
    return model, f"RED-Net trained in the demo for {result.step} steps", [warn], plot


def section_denoise(ctx: DemoContext) -> Section:
    from algorithms import denoising as D
    p = ctx.profile
    d = ctx.folder("denoise")
    clean = D.central_crop(D.to_gray(D.sample_image(DENOISE_IMAGE)), p["denoise_crop"])
    model, desc, warns, train_plot = _denoiser(ctx, d)
    s = Section("denoise", "Denoising (RED-Net)",
                summary=f"Gaussian noise of sigma {DENOISE_SIGMA:g} (0-255 scale) is added to a "
                        f"{clean.shape[1]}x{clean.shape[0]} crop of '{DENOISE_IMAGE}' (never used in training) and "
                        "removed by a 10-layer RED-Net, compared with classical denoisers on the same noise.")
    s.warnings += warns
    methods = [("noisy", None), ("gaussian", D.gaussian_denoise), ("nlm", D.nlm_denoise)]
    if p["bm3d"]:
        try:
            import bm3d  # noqa: F401
            methods.append(("bm3d", D.bm3d_denoise))
        except ImportError:
            s.notes.append("BM3D is left out: the bm3d package is not installed (pip install 'minicnn[eval]').")
    methods.append(("rednet", lambda noisy, sigma: D.denoise_array(model, noisy)))
    log = (lambda r: status(f"  {r['method']:>8}: {r['psnr']:.2f} dB ({r['seconds']:.1f} s)")) if ctx.progress \
        else None
    rows, outputs = D.evaluate([(DENOISE_IMAGE, clean)], methods, (DENOISE_SIGMA,), seed=ctx.seed,
                               progress_fn=log)
    D.write_image(d / "clean.png", clean)
    for r in rows:
        D.write_image(d / f"{r['method']}.png", outputs[(DENOISE_IMAGE, DENOISE_SIGMA, r["method"])])
    by = {r["method"]: r for r in rows}
    label = {"noisy": "noisy input", "gaussian": "Gaussian filter", "nlm": "non-local means",
             "bm3d": "BM3D", "rednet": "RED-Net (minicnn)"}
    s.figures = [Figure(ctx.rel(d / "clean.png"), "clean")] + [
        Figure(ctx.rel(d / f"{m}.png"), f"{label[m]}: {by[m]['psnr']:.2f} dB, SSIM {by[m]['ssim']:.3f}")
        for m, _ in methods]
    s.table = Table(["method", "PSNR (dB)", "SSIM", "seconds"],
                    [[label[m], f"{by[m]['psnr']:.2f}", f"{by[m]['ssim']:.4f}", f"{by[m]['seconds']:.2f}"]
                     for m, _ in methods],
                    caption=f"'{DENOISE_IMAGE}' {clean.shape[1]}x{clean.shape[0]}, sigma {DENOISE_SIGMA:g}, "
                            f"noise seed {ctx.seed}", highlight=label["rednet"])
    _bar_plot(d / "psnr.png", [label[m] for m, _ in methods], [by[m]["psnr"] for m, _ in methods],
              f"PSNR at sigma {DENOISE_SIGMA:g} (higher is better)", "PSNR (dB)", highlight=label["rednet"])
    s.plots = [Figure(ctx.rel(d / "psnr.png"), "PSNR of each method against the clean image")]
    if train_plot is not None and train_plot.exists():
        s.plots.append(Figure(ctx.rel(train_plot), "training curves of the in-demo RED-Net"))
    best_base = max((by[m]["psnr"], m) for m, _ in methods if m not in ("noisy", "rednet"))
    s.numbers = [
        ("RED-Net PSNR", f"{by['rednet']['psnr']:.2f} dB (noisy {by['noisy']['psnr']:.2f} dB, "
                         f"{by['rednet']['psnr'] - by['noisy']['psnr']:+.2f} dB)"),
        ("best classical method", f"{label[best_base[1]]} {best_base[0]:.2f} dB "
                                  f"(RED-Net {by['rednet']['psnr'] - best_base[0]:+.2f} dB)"),
        ("RED-Net time", f"{by['rednet']['seconds']:.2f} s for {clean.size / 1e6:.3f} Mpixel"),
        ("model", desc),
        ("backend", ctx.backend),
    ]
    s.command = _cmd("minicnn", "denoise", d / "noisy.png", "-o", d / "rednet_again.png", "--sigma",
                     f"{DENOISE_SIGMA:g}", "--backend", ctx.backend)
    return s


# --- super-resolution ------------------------------------------------------------------------------

def _sr_models(ctx: DemoContext, d: Path):
    """{label: (kind, model)}, descriptions, warnings and training plots (shipped weights, else quick training)."""
    from algorithms import super_resolution as SR
    models, descs, warns, plots, missing = {}, [], [], [], []
    for kind in SR.MODELS:
        path = SR.default_weights(kind, SR_SCALE)
        if path.exists():
            models[kind] = (kind, SR.load_model(kind, SR_SCALE).to(ctx.backend))
            descs.append(f"{kind}: shipped weights {path.name}")
        else:
            missing.append(kind)
    if missing:
        p = ctx.profile
        train = SR.load_named_images(SR.TRAIN_IMAGES[:3])
        val = [img for _, img in SR.load_named_images(SR.VAL_IMAGES)]
        for kind in missing:
            plot = d / f"training_{kind}.png"
            cfg = SR.SRConfig(kind=kind, scale=SR_SCALE, steps=p["train_steps"], batch_size=8,
                              validate_every=p["train_steps"], seed=ctx.seed, backend=ctx.backend,
                              plot=str(plot), val_crop=min(96, p["sr_crop"]))
            model, result, _bic = SR.train_sr([img for _, img in train], val, cfg)
            models[kind] = (kind, model)
            descs.append(f"{kind}: trained in the demo for {result.step} steps")
            plots.append((plot, f"training curves of the in-demo {kind}"))
        warns.append(f"No shipped weights for {', '.join(missing)} x{SR_SCALE} were found in minicnn/weights/, "
                     f"so {'it was' if len(missing) == 1 else 'they were'} trained inside the demo for only "
                     f"{ctx.profile['train_steps']} steps: those numbers show the code working, not what the "
                     "trained models achieve. Train them with `minicnn train-sr`.")
    return models, descs, warns, plots


def section_upscale(ctx: DemoContext) -> Section:
    from algorithms import super_resolution as SR
    p = ctx.profile
    d = ctx.folder("upscale")
    img = SR.sample_image(SR_IMAGE)
    c = p["sr_crop"] - p["sr_crop"] % SR_SCALE
    h, w = img.shape[:2]
    top, left = (h - c) // 2, (w - c) // 2
    hr = np.ascontiguousarray(img[top:top + c, left:left + c])
    models, descs, warns, train_plots = _sr_models(ctx, d)
    s = Section("upscale", f"Super-resolution x{SR_SCALE} (SRCNN, ESPCN)",
                summary=f"A {c}x{c} crop of '{SR_IMAGE}' (never used in training) is shrunk {SR_SCALE} times "
                        "(bicubic with antialiasing, as in the papers) and enlarged back by interpolation and "
                        "by the networks, which work on luminance (Y) while the colour (CbCr) is bicubic.")
    s.warnings += warns
    t0 = time.perf_counter()
    rows, _outputs = SR.evaluate([(SR_IMAGE, hr)], SR_SCALE, models)
    eval_s = time.perf_counter() - t0
    # the colour pictures: LR from the RGB image by the same bicubic, then each method
    lr = np.stack([SR.downscale(hr[..., k] / 255.0, SR_SCALE) for k in range(3)], axis=-1)
    lr8 = np.round(np.clip(lr, 0, 1) * 255).astype(np.uint8)
    SR.write_image(d / "ground_truth.png", hr)
    SR.write_image(d / "input_lr.png", lr8)
    pics = {}
    for m in SR.BASELINES:
        pics[m] = np.round(np.clip(SR.upscale(lr8 / 255.0, SR_SCALE, m), 0, 1) * 255).astype(np.uint8)
    times = {}
    for label, (kind, model) in models.items():
        t1 = time.perf_counter()
        pics[label] = SR.upscale_image(lr8, SR_SCALE, model, kind)
        times[label] = time.perf_counter() - t1
    for m, a in pics.items():
        SR.write_image(d / f"{m}.png", a)
    by = {r["method"]: r for r in rows}
    s.figures = [Figure(ctx.rel(d / "input_lr.png"), f"input: {lr8.shape[1]}x{lr8.shape[0]} px"),
                 Figure(ctx.rel(d / "ground_truth.png"), f"ground truth {c}x{c}")] + [
        Figure(ctx.rel(d / f"{m}.png"), f"{m}: {by[m]['psnr']:.2f} dB, SSIM {by[m]['ssim']:.3f} (Y)")
        for m in ("bicubic", *models)]
    order = [*SR.BASELINES, *models]
    bic = by["bicubic"]["psnr"]
    s.table = Table(["method", "PSNR on Y (dB)", "SSIM on Y", "vs bicubic"],
                    [[m, f"{by[m]['psnr']:.2f}", f"{by[m]['ssim']:.4f}", f"{by[m]['psnr'] - bic:+.2f} dB"]
                     for m in order],
                    caption=f"x{SR_SCALE}, '{SR_IMAGE}' {c}x{c}, border of {SR_SCALE} px shaved, 8-bit outputs")
    _bar_plot(d / "psnr.png", order, [by[m]["psnr"] for m in order],
              f"x{SR_SCALE} PSNR on Y (higher is better)", "PSNR (dB)",
              highlight=max(models, key=lambda m: by[m]["psnr"]) if models else None)
    s.plots = [Figure(ctx.rel(d / "psnr.png"), "PSNR of each method against the ground truth")]
    s.plots += [Figure(ctx.rel(pth), cap) for pth, cap in train_plots if pth.exists()]
    s.numbers = [(f"{m} PSNR", f"{by[m]['psnr']:.2f} dB ({by[m]['psnr'] - bic:+.2f} dB vs bicubic)")
                 for m in models]
    s.numbers += [(f"{m} time", f"{times[m]:.3f} s for a {c}x{c} colour output") for m in models]
    s.numbers += [("models", "; ".join(descs)), ("evaluation time", _fmt_s(eval_s)), ("backend", ctx.backend)]
    s.command = _cmd("minicnn", "upscale", d / "input_lr.png", "-o", d / "espcn_again.png", "--model", "espcn",
                     "--scale", SR_SCALE, "--backend", ctx.backend)
    return s


SECTIONS = {"style": section_style, "dream": section_dream, "denoise": section_denoise,
            "upscale": section_upscale}
TITLES = {"style": "Neural style transfer", "dream": "Deep dream", "denoise": "Denoising",
          "upscale": f"Super-resolution x{SR_SCALE}"}


def run_section(key, ctx: DemoContext) -> Section:
    """One section, never raising: an exception becomes a section showing the error."""
    t0 = time.perf_counter()
    try:
        s = SECTIONS[key](ctx)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:   # noqa: BLE001 -- every failure must end up on the page
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        s = Section(key, TITLES[key], error=f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__,
                    details=traceback.format_exc())
        status(f"demo: {TITLES[key]} FAILED: {s.error}")
    s.seconds = time.perf_counter() - t0
    return s


def _facts(ctx: DemoContext, seconds, sections):
    import numpy
    from minicnn import backend
    blas = ""
    try:
        from threadpoolctl import threadpool_info
        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if info:
            blas = f", BLAS {info[0].get('internal_api')} with {info[0].get('num_threads')} threads"
    except ImportError:
        pass
    facts = [("made", time.strftime("%Y-%m-%d %H:%M:%S") + f" by `minicnn demo{' --quick' if ctx.quick else ''}`"
                                                            f" in {seconds:.0f} s"),
             ("backend", f"{ctx.backend} (NumPy {numpy.__version__}{blas}; {os.cpu_count()} CPU cores; "
                         f"Python {platform.python_version()})"),
             ("profile", "quick (tiny sizes, for tests)" if ctx.quick else "full")]
    if "VGG19 weights" in ctx.facts:
        facts.append(("VGG19 weights (style transfer, deep dream)", ctx.facts["VGG19 weights"]))
    del backend
    return facts


def run_gallery(output="out/demo", quick=False, backend="numpy", seed=0, only=None, vgg_weights=None,
                progress=True):
    """Run the sections (all, or ``only``), write ``output/index.html``; returns (page path, failed sections)."""
    keys = list(SECTIONS) if not only else list(only)
    for k in keys:
        if k not in SECTIONS:
            raise ValueError(f"unknown demo section {k!r}; choose from {', '.join(SECTIONS)}")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(output=output, profile=dict(PROFILES["quick" if quick else "full"]), quick=quick,
                      backend=backend, seed=seed, vgg_weights=vgg_weights, progress=progress)
    t0 = time.perf_counter()
    sections = []
    for i, k in enumerate(keys):
        status(f"demo [{i + 1}/{len(keys)}] {TITLES[k]}")
        sections.append(run_section(k, ctx))
    page = write_page(output, sections, title="minicnn: four CNN image algorithms on a from-scratch library",
                      facts=_facts(ctx, time.perf_counter() - t0, sections))
    return page, [s for s in sections if not s.ok]


if __name__ == "__main__":   # pragma: no cover
    page, failed = run_gallery(quick="--quick" in sys.argv)
    print(page)
    sys.exit(1 if failed else 0)
