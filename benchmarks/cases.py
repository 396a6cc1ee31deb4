"""The benchmark cases of the suite (``python -m benchmarks.run``) and the backends they run on.

A case is one unit of work, the same on every backend:

* **ops**: conv2d / conv_transpose2d / max_pool2d on VGG19 layer shapes, taken from
  ``benchmarks/bench_ops.py`` (``build_cases``), at batch 1 and 8, forward (no graph) and
  forward+backward (gradients for the input, the weight and the bias);
* **models**: VGG19 ``features`` forward+backward (gradients for the image and every
  weight), RED-Net 10 denoiser and SRCNN / ESPCN super-resolution inference, and one
  training step of each (forward, MSE, backward, Adam update);
* **algorithms**: one deep-dream step (``algorithms.deep_dream`` engines: jitter, VGG19 to
  relu4_2 forward+backward to the image, normalised ascent, clip) and one L-BFGS
  style-transfer iteration (run by ``benchmarks/bench_style_transfer.py`` in its own
  subprocesses, see there).

Every case builds, for a backend name, a zero-argument callable doing one unit of work;
the runner times it. Both sides use the same weights (minicnn's seeded ones, copied into
the torch twin from ``reference/``) and the same inputs, float32.

Backends: ``minicnn-numpy``, ``torch-cpu`` and, when a GPU is usable, ``minicnn-cupy`` and
``torch-cuda``. ``backend_status()`` says which are usable and, for the others, why not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

BACKENDS = ("minicnn-numpy", "torch-cpu", "minicnn-cupy", "torch-cuda")
PAIRS = (("minicnn-numpy", "torch-cpu"), ("minicnn-cupy", "torch-cuda"))   # (minicnn, its torch rival)


@dataclass
class Case:
    """One unit of work, buildable on each backend.

    name     unique, e.g. 'conv2d 64->64 @256 b8 fwd+bwd'
    family   what the time-vs-size plot groups by ('conv2d', 'vgg19', 'denoiser', ...)
    group    'op', 'model' or 'algorithm'
    shape    human-readable shape of the work
    batch    images per call
    mode     'fwd', 'fwd+bwd', 'inference', 'train step', 'step', 'iteration'
    size     input elements (batch x channels x height x width): the x axis of the size plot
    flops    floating-point operations per call if known analytically (else the runner counts
             them on the torch side with torch.utils.flop_counter; None: not counted)
    build    backend name -> callable doing one call (raises if it cannot run there)
    external (backend name, {'threads', 'clock'}) -> result dict (timed elsewhere, e.g. in a subprocess)
    vgg      a VGG layer or VGG-based algorithm case (the 1.5x goal of the issue applies)
    """
    name: str
    family: str
    group: str
    shape: str
    batch: int
    mode: str
    size: float
    build: Callable | None = None
    external: Callable | None = None
    flops: float | None = None
    vgg: bool = False
    notes: str = ""
    skipped: str | None = None
    meta: dict = field(default_factory=dict)


# --- backends --------------------------------------------------------------------------------

def device_of(backend: str) -> str:
    """The minicnn backend name ('numpy', 'cupy') or torch device ('cpu', 'cuda') of a suite backend."""
    return backend.split("-", 1)[1]


def array_backend(backend: str) -> str:
    """The array backend an algorithm option names for a suite backend: 'numpy' or 'cupy'."""
    return "numpy" if device_of(backend) in ("numpy", "cpu") else "cupy"


def backend_status() -> dict:
    """{backend: None if usable, else the reason it is skipped}."""
    status = {"minicnn-numpy": None}
    try:
        import torch
        status["torch-cpu"] = None
        status["torch-cuda"] = (None if torch.cuda.is_available()
                                else f"torch {torch.__version__}: torch.cuda.is_available() is False "
                                     "(no CUDA GPU, or a CPU-only torch build)")
    except ImportError as exc:
        status["torch-cpu"] = status["torch-cuda"] = f"torch is not installed ({exc}); pip install -e '.[bench]'"
    from minicnn import backend as be
    status["minicnn-cupy"] = None if be.cupy_available() else (be.cupy_unavailable_reason() or "CuPy unavailable")
    return {b: status[b] for b in BACKENDS}


def sync_for(backends) -> Callable | None:
    """A function that waits for queued GPU work of ``backends`` (None when all are CPU backends)."""
    fns = []
    if "minicnn-cupy" in backends:
        from minicnn import backend as be
        fns.append(lambda: be.synchronize("cupy"))
    if "torch-cuda" in backends:
        import torch
        fns.append(torch.cuda.synchronize)
    if not fns:
        return None

    def sync():
        for f in fns:
            f()
    return sync


# --- helpers to build calls ----------------------------------------------------------------------

def _mc_tensor(a, backend, requires_grad=False):
    import minicnn
    return minicnn.tensor(a, requires_grad=requires_grad, backend=device_of(backend))


def _th_tensor(a, backend, requires_grad=False):
    import torch
    return torch.tensor(a, device=device_of(backend), requires_grad=requires_grad)


def op_builder(mc_fn, th_fn, arrays, mode):
    """build(backend) for a functional op: ``mode`` 'fwd' (no graph) or 'fwd+bwd' (all gradients)."""
    grad = mode != "fwd"

    def build(backend):
        if backend.startswith("minicnn"):
            import minicnn
            ins = [_mc_tensor(a, backend, grad) for a in arrays]
            if not grad:
                def call():
                    with minicnn.no_grad():
                        mc_fn(*ins)
                return call
            with minicnn.no_grad():
                shape = mc_fn(*ins).shape
            g = minicnn.ones(*shape, dtype=ins[0].dtype, device=device_of(backend))

            def call():
                for t in ins:
                    t.grad = None
                mc_fn(*ins).backward(g)
            return call
        import torch
        ins = [_th_tensor(a, backend, grad) for a in arrays]
        if not grad:
            def call():
                with torch.no_grad():
                    th_fn(*ins)
            return call
        with torch.no_grad():
            g = torch.ones_like(th_fn(*ins))

        def call():
            for t in ins:
                t.grad = None
            th_fn(*ins).backward(g)
        return call
    return build


class SharedWeights:
    """A minicnn model built once (seeded weights) whose state the torch twin copies."""

    def __init__(self, make_mc, make_th):
        self.make_mc, self.make_th, self._state = make_mc, make_th, None

    def state(self):
        if self._state is None:
            from minicnn import backend as be
            import minicnn
            minicnn.manual_seed(0)
            m = self.make_mc()
            self._state = {k: be.to_numpy(v.data).copy() for k, v in m.state_dict().items()}
        return self._state

    def model(self, backend):
        state = self.state()
        if backend.startswith("minicnn"):
            m = self.make_mc()
            m.load_state_dict(state)
            return m.to(device_of(backend))
        import torch
        m = self.make_th()
        m.load_state_dict({k: torch.from_numpy(state[k]) for k in m.state_dict()})
        return m.to(device_of(backend))


def model_builder(weights: SharedWeights, x, kind, y=None, lr=1e-3):
    """build(backend) for a model: ``kind`` 'inference', 'fwd+bwd' (image and weight grads) or 'train step'."""

    def build(backend):
        model = weights.model(backend)
        if backend.startswith("minicnn"):
            import minicnn
            from minicnn import functional as F
            if kind == "inference":
                model.eval()
                xt = _mc_tensor(x, backend)

                def call():
                    with minicnn.no_grad():
                        model(xt)
                return call
            if kind == "fwd+bwd":
                xt = _mc_tensor(x, backend, True)
                with minicnn.no_grad():
                    shape = model(xt).shape
                g = minicnn.ones(*shape, dtype=xt.dtype, device=device_of(backend))

                def call():
                    model.zero_grad()
                    xt.grad = None
                    model(xt).backward(g)
                return call
            xt, yt = _mc_tensor(x, backend), _mc_tensor(y, backend)
            opt = minicnn.optim.Adam(model.parameters(), lr=lr)

            def call():
                opt.zero_grad()
                F.mse_loss(model(xt), yt).backward()
                opt.step()
            return call
        import torch
        if kind == "inference":
            model.eval()
            xt = _th_tensor(x, backend)

            def call():
                with torch.no_grad():
                    model(xt)
            return call
        if kind == "fwd+bwd":
            xt = _th_tensor(x, backend, True)
            with torch.no_grad():
                g = torch.ones_like(model(xt))

            def call():
                model.zero_grad(set_to_none=True)
                xt.grad = None
                model(xt).backward(g)
            return call
        xt, yt = _th_tensor(x, backend), _th_tensor(y, backend)
        opt = torch.optim.Adam(model.parameters(), lr=lr)

        def call():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(xt), yt).backward()
            opt.step()
        return call
    return build


def _rand(rng, shape, lo=0.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def smooth_image(size, channels=3, seed=0):
    """A smooth random image (channels, size, size) in [0, 1] (a cumulative random walk)."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(np.cumsum(rng.standard_normal((channels, size, size)), 1), 2)
    lo = walk.min(axis=(1, 2), keepdims=True)
    hi = walk.max(axis=(1, 2), keepdims=True)
    return ((walk - lo) / (hi - lo + 1e-12)).astype(np.float32)


