"""Deep dream (Mordvintsev, Olah & Tyka, 2015) on minicnn, to the recipe of the original notebook.

The image x is changed by gradient ASCENT so that chosen VGG activations grow: whatever
the network faintly sees in the image, it is made to see more.

Objective (``objective=``), summed over the chosen layers l (A_l = activations of x at
layer l, only the chosen ``channels`` when given, N_l = number of their elements, P_l =
number of spatial positions):

    'l2'   (default)  L = sum_l  sum(A_l ** 2) / N_l     the notebook's objective_L2 (its
                                                         gradient is A_l), as a mean
    'mean'            L = sum_l  sum(A_l) / N_l          the mean activation
    guide image g     L = sum_l  sum_i max_j <a_i, y_j> / P_l
                      a_i = channel vector of x's features at position i, y_j = the guide's
                      at position j: every position is pulled towards the guide feature it
                      already matches best (the notebook's objective_guide, whose gradient
                      y_argmax is exactly this function's gradient).

Step (``make_step`` of the notebook), with x in PIXEL UNITS 0..255 as in Caffe's input:

    ox, oy = random integers in [-jitter, jitter]   (numpy Generator from ``seed``)
    x = roll(x, (oy, ox))                            jitter: shifts the pooling grid and tile seams
    g = dL/dx
    x = x + step_size / mean(|g|) * g                normalised ascent: the mean change is step_size
    x = roll(x, (-oy, -ox));  x = clip(x, 0, 255)    grey levels per step, whatever L's scale

(a zero gradient, e.g. a dead channel, leaves x unchanged instead of dividing by zero).

Octaves (``deepdream`` of the notebook): the input is resized to ``octaves`` sizes, each
``octave_scale`` times smaller than the next (rounded; bilinear with antialiasing); starting
from the smallest with detail = 0, each octave runs ``steps`` steps on base + detail and
hands ``detail = x - base`` (the patterns dreamt so far) on, upscaled (bilinear), to the
next. Patterns grown at coarse octaves become large structures at full size. (Unlike the
notebook, base + detail is clipped to 0..255 at the start of each octave too, so the network
only ever sees valid images and the objective does not drop at the first step of an octave.)

Model: VGG19 (or VGG16) ``features`` up to the deepest chosen layer, on torchvision's
weights when a weights file is found (``minicnn.models.vgg``), taking x / 255 and applying
ImageNet's mean/std itself. Without weights it runs on seeded random features and says so.

Default layer, relu4_2. No pretrained weights could be fetched on the machine this was
written on, so the choice rests on receptive fields and cost, not on looking at results. The
notebook's default, inception_4c, lies in the upper middle of GoogLeNet, where units respond
to object parts (eyes, fur, wheels). In VGG19 that level is block 4: a relu4_2 unit sees 84
x 84 pixels on a 1/8 grid, large enough for object-part patterns at the default 512-pixel
size; at the coarsest octave (1/1.4^3 of the size) it spans 230 px of the result. Block 3
units see 24-48 px (mostly textures and strokes); block 5 units see 156-252 px on a 1/16
grid (a few large shapes at this size, for 30-40 % more work per step). relu4_2 is also
Gatys et al.'s content layer, a well-studied feature level. Use relu3_x for finer patterns,
relu5_x with a larger size for whole objects.

Tiling (``tile=N``): the gradient is summed over tiles whose cores are at most N x N image
pixels (aligned to the deepest layer's stride), each run with a ``halo`` of context pixels
around it (the layer's receptive-field reach, rounded up to its stride); each tile
contributes only the activations of its core, and its gradient (halo included) is added into
the image's. Because every core activation sees all of its receptive field, the tiled
gradient is the untiled one (up to rounding): no seams, and images of any size fit in
memory.

Use::

    from algorithms.deep_dream import deep_dream
    result = deep_dream("photo.jpg", layers=["relu4_2"], size=512, weights="vgg19-dcbb9e9d.pth")
    result.image        # (H, W, 3) NumPy array in [0, 1]
    result.history      # objective at every step

The torch twin ``reference/deep_dream.py`` runs the same loop (``run_dream``) with torch
arithmetic; ``tests/test_deep_dream.py`` checks that both give the same images.
"""
from __future__ import annotations

import math
import numbers
import os
import time
from dataclasses import dataclass, field

import numpy as np

