"""Every option of style transfer with its default, and the checks made before any work starts.

``StyleOptions`` holds the options of one run. ``StyleOptions.check()`` refuses a bad
value with a one-line ValueError/TypeError that names the option and the value seen;
it is called before any image is read, any model is built or any file is written.
``check_memory`` estimates the memory a run needs and refuses sizes that cannot fit.

The VGG layer tables (names, torchvision indices, channels) are here too, so layer
names can be checked without building a model.
"""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field, fields

# --- VGG layer tables ----------------------------------------------------------------------
# torchvision's configurations: numbers are 3x3 conv output channels, "M" a 2x2 pool.
VGG_CFG = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


@dataclass(frozen=True)
class Layer:
    name: str       # conv3_1, relu3_1, pool3
    index: int      # position in model.features (torchvision's index)
    channels: int   # output channels
    stride: int     # total downsampling before this layer's output (1, 2, 4, ...)
    kind: str       # 'conv', 'relu' or 'pool'


def vgg_layers(arch: str) -> list[Layer]:
    """The layers of ``arch``'s ``features`` in order, named as in Gatys et al. (conv1_1 ...)."""
    if arch not in VGG_CFG:
        raise ValueError(f"model must be one of {sorted(VGG_CFG)}, got {arch!r}")
    layers, block, conv, channels, stride = [], 1, 1, 3, 1
    for v in VGG_CFG[arch]:
        if v == "M":
            stride *= 2
            layers.append(Layer(f"pool{block}", len(layers), channels, stride, "pool"))
            block, conv = block + 1, 1
        else:
            channels = v
            layers.append(Layer(f"conv{block}_{conv}", len(layers), v, stride, "conv"))
            layers.append(Layer(f"relu{block}_{conv}", len(layers), v, stride, "relu"))
            conv += 1
    return layers


def expected_shapes_upto(arch: str, last: str) -> dict:
    """torchvision state_dict keys and shapes of ``arch``'s features up to layer ``last``."""
    shapes, c_in = {}, 3
    for l in vgg_layers(arch):
        if l.kind == "conv":
            shapes[f"features.{l.index}.weight"] = (l.channels, c_in, 3, 3)
            shapes[f"features.{l.index}.bias"] = (l.channels,)
            c_in = l.channels
        if l.name == last:
            break
    return shapes


DEFAULT_CONTENT_LAYERS = ("relu4_2",)
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
OPTIMIZERS = ("lbfgs", "adam")
POOLINGS = ("max", "avg")
LINE_SEARCHES = (None, "strong_wolfe")
DTYPES = ("float32", "float64")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}


def parse_layers(value, what) -> tuple:
    """'relu1_1,relu2_1' or ['relu1_1', 'relu2_1'] -> ('relu1_1', 'relu2_1')."""
    if isinstance(value, str):
        value = [v for v in value.replace(" ", ",").split(",") if v]
    try:
        names = tuple(value)
    except TypeError:
        raise TypeError(f"{what} must be a list of layer names such as relu4_2, got {value!r}") from None
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{what} must be layer names (strings), got {n!r}")
    return names