# --- the case families ----------------------------------------------------------------------------

def op_cases(size, batches):
    """conv2d / conv_transpose2d / max_pool2d cases of benchmarks/bench_ops.py at each batch size."""
    from benchmarks import bench_ops
    out = []
    for bc in bench_ops.build_cases(size):
        for batch in batches:
            arrays = list(bc.arrays)
            arrays[0] = np.ascontiguousarray(np.repeat(arrays[0], batch, axis=0))
            for mode, mult in (("fwd", 1), ("fwd+bwd", 3)):
                flops = bc.flops * batch * mult if bc.flops else None
                case = Case(f"{bc.op} {bc.shape} b{batch} {mode}", bc.op, "op", bc.shape, batch, mode,
                            float(arrays[0].size), flops=flops, vgg=bc.vgg and bc.op == "conv2d",
                            skipped=bc.skipped)
                if not bc.skipped:
                    case.build = op_builder(bc.mc_fn, bc.th_fn, arrays, mode)
                out.append(case)
    return out


def tiny_op_cases():
    """A few very small op cases (the runner's own test set)."""
    import torch
    import minicnn.functional as MF
    rng = np.random.default_rng(0)
    x, w, b = _rand(rng, (2, 3, 12, 12)), _rand(rng, (4, 3, 3, 3), -0.3, 0.3), _rand(rng, (4,))
    conv = (lambda x, w, b: MF.conv2d(x, w, b, padding=1),
            lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1))
    pool = (lambda x: MF.max_pool2d(x, 2), lambda x: torch.nn.functional.max_pool2d(x, 2))
    flops = 2.0 * 2 * 4 * 3 * 9 * 12 * 12
    return [Case("conv2d 3->4 @12 b2 fwd", "conv2d", "op", "3->4 @12", 2, "fwd", float(x.size),
                 build=op_builder(*conv, [x, w, b], "fwd"), flops=flops),
            Case("conv2d 3->4 @12 b2 fwd+bwd", "conv2d", "op", "3->4 @12", 2, "fwd+bwd", float(x.size),
                 build=op_builder(*conv, [x, w, b], "fwd+bwd"), flops=3 * flops),
            Case("max_pool2d 3 @12 k2 s2 b2 fwd", "max_pool2d", "op", "3 @12 k2 s2", 2, "fwd", float(x.size),
                 build=op_builder(*pool, [x], "fwd"))]