from algorithms.common.interrupt import StopOnInterrupt
from algorithms.common.progress import fmt, progress as progress_bar, status

__all__ = ["deep_dream", "DreamResult", "DreamOptions", "MinicnnDreamer", "run_dream", "prepare",
           "layer_geometry", "tile_plan", "octave_shapes", "draw_shift", "layer_channels",
           "DEFAULT_LAYERS", "OBJECTIVES"]

DEFAULT_LAYERS = ("relu4_2",)
OBJECTIVES = ("l2", "mean")
MODELS = ("vgg19", "vgg16")
POOLS = ("max", "avg")
DTYPES = ("float32", "float64")
PIXEL_MAX = 255.0


# --- layer tables (no model needed) -------------------------------------------------------

def _layer_names(arch):
    from minicnn.models.vgg import vgg_layer_names
    return vgg_layer_names(arch)


def layer_channels(arch, name) -> int:
    """Output channels of VGG layer ``name`` (conv/relu: its conv's; pool: the block's)."""
    from minicnn.models.vgg import CFGS
    channels, i = 3, 0
    names = _layer_names(arch)
    for v in CFGS[arch]:
        if v == "M":
            if names[i] == name:
                return channels
            i += 1
        else:
            channels = v
            if name in (names[i], names[i + 1]):
                return channels
            i += 2
    raise ValueError(f"unknown layer {name!r}")


@dataclass(frozen=True)
class Geometry:
    """Where each chosen layer's activations sit on the image.

    strides  {layer: pixels between neighbouring activations (2 ** pools before it)}
    stride   the largest of them (the deepest layer's)
    halo     context pixels a tile needs on each side so its core activations are exact:
             the deepest layer's receptive-field reach (3x3 conv: +1 x stride so far,
             2x2 pool: +1 x stride so far, then the stride doubles), rounded up to ``stride``
    """
    strides: dict
    stride: int
    halo: int
    reach: int