def _number(name, value, minimum=None, positive=False, integer=False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not integer and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


@dataclass
class StyleOptions:
    """The options of one style-transfer run (see ``style_transfer`` for their meaning)."""
    style_blend_weights: tuple | None = None
    size: int = 512
    style_scale: float = 1.0
    content_layers: tuple = DEFAULT_CONTENT_LAYERS
    style_layers: tuple = DEFAULT_STYLE_LAYERS
    content_weight: float = 1.0
    style_weight: float = 1e6
    tv_weight: float = 1.0
    init: str = "content"
    optimizer: str = "lbfgs"
    iters: int = 500
    lr: float | None = None
    line_search: str | None = None
    history_size: int = 100
    pooling: str = "max"
    original_colors: bool = False
    scales: int = 1
    seed: int = 0
    model: str = "vgg19"
    weights: object = None
    dtype: str = "float32"
    backend: str = "numpy"
    output: str | None = None
    save_every: int = 0
    plot: str | None = None
    progress: bool = True
    # filled by check()
    layers: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_kwargs(cls, **kw):
        names = {f.name for f in fields(cls)} - {"layers"}
        return cls(**{k: v for k, v in kw.items() if k in names})

    # --- derived -----------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        return DEFAULT_LR[self.optimizer] if self.lr is None else float(self.lr)

    @property
    def needed_layers(self) -> list[Layer]:
        """The layers whose activations the losses read, in network order."""
        names = set(self.content_layers) | set(self.style_layers)
        return [l for l in vgg_layers(self.model) if l.name in names]

    @property
    def last_layer(self) -> Layer:
        return self.needed_layers[-1]

    def scale_sizes(self):
        """Longest side of each scale of a coarse-to-fine run: size / 2^(scales-1), ..., size / 2, size."""
        return [max(1, int(round(self.size / 2 ** (self.scales - 1 - k)))) for k in range(self.scales)]

    # --- checks ------------------------------------------------------------------------
    def check(self, n_styles: int):
        """Refuse bad option values (before any work), with the option's name and value."""
        _number("size", self.size, integer=True)
        if self.size <= 0:
            raise ValueError(f"size must be a positive number of pixels (the output's longest side), "
                             f"got {self.size}")
        _number("style_scale", self.style_scale, positive=True)
        for name in ("content_weight", "style_weight", "tv_weight"):
            v = _number(name, getattr(self, name))
            if v < 0:
                raise ValueError(f"{name} must be >= 0, got {v!r}")
        _number("iters", self.iters, minimum=0, integer=True)
        _number("history_size", self.history_size, minimum=1, integer=True)
        _number("scales", self.scales, minimum=1, integer=True)
        _number("save_every", self.save_every, minimum=0, integer=True)
        _number("seed", self.seed, minimum=0, integer=True)
        if self.lr is not None:
            _number("lr", self.lr, positive=True)
        for name, allowed in (("optimizer", OPTIMIZERS), ("pooling", POOLINGS),
                              ("line_search", LINE_SEARCHES), ("dtype", DTYPES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; "
                                 f"got {getattr(self, name)!r}")
        if not isinstance(self.backend, str):
            raise TypeError(f"backend must be 'numpy' or 'cupy', got {self.backend!r}")
        from minicnn import backend as _backend
        _backend.get_backend(self.backend)   # a clear error now if cupy (or a GPU) is missing
        if self.line_search is not None and self.optimizer != "lbfgs":
            raise ValueError(f"line_search={self.line_search!r} needs optimizer='lbfgs', "
                             f"got optimizer={self.optimizer!r}")
        if self.model not in VGG_CFG:
            raise ValueError(f"model must be one of {', '.join(sorted(VGG_CFG))}; got {self.model!r}")
        if not isinstance(self.init, str) or not self.init:
            raise TypeError(f"init must be 'content', 'random' or an image path, got {self.init!r}")
        self.content_layers = parse_layers(self.content_layers, "content_layers")
        self.style_layers = parse_layers(self.style_layers, "style_layers")
        known = {l.name: l for l in vgg_layers(self.model)}
        for what in ("content_layers", "style_layers"):
            for name in getattr(self, what):
                if name not in known:
                    raise ValueError(f"unknown layer {name!r} in {what}; {self.model} has "
                                     f"{', '.join(n for n in known if not n.startswith('conv'))} "
                                     "and conv1_1 ...")
            if len(set(getattr(self, what))) != len(getattr(self, what)):
                raise ValueError(f"{what} names a layer twice: {', '.join(getattr(self, what))}")
        if not self.content_layers and not self.style_layers:
            raise ValueError("content_layers and style_layers are both empty: there is nothing to optimise")
        self.layers = known
        _number("number of style images", n_styles, minimum=1, integer=True)
        if self.style_blend_weights is not None:
            w = self.style_blend_weights
            w = [w] if isinstance(w, numbers.Real) else list(w)
            for v in w:
                _number("style_blend_weights", v)
            if len(w) != n_styles:
                raise ValueError(f"style_blend_weights has {len(w)} value{'s' * (len(w) != 1)} "
                                 f"but there {'are' if n_styles != 1 else 'is'} {n_styles} style "
                                 f"image{'s' * (n_styles != 1)}")
            if any(v < 0 for v in w):
                raise ValueError(f"style_blend_weights must be >= 0, got {w}")
            if sum(w) <= 0:
                raise ValueError(f"style_blend_weights must not all be 0, got {w}")
            self.style_blend_weights = tuple(float(v) for v in w)
        # the coarsest scale must still reach the deepest layer with at least one pixel
        need = self.last_layer.stride
        if self.scale_sizes()[0] < need:
            raise ValueError(f"size {self.size} with scales={self.scales} gives a coarsest image of "
                             f"{self.scale_sizes()[0]} px, too small for layer {self.last_layer.name} "
                             f"(needs at least {need} px)")
        if self.output is not None:
            suffix = os.path.splitext(str(self.output))[1].lower()
            if suffix not in IMAGE_SUFFIXES:
                raise ValueError(f"output {str(self.output)!r} must end in one of "
                                 f"{', '.join(IMAGE_SUFFIXES)} (the image format is taken from it)")
        return self

    def blend(self, n_styles: int) -> list[float]:
        """Style blend weights normalised to sum to 1 (equal weights by default)."""
        w = self.style_blend_weights or [1.0] * n_styles
        total = float(sum(w))
        return [float(v) / total for v in w]


# --- memory ---------------------------------------------------------------------------------

def estimate_memory(opts: StyleOptions, height: int, width: int, style_shapes=()) -> int:
    """Bytes a run at (height, width) needs at its peak, roughly, erring on the high side:

    * every activation up to the deepest needed layer may be kept for the backward pass
      (conv and ReLU outputs; a max-pool also keeps int64 argmax indices);
    * the backward pass holds two activation-sized gradients at a time, and a
      convolution builds its column buffer in blocks of rows (whichever algorithm
      ``minicnn.functional._route`` picks, under ``_im2col.BLOCK_BYTES``, 32 MiB; counted
      twice here);
    * the optimiser: L-BFGS keeps 2 * history_size + 6 image-sized vectors once its
      history is full, Adam 4;
    * the VGG weights up to the deepest layer, and the style images' forward pass (no
      graph kept, so only its largest buffers at a time).

    Every activation is counted although minicnn frees those no backward pass needs, so
    this errs on the high side: at 512 px it gives 1.5 GiB where the benchmark
    (``benchmarks/bench_style_transfer.py``) measures a peak resident growth of ~0.5 GiB
    after 5 iterations, to which a full 100-pair L-BFGS history adds 0.6 GiB.
    """
    item = 8 if opts.dtype == "float64" else 4
    layers = [l for l in vgg_layers(opts.model) if l.index <= opts.last_layer.index]
    block = 32 * 2 ** 20

    def forward_cost(h, w):
        acts, biggest, col, weights, c_in = 0, 0, 0, 0, 3
        for l in layers:
            hw = math.ceil(h / l.stride) * math.ceil(w / l.stride)
            n = l.channels * hw
            acts += n * item + (n * 8 if l.kind == "pool" else 0)
            biggest = max(biggest, n * item)
            if l.kind == "conv":
                col = max(col, min(block, c_in * 9 * hw * item))
                weights += (c_in * 9 + 1) * l.channels * item
                c_in = l.channels
        return acts, biggest, col, weights

    acts, biggest, col, weights = forward_cost(height, width)
    pixels = 3 * height * width * item
    opt = (2 * opts.history_size + 6) * pixels if opts.optimizer == "lbfgs" else 4 * pixels
    style_peak = 0
    for (h, w) in style_shapes:
        _, b, c, _ = forward_cost(h, w)
        style_peak = max(style_peak, 2 * b + c)
    training = acts + 2 * biggest + 2 * col
    return int(weights + opt + max(training, style_peak) + 16 * pixels)


def available_memory(backend_name: str = "numpy"):
    """Bytes this process can still allocate on the backend's device, or None if unknown."""
    if backend_name == "cupy":
        from minicnn import backend
        try:
            free, _total = backend.get_backend("cupy").xp.cuda.runtime.memGetInfo()
            return int(free)
        except Exception:
            return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n):
    return f"{n / 2 ** 30:.1f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:.0f} MiB"


def check_memory(opts: StyleOptions, height: int, width: int, style_shapes=()):
    """ValueError (before any work) when the largest scale cannot fit in memory."""
    need = estimate_memory(opts, height, width, style_shapes)
    have = available_memory(opts.backend)
    if have is not None and need > have:
        raise ValueError(f"size {opts.size} ({height}x{width}) needs about {_gb(need)} of memory on "
                         f"'{opts.backend}' but only {_gb(have)} is available; use a smaller --size"
                         + (" or a smaller --lbfgs-history" if opts.optimizer == "lbfgs" else ""))
    return need