def vgg_cases(sizes):
    from minicnn.models import vgg as mc_vgg
    from reference.models import vgg as th_vgg
    weights = SharedWeights(lambda: mc_vgg.vgg19(weights=False), lambda: th_vgg.vgg19(weights=None))
    out = []
    for s in sizes:
        x = smooth_image(s)[None]
        out.append(Case(f"vgg19 features @{s} b1 fwd+bwd", "vgg19", "model", f"3x{s}x{s} -> 512x{s // 32}x{s // 32}",
                        1, "fwd+bwd", float(x.size), build=model_builder(weights, x, "fwd+bwd"), vgg=True,
                        notes="all 16 conv layers and 5 max pools; gradients for the image and every weight"))
    return out


def denoiser_cases(size, train_batch, patch=40):
    from minicnn.models.rednet import REDNet
    from reference.models.rednet import REDNet as THREDNet
    weights = SharedWeights(lambda: REDNet(depth=10, channels=1), lambda: THREDNet(depth=10, channels=1))
    rng = np.random.default_rng(1)
    x = smooth_image(size, 1)[None]
    xb, yb = _rand(rng, (train_batch, 1, patch, patch)), _rand(rng, (train_batch, 1, patch, patch))
    return [Case(f"denoiser RED10 @{size} b1 inference", "denoiser", "model", f"1x{size}x{size}", 1, "inference",
                 float(x.size), build=model_builder(weights, x, "inference"),
                 notes="RED-Net 10 (5 conv + 5 transposed conv, 64 features), grayscale"),
            Case(f"denoiser RED10 train {patch}px b{train_batch} train step", "denoiser", "model",
                 f"{train_batch}x1x{patch}x{patch}", train_batch, "train step", float(xb.size),
                 build=model_builder(weights, xb, "train step", yb), notes="forward, MSE, backward, Adam")]