def layer_geometry(arch, layers) -> Geometry:
    names = _layer_names(arch)
    deepest = max(names.index(n) for n in layers)
    jump, reach, strides = 1, 0, {}
    for n in names[:deepest + 1]:
        if n.startswith(("conv", "pool")):  # conv 3x3 pad 1 or pool 2x2: one more input pixel
            reach += jump                   # (at the current stride) on a side
        if n.startswith("pool"):
            jump *= 2
        if n in layers:
            strides[n] = jump
    return Geometry(strides, jump, -(-reach // jump) * jump, reach)


@dataclass(frozen=True)
class Tile:
    """One tile: ``rows``/``cols`` the image pixels it reads (core + halo), ``core[layer]`` the
    (row slice, col slice) of that layer's tile activations that belong to this tile."""
    rows: slice
    cols: slice
    core: dict


def _axis_parts(n, stride, halo, tile):
    """[(ext0, ext1, core0, core1)] pixel ranges along one image axis of ``n`` pixels."""
    if not tile or n <= tile:
        return [(0, n, 0, n)]
    units = n // stride                                   # activations of the deepest layer
    parts = max(1, -(-units // max(1, tile // stride)))
    bounds = [round(i * units / parts) for i in range(parts + 1)]
    out = []
    for a0, a1 in zip(bounds[:-1], bounds[1:]):
        c0, c1 = a0 * stride, (n if a1 == units else a1 * stride)
        out.append((max(0, c0 - halo), min(n, c1 + halo), c0, c1))
    return out


def tile_plan(h, w, geom: Geometry, tile) -> list:
    """The tiles covering an h x w image (a single tile when it fits in ``tile``)."""
    tiles = []
    for r0, r1, rc0, rc1 in _axis_parts(h, geom.stride, geom.halo, tile):
        for q0, q1, cc0, cc1 in _axis_parts(w, geom.stride, geom.halo, tile):
            core = {name: (slice(rc0 // s - r0 // s, rc1 // s - r0 // s),
                           slice(cc0 // s - q0 // s, cc1 // s - q0 // s))
                    for name, s in geom.strides.items()}
            tiles.append(Tile(slice(r0, r1), slice(q0, q1), core))
    return tiles


def octave_shapes(hw, octaves, octave_scale) -> list:
    """Image sizes of the octaves, smallest first; the last is ``hw`` itself."""
    h, w = hw
    return [(max(1, round(h / octave_scale ** k)), max(1, round(w / octave_scale ** k)))
            for k in reversed(range(octaves))]


def draw_shift(rng, jitter):
    """(ox, oy): the notebook's ``np.random.randint(-jitter, jitter + 1, 2)`` from Generator ``rng``."""
    if jitter <= 0:
        return 0, 0
    ox, oy = rng.integers(-jitter, jitter + 1, size=2)
    return int(ox), int(oy)


# --- options --------------------------------------------------------------------------------

def _int(name, v, minimum):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(v).__name__} {v!r}")
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v!r}")
    return int(v)


def _real(name, v, above):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise TypeError(f"{name} must be a finite number, got {type(v).__name__} {v!r}")
    if v <= above:
        raise ValueError(f"{name} must be > {above}, got {v!r}")
    return float(v)


def _choice(name, v, choices):
    if v not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got {v!r}")
    return v


@dataclass
class DreamOptions:
    """Every option of a deep-dream run; ``check()`` refuses bad values before any work."""
    layers: tuple = DEFAULT_LAYERS
    channels: tuple | None = None
    objective: str = "l2"
    size: int | None = 512
    octaves: int = 4
    octave_scale: float = 1.4
    steps: int = 10
    step_size: float = 1.5
    jitter: int = 32
    tile: int | None = 512
    seed: int = 0
    model: str = "vgg19"
    pool: str = "max"
    weights: object = None
    guide_size: int = 224
    dtype: str = "float32"
    backend: str = "numpy"
    geometry: Geometry | None = field(default=None, repr=False)

    def check(self):
        self.model = _choice("model", self.model, MODELS)
        names = _layer_names(self.model)
        layers = [self.layers] if isinstance(self.layers, str) else list(self.layers or ())
        layers = [v for item in layers for v in str(item).replace(",", " ").split()]
        if not layers:
            raise ValueError(f"layers is empty; name at least one {self.model} layer, e.g. relu4_2")
        for n in layers:
            if n not in names:
                raise ValueError(f"unknown layer {n!r} for {self.model}; available: {', '.join(names)}")
        if len(set(layers)) != len(layers):
            raise ValueError(f"layers lists a layer twice: {layers}")
        self.layers = tuple(layers)
        if self.channels is not None:
            chans = [self.channels] if isinstance(self.channels, numbers.Integral) else list(self.channels)
            if not chans:
                raise ValueError("channels is empty; give channel numbers or None for all channels")
            chans = [_int("channels", c, 0) for c in chans]
            if len(set(chans)) != len(chans):
                raise ValueError(f"channels lists a channel twice: {chans}")
            for n in self.layers:
                c = layer_channels(self.model, n)
                bad = [v for v in chans if v >= c]
                if bad:
                    raise ValueError(f"channel {bad[0]} is out of range for layer {n} of {self.model}, "
                                     f"which has {c} channels (0..{c - 1})")
            self.channels = tuple(chans)
        self.objective = _choice("objective", self.objective, OBJECTIVES)
        if self.size is not None:
            self.size = _int("size", self.size, 1)
        self.octaves = _int("octaves", self.octaves, 1)
        self.octave_scale = _real("octave_scale", self.octave_scale, 1.0)
        self.steps = _int("steps", self.steps, 0)
        self.step_size = _real("step_size", self.step_size, 0.0)
        self.jitter = _int("jitter", self.jitter, 0)
        self.tile = None if self.tile in (None, 0) else _int("tile", self.tile, 1)
        self.seed = _int("seed", self.seed, 0)
        self.pool = _choice("pool", self.pool, POOLS)
        self.guide_size = _int("guide_size", self.guide_size, 1)
        self.dtype = _choice("dtype", str(self.dtype), DTYPES)
        if self.backend not in ("numpy", "cupy"):
            raise ValueError(f"backend must be 'numpy' or 'cupy', got {self.backend!r}")
        if isinstance(self.weights, (str, os.PathLike)) and self.weights != "random":
            from algorithms.common.files import check_input_file
            check_input_file(self.weights, "weights")
        elif not (self.weights is None or self.weights is False or self.weights == "random"):
            raise TypeError(f"weights must be a file path, None (default file) or False (random), "
                            f"got {type(self.weights).__name__}")
        self.geometry = layer_geometry(self.model, self.layers)
        return self

    @property
    def deepest(self):
        names = _layer_names(self.model)
        return max(self.layers, key=names.index)


@dataclass
class Plan:
    image: np.ndarray            # (3, H, W) float64 in [0, 1], the input at its final size
    guide: np.ndarray | None     # (3, h, w) float64 in [0, 1] or None
    shapes: list                 # octave sizes, smallest first


def prepare(image, guide, opts: DreamOptions) -> Plan:
    """Read and size the images and plan the octaves; every input error is raised here."""
    from algorithms.common.images import load_rgb
    img = load_rgb(image, "input", size=opts.size)
    g = None if guide is None else load_rgb(guide, "guide", size=opts.guide_size)
    shapes = octave_shapes(img.shape[1:], opts.octaves, opts.octave_scale)
    s = opts.geometry.stride
    if min(shapes[0]) < s:
        h, w = shapes[0]
        raise ValueError(f"image too small: its smallest octave is {w}x{h} px, but layer {opts.deepest} "
                         f"needs at least {s} px a side; use fewer octaves (--octaves) or a larger --size")
    if g is not None and min(g.shape[1:]) < s:
        raise ValueError(f"guide too small: {g.shape[2]}x{g.shape[1]} px, layer {opts.deepest} needs at "
                         f"least {s} px a side; raise --guide-size")
    return Plan(img, g, shapes)


# --- the loop, shared with the torch twin ---------------------------------------------------

@dataclass
class DreamResult:
    """What ``deep_dream`` returns.

    image          (H, W, 3) NumPy array in [0, 1] (the run's dtype); after Ctrl-C the input
                   at full size plus the detail dreamt so far
    history        {'octave': [...], 'step': [...], 'objective': [...]}, one entry per step: the
                   objective at the (jittered) image the step started from
    octave_images  the image at the end of each octave reached, (h, w, 3) arrays
    shapes         the octave sizes (h, w), smallest first
    """
    image: np.ndarray
    history: dict
    octave_images: list
    shapes: list
    interrupted: bool
    pretrained: bool
    seconds: float
    options: DreamOptions


def _hwc(chw01):
    return np.ascontiguousarray(np.clip(chw01, 0.0, 1.0).transpose(1, 2, 0))


def run_dream(engine, plan: Plan, opts: DreamOptions, *, progress=True, stop=None, callback=None,
              save_octaves=None, output=None) -> DreamResult:
    """The notebook's ``deepdream`` loop, driving ``engine`` (minicnn or torch arithmetic).

    ``engine`` gives ``to_array`` (NumPy (3, H, W) in [0, 1] -> its (1, 3, H, W) array in pixel
    units), ``to_numpy`` (the inverse), ``resize(x, hw)``, ``zeros_like(x)``, ``clip(x)`` and
    ``step(x, ox, oy) -> (objective, new x)``.
    """
    from algorithms.common.images import save_rgb
    t0 = time.perf_counter()
    rng = np.random.default_rng(opts.seed)
    full = engine.to_array(plan.image)
    full_hw = tuple(plan.image.shape[1:])
    history = {"octave": [], "step": [], "objective": []}
    octave_images, interrupted = [], False
    x = base = detail = None
    bar = progress_bar(len(plan.shapes) * opts.steps, "deep dream", unit="step") if progress else None
    with StopOnInterrupt("image so far") as ctrl_c:
        for k, hw in enumerate(plan.shapes):
            base = full if tuple(hw) == full_hw else engine.resize(full, hw)
            detail = engine.zeros_like(base) if detail is None else engine.resize(detail, hw)
            x = engine.clip(base + detail)
            for i in range(opts.steps):
                ox, oy = draw_shift(rng, opts.jitter)
                value, x = engine.step(x, ox, oy)
                history["octave"].append(k)
                history["step"].append(i)
                history["objective"].append(value)
                if bar is not None:
                    bar.set_postfix(fmt({"octave": f"{k + 1}/{len(plan.shapes)}",
                                         "size": f"{hw[1]}x{hw[0]}", "objective": value}), refresh=False)
                    bar.update(1)
                if callback is not None:
                    callback(k, i, value)
                if ctrl_c.requested or (stop is not None and getattr(stop, "requested", False)):
                    interrupted = True
                    break
            detail = x - base
            img = _hwc(engine.to_numpy(x))
            octave_images.append(img)
            if save_octaves:
                save_rgb(img, save_octaves.format(octave=k + 1))
            if interrupted:
                break
        if bar is not None:
            bar.close()
        if tuple(x.shape[-2:]) != full_hw:                   # stopped early: the dream so far, at full size
            x = full + engine.resize(detail, full_hw)
        image = _hwc(engine.to_numpy(x))
        if output:
            save_rgb(image, output)
    return DreamResult(image, history, octave_images, plan.shapes, interrupted, engine.pretrained,
                       time.perf_counter() - t0, opts)


# --- minicnn arithmetic ---------------------------------------------------------------------

class MinicnnDreamer:
    """Gradient, step and resizing of deep dream on minicnn (the engine of ``run_dream``)."""

    def __init__(self, opts: DreamOptions, guide=None, model=None):
        from minicnn import backend
        from minicnn.models import vgg as vgg_models
        self.opts, self.xp_backend = opts, opts.backend
        backend.get_backend(opts.backend)                     # a clear error when cupy is missing
        if model is None:
            make = getattr(vgg_models, opts.model)
            weights = False if opts.weights == "random" else opts.weights
            model = make(weights=weights, pool=opts.pool, normalize=True, upto=opts.deepest,
                         dtype=opts.dtype, device=opts.backend)
        model.eval()
        model.requires_grad_(False)
        self.model, self.pretrained = model, bool(getattr(model, "pretrained", False))
        self.guide = None if guide is None else self._guide_features(guide)

    # arrays: (1, 3, H, W) on the backend, pixel units 0..255
    def to_array(self, chw01):
        from minicnn import backend
        return backend.asarray(np.asarray(chw01)[None] * PIXEL_MAX, dtype=self.opts.dtype,
                               backend=self.opts.backend)

    def to_numpy(self, x):
        from minicnn import backend
        return backend.to_numpy(x)[0] / PIXEL_MAX

    def zeros_like(self, x):
        from minicnn import backend
        return backend.array_module(x).zeros_like(x)

    def clip(self, x):
        from minicnn import backend
        return backend.array_module(x).clip(x, 0.0, PIXEL_MAX)

    def resize(self, x, hw):
        """Bilinear resize of a (1, 3, h, w) array (antialiased when it shrinks)."""
        import minicnn
        from minicnn import functional as F
        down = hw[0] < x.shape[2] or hw[1] < x.shape[3]
        with minicnn.no_grad():
            return F.interpolate(minicnn.Tensor(x), size=tuple(hw), mode="bilinear", align_corners=False,
                                 antialias=down).data

    def _features(self, x):
        """{layer: activations} of a (1, 3, h, w) Tensor in pixel units, chosen channels only."""
        feats = self.model.extract(x * (1.0 / PIXEL_MAX), list(self.opts.layers))
        if self.opts.channels is not None:
            feats = {n: a[:, list(self.opts.channels)] for n, a in feats.items()}
        return feats

    def _guide_features(self, guide):
        import minicnn
        with minicnn.no_grad():
            feats = self._features(minicnn.Tensor(self.to_array(guide)))
        return {n: a.data.reshape(a.shape[1], -1) for n, a in feats.items()}     # (C, M)

    def objective(self, x, tile: Tile, full_hw):
        """L restricted to the core activations of ``tile`` (x: the tile's pixels, a Tensor)."""
        import minicnn
        total = None
        for name, a in self._features(x).items():
            s = self.opts.geometry.strides[name]
            rows, cols = tile.core[name]
            a = a[:, :, rows, cols]
            positions = (full_hw[0] // s) * (full_hw[1] // s)
            if self.guide is not None:
                c = a.shape[1]
                feats = a.reshape(c, -1)                                  # (C, P)
                dots = minicnn.matmul(feats.transpose(0, 1), minicnn.Tensor(self.guide[name]))  # (P, M)
                term = minicnn.amax(dots, dim=1).sum() / positions
            elif self.opts.objective == "l2":
                term = (a * a).sum() / (positions * a.shape[1])
            else:
                term = a.sum() / (positions * a.shape[1])
            total = term if total is None else total + term
        return total

    def gradient(self, x):
        """(L, dL/dx) for a (1, 3, H, W) array, summed over the tiles."""
        import minicnn
        from minicnn import backend
        xp = backend.array_module(x)
        full_hw = tuple(x.shape[2:])
        tiles = tile_plan(*full_hw, self.opts.geometry, self.opts.tile)
        value, grad = 0.0, None if len(tiles) == 1 else xp.zeros_like(x)
        for t in tiles:
            xt = minicnn.Tensor(x if len(tiles) == 1 else xp.ascontiguousarray(x[:, :, t.rows, t.cols]),
                                requires_grad=True)
            obj = self.objective(xt, t, full_hw)
            obj.backward()
            value += obj.item()
            if grad is None:
                grad = xt.grad.data
            else:
                grad[:, :, t.rows, t.cols] += xt.grad.data
        return value, grad

    def step(self, x, ox, oy):
        """One ``make_step``: jitter, normalised gradient ascent, un-jitter, clip."""
        from minicnn import backend
        xp = backend.array_module(x)
        if ox or oy:
            x = xp.roll(x, (oy, ox), axis=(2, 3))
        value, g = self.gradient(x)
        scale = float(xp.abs(g).mean())
        if scale > 0 and math.isfinite(scale):
            x = x + g * (self.opts.step_size / scale)
        if ox or oy:
            x = xp.roll(x, (-oy, -ox), axis=(2, 3))
        return value, self.clip(x)


def random_weights_note(opts):
    return (f"deep dream: {opts.model} runs on RANDOM weights (no pretrained weights file found): the "
            f"patterns come from untrained features, not ImageNet's (no eyes or dog faces). Give "
            f"--weights {'vgg19-dcbb9e9d.pth' if opts.model == 'vgg19' else 'vgg16-397923af.pth'} "
            f"(torchvision's file) or see `minicnn convert-weights`.")


def deep_dream(image, *, layers=DEFAULT_LAYERS, channels=None, objective="l2", guide=None, size=512,
               octaves=4, octave_scale=1.4, steps=10, step_size=1.5, jitter=32, tile=512, seed=0,
               model="vgg19", pool="max", weights=None, guide_size=224, dtype="float32", backend="numpy",
               output=None, save_octaves=None, progress=True, stop=None, callback=None) -> DreamResult:
    """Dream on ``image`` (a path, a sample name such as 'astronaut', or an array); see the module doc.

    ``size``: longest side of the result (None keeps the input's). ``guide``: an image whose
    features the dream is pulled towards (replaces ``objective``), resized to ``guide_size``.
    ``tile``: largest tile side in pixels for the gradient (None/0: one pass over the image).
    ``weights``: a torchvision/.npz VGG file, None (the default file, else random weights with
    a warning) or False (random). ``output``: also write the image there (atomically; also on
    Ctrl-C). ``save_octaves``: a file name with ``{octave}`` (1, 2, ...) to save each octave's
    image. ``stop``: an object whose ``requested`` turning True ends the run early (a UI's
    cancel button); Ctrl-C does the same. ``callback(octave, step, objective)`` after every step.
    Returns a DreamResult; ``.image`` is the (H, W, 3) image in [0, 1].
    """
    opts = DreamOptions(layers=layers, channels=channels, objective=objective, size=size, octaves=octaves,
                        octave_scale=octave_scale, steps=steps, step_size=step_size, jitter=jitter,
                        tile=tile, seed=seed, model=model, pool=pool, weights=weights,
                        guide_size=guide_size, dtype=dtype, backend=backend).check()
    _check_outputs(output, save_octaves)
    from minicnn import backend as _backend
    _backend.get_backend(opts.backend)                    # a clear error when cupy is missing
    plan = prepare(image, guide, opts)
    engine = MinicnnDreamer(opts, plan.guide)
    if not engine.pretrained:
        status(random_weights_note(opts))
    return run_dream(engine, plan, opts, progress=progress, stop=stop, callback=callback,
                     save_octaves=save_octaves, output=output)


def _check_outputs(output, save_octaves):
    from algorithms.common.files import check_output_path
    for what, path in (("output", output), ("save_octaves", save_octaves)):
        if path is None:
            continue
        if what == "save_octaves" and "{octave" not in str(path):
            raise ValueError(f"save_octaves must contain '{{octave}}' (e.g. 'dream_{{octave}}.png'), "
                             f"got {path!r}")
        name = str(path).format(octave=1) if what == "save_octaves" else str(path)
        check_output_path(name, what)
        check_image_suffix(name, what)


def check_image_suffix(path, what="output"):
    from PIL import Image
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in Image.registered_extensions():
        raise ValueError(f"{what} {str(path)!r}: unknown image extension {ext or '(none)'!r}; "
                         "use .png, .jpg, .bmp, .tif or .webp")