def sr_cases(size, train_batch, scale=2, patch=48):
    from minicnn.models.espcn import ESPCN
    from minicnn.models.srcnn import SRCNN
    from reference.models.espcn import ESPCN as THESPCN
    from reference.models.srcnn import SRCNN as THSRCNN
    rng = np.random.default_rng(2)
    out = []
    srcnn = SharedWeights(lambda: SRCNN(channels=1), lambda: THSRCNN(channels=1))
    x = smooth_image(size, 1)[None]
    out.append(Case(f"SRCNN x{scale} -> {size} b1 inference", "super-resolution", "model",
                    f"1x{size}x{size} (bicubic upscale in)", 1, "inference", float(x.size),
                    build=model_builder(srcnn, x, "inference"), notes="SRCNN 9-5-5 on the bicubic upscale"))
    espcn = SharedWeights(lambda: ESPCN(scale, channels=1), lambda: THESPCN(scale, channels=1))
    lr = smooth_image(size // scale, 1)[None]
    out.append(Case(f"ESPCN x{scale} -> {size} b1 inference", "super-resolution", "model",
                    f"1x{size // scale}x{size // scale} -> {size}x{size}", 1, "inference", float(lr.size),
                    build=model_builder(espcn, lr, "inference"), notes="ESPCN 5-3-3 + pixel shuffle"))
    xb, yb = _rand(rng, (train_batch, 1, patch, patch)), _rand(rng, (train_batch, 1, patch, patch))
    out.append(Case(f"SRCNN x{scale} train {patch}px b{train_batch} train step", "super-resolution", "model",
                    f"{train_batch}x1x{patch}x{patch}", train_batch, "train step", float(xb.size),
                    build=model_builder(srcnn, xb, "train step", yb), notes="forward, MSE, backward, Adam"))
    p = patch // scale
    lb = _rand(rng, (train_batch, 1, p, p))
    out.append(Case(f"ESPCN x{scale} train {patch}px b{train_batch} train step", "super-resolution", "model",
                    f"{train_batch}x1x{p}x{p} -> {patch}x{patch}", train_batch, "train step", float(lb.size),
                    build=model_builder(espcn, lb, "train step", yb), notes="forward, MSE, backward, Adam"))
    return out


def tiny_model_cases():
    from minicnn.models.rednet import REDNet
    from reference.models.rednet import REDNet as THREDNet
    rng = np.random.default_rng(3)
    weights = SharedWeights(lambda: REDNet(depth=4, channels=1, features=8),
                            lambda: THREDNet(depth=4, channels=1, features=8))
    x, y = _rand(rng, (2, 1, 16, 16)), _rand(rng, (2, 1, 16, 16))
    return [Case("denoiser RED4 @16 b2 train step", "denoiser", "model", "2x1x16x16", 2, "train step",
                 float(x.size), build=model_builder(weights, x, "train step", y))]


def _external_result(r, seconds, per_keys, memory_method):
    """A subprocess script's result as the suite's record (median, min, max, spread, peak memory, clock)."""
    clock = r.get("clock", "wall")
    per = next((list(r[k]) for k in per_keys.get(clock, ()) + per_keys["any"] if r.get(k)), [r[seconds]])
    med = r[seconds]
    return {"median": med, "min": min(per), "max": max(per), "repeats": len(per),
            "spread": (max(per) - min(per)) / med if med > 0 else 0.0, "peak_bytes": r["peak_bytes"],
            "memory_method": memory_method, "clock": clock, "samples": per}


def _call_run_one(run_one, backend, size, n, timeout, opts):
    """``run_one(impl, size, n, ...)`` of a benchmark script, passing the threads / clock it accepts."""
    import inspect
    params = inspect.signature(run_one).parameters
    kw = {"timeout": timeout} if "timeout" in params else {}
    if opts.get("threads") and "threads" in params:
        kw["threads"] = opts["threads"]
    if "clock" in params:
        kw["clock"] = opts.get("clock", "wall")
    return run_one(backend, size, n, **kw)


SUBPROCESS_MEMORY = ("growth of the subprocess's peak RSS (ru_maxrss) over its size just before the work "
                     "(GPU: the device allocator's peak)")


def dream_case(size, steps, timeout=1800):
    """One deep-dream step at size x size, via benchmarks/bench_deep_dream.py (a subprocess per backend)."""

    def external(backend, opts):
        from benchmarks.bench_deep_dream import run_one
        r = _call_run_one(run_one, backend, size, steps, timeout, opts)
        keys = {"wall": ("wall_per_step",), "cpu": ("cpu_per_step",), "any": ("per_step",)}
        return _external_result(r, "seconds_per_step", keys, SUBPROCESS_MEMORY)
    return Case(f"deep dream step @{size} relu4_2", "deep dream", "algorithm", f"3x{size}x{size}", 1, "step",
                float(3 * size * size), external=external, vgg=True,
                meta={"worker": ["benchmarks.bench_deep_dream", str(size), "1"]},
                notes=f"bench_deep_dream.py, a subprocess per backend and round (backends alternating), {steps} "
                      "steps after 1 warm-up each: jitter, VGG19 to relu4_2 forward+backward to the image, "
                      "normalised ascent, clip")


def style_case(size, iters, timeout=1800):
    """One L-BFGS style-transfer iteration at size x size, via benchmarks/bench_style_transfer.py."""

    def external(backend, opts):
        from benchmarks.bench_style_transfer import run_one
        r = _call_run_one(run_one, backend, size, iters, timeout, opts)
        keys = {"wall": ("wall_per_iter",), "cpu": ("cpu_per_iter",), "any": ("per_iter",)}
        return _external_result(r, "seconds_per_iter", keys, SUBPROCESS_MEMORY)
    return Case(f"style transfer iteration @{size} L-BFGS", "style transfer", "algorithm", f"3x{size}x{size}", 1,
                "iteration", float(3 * size * size), external=external, vgg=True,
                meta={"worker": ["benchmarks.bench_style_transfer", str(size), "2"]},
                notes=f"bench_style_transfer.py, a subprocess per backend and round (backends alternating), "
                      f"{iters} iterations after 1 warm-up each: VGG19 to relu5_1 forward+backward to the image, "
                      "L-BFGS update")


# --- presets --------------------------------------------------------------------------------------

PRESETS = {
    # the runner's own test set: a few milliseconds each
    "tiny": dict(repeats=2, max_repeats=2, warmup=1, min_repeats=2, budget=0.5, peak_n=256, rounds=1),
    # a smoke run of every case family, small sizes: under 5 minutes on 2 cores
    "quick": dict(op_size=64, batches=(1, 8), vgg=(64, 128), style=(128, 2), dream=(128, 2), image=128,
                  train_batch=4, repeats=3, max_repeats=9, warmup=1, min_repeats=2, budget=3.0, peak_n=1024,
                  rounds=1),
    # the committed run: the sizes of the issue
    "full": dict(op_size=256, batches=(1, 8), vgg=(256, 512), style=(512, 3), dream=(512, 3), image=512,
                 train_batch=16, repeats=5, max_repeats=25, warmup=1, min_repeats=3, budget=30.0, peak_n=2048,
                 rounds=2),
}


def _family(name, make, *args):
    """The cases ``make(*args)`` builds, or one skipped case naming what is missing (e.g. a model not landed)."""
    try:
        return make(*args)
    except ImportError as exc:
        return [Case(f"{name} (not available)", name, "model", "-", 1, "-", 0.0,
                     skipped=f"cannot import what the {name} cases need: {exc}")]


def build_cases(preset: str, only: str | None = None) -> list[Case]:
    """The cases of ``preset`` ('tiny', 'quick', 'full'), those whose name contains ``only`` if given."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    p = PRESETS[preset]
    if preset == "tiny":
        cases = tiny_op_cases() + tiny_model_cases()
    else:
        cases = (_family("ops", op_cases, p["op_size"], p["batches"]) + _family("vgg19", vgg_cases, p["vgg"])
                 + _family("deep dream", lambda: [dream_case(*p["dream"])])
                 + _family("style transfer", lambda: [style_case(*p["style"])])
                 + _family("denoiser", denoiser_cases, p["image"], p["train_batch"])
                 + _family("super-resolution", sr_cases, p["image"], p["train_batch"]))
    if only:
        keys = [k.strip() for k in only.split(",") if k.strip()]
        cases = [c for c in cases if any(k in c.name for k in keys)]
    return cases


__all__ = ["BACKENDS", "PAIRS", "Case", "PRESETS", "backend_status", "build_cases", "device_of", "sync_for",
           "op_builder", "model_builder", "SharedWeights", "smooth_image"]
