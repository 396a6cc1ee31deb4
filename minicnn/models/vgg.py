"""VGG16 and VGG19 (Simonyan & Zisserman, 2014) with torchvision's layout and weight files.

``model.features`` is a ``Sequential`` whose indices are torchvision's, so the
state_dict keys (``features.0.weight``, ``features.34.bias``, ``classifier.6.weight``)
are exactly those of torchvision's ``vgg16`` / ``vgg19`` and its weight files load
unchanged::

    from minicnn.models import vgg19
    net = vgg19(weights="vgg19-dcbb9e9d.pth", pool="avg", normalize=True, upto="relu5_1")
    acts = net.extract(image, ["relu1_1", "relu2_1", "relu4_2"])   # {name: Tensor}

Layers have names (``conv1_1``, ``relu1_1``, ..., ``pool5``: block b, position i);
``model.layer_index[name]`` is the index into ``features``. ``extract`` runs the
features only as far as the deepest layer asked for, ``upto=`` / ``truncate()``
drop the later layers altogether, ``pool='avg'`` swaps max pooling for average
pooling (as in Gatys et al.'s style transfer), ``normalize=True`` makes the model
take images in [0, 1] and apply ImageNet's mean/std itself. The classifier
(``avgpool`` + ``classifier``: Linear 25088 -> 4096 -> 4096 -> num_classes) is
built only with ``include_top=True``; the image algorithms need just the features.

Where the weights come from (``weights=`` argument of ``vgg16()`` / ``vgg19()``):

* a path: a torchvision state_dict (``vgg19-dcbb9e9d.pth``, read through torch) or
  the ``.npz`` that ``convert_weights`` / ``minicnn convert-weights IN.pth OUT.npz``
  writes (needs no torch);
* ``None`` (default): the first file that exists among

  1. ``$MINICNN_VGG16_WEIGHTS`` / ``$MINICNN_VGG19_WEIGHTS`` (an error if set but missing),
  2. ``<cache>/vgg16.npz`` / ``<cache>/vgg19.npz``, where ``<cache>`` is
     ``$MINICNN_CACHE_DIR``, else ``$XDG_CACHE_HOME/minicnn``, else ``~/.cache/minicnn``,
  3. torchvision's files when torch is installed: ``<cache>/vgg19-dcbb9e9d.pth``, then
     ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth`` (``$TORCH_HOME`` defaults to
     ``~/.cache/torch``), then any ``vgg19-*.pth`` there (``vgg16-397923af.pth`` for VGG16);

  and if none exists, seeded random weights (torchvision's VGG initialisation from
  a fixed seed, independent of ``minicnn.manual_seed``) with ONE
  ``RandomWeightsWarning`` per process saying so;
* ``False`` or ``'random'``: the same random weights, silently.

``model.pretrained`` tells whether real weights were loaded (``model.weights_path``
which file). ``load_vgg_weights(model, path)`` loads into an existing model; a file
that does not fit raises ``VGGWeightsError`` naming the first bad key with its
expected and found shapes.
"""
from __future__ import annotations

import copy
import glob
import importlib.util
import os
import warnings
from collections import OrderedDict

from minicnn import backend, nn, serialization
from minicnn.tensor import Tensor

__all__ = ["VGG", "vgg16", "vgg19", "load_vgg_weights", "convert_weights", "default_weights_path",
           "vgg_layer_names", "expected_shapes", "RandomWeightsWarning", "VGGWeightsError", "CFGS",
           "TORCHVISION_FILES", "IMAGENET_MEAN", "IMAGENET_STD", "RANDOM_SEED"]

_np = backend.numpy_module()

#: torchvision's configurations: output channels of each 3x3 conv, "M" for a 2x2 pooling.
CFGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
#: torchvision's weight file names (ImageNet-1k, the "V1" weights).
TORCHVISION_FILES = {"vgg16": "vgg16-397923af.pth", "vgg19": "vgg19-dcbb9e9d.pth"}
TORCHVISION_URL = "https://download.pytorch.org/models/"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: seed of the random weights used when no weights file is available
RANDOM_SEED = 0


class RandomWeightsWarning(UserWarning):
    """A VGG model runs on random weights because no pretrained weights file was found."""


class VGGWeightsError(nn.StateDictError):
    """A weights file that does not fit the VGG model (wrong architecture, truncated, mis-shaped)."""


def _check_arch(arch):
    if arch not in CFGS:
        raise ValueError(f"unknown VGG architecture {arch!r}; expected one of {sorted(CFGS)}")
    return arch


def vgg_layer_names(arch: str = "vgg19") -> list[str]:
    """Names of ``features``' layers in index order: conv1_1, relu1_1, conv1_2, ..., pool5."""
    names, block, pos = [], 1, 1
    for v in CFGS[_check_arch(arch)]:
        if v == "M":
            names.append(f"pool{block}")
            block, pos = block + 1, 1
        else:
            names += [f"conv{block}_{pos}", f"relu{block}_{pos}"]
            pos += 1
    return names


def expected_shapes(arch: str = "vgg19", include_top: bool = True, num_classes: int = 1000):
    """OrderedDict state_dict key -> shape of torchvision's model, computed without building it."""
    shapes, cin, i = OrderedDict(), 3, 0
    for v in CFGS[_check_arch(arch)]:
        if v == "M":
            i += 1
        else:
            shapes[f"features.{i}.weight"] = (v, cin, 3, 3)
            shapes[f"features.{i}.bias"] = (v,)
            cin, i = v, i + 2
    if include_top:
        for idx, (n_in, n_out) in zip((0, 3, 6), ((512 * 7 * 7, 4096), (4096, 4096), (4096, num_classes))):
            shapes[f"classifier.{idx}.weight"] = (n_out, n_in)
            shapes[f"classifier.{idx}.bias"] = (n_out,)
    return shapes


def _upto_index(upto, names, where="upto"):
    if upto is None:
        return len(names) - 1
    if isinstance(upto, int) and not isinstance(upto, bool):
        if not 0 <= upto < len(names):
            raise ValueError(f"{where}: index {upto} is outside features (0..{len(names) - 1})")
        return upto
    if upto not in names:
        raise ValueError(f"{where}: unknown VGG layer {upto!r}; available: {', '.join(names)}")
    return names.index(upto)


class VGG(nn.Module):
    """VGG16/19 with torchvision's ``features`` indices, named activations and optional top.

    Arguments: ``arch`` 'vgg16' | 'vgg19'; ``pool`` 'max' | 'avg'; ``include_top``
    (build ``avgpool`` + ``classifier``); ``num_classes``; ``normalize`` (take inputs in
    [0, 1] and apply ImageNet mean/std first); ``upto`` (last layer to keep, a name such
    as 'relu4_2' or a features index); ``dropout`` (classifier dropout probability).
    Weights start at torch's default layer initialisation; ``vgg16()`` / ``vgg19()``
    then load pretrained weights or apply the seeded VGG initialisation.
    """

    def __init__(self, arch="vgg19", pool="max", include_top=False, num_classes=1000, normalize=False,
                 upto=None, dropout=0.5):
        super().__init__()
        _check_arch(arch)
        if pool not in ("max", "avg"):
            raise ValueError(f"VGG: pool must be 'max' or 'avg', got {pool!r}")
        all_names = vgg_layer_names(arch)
        last = _upto_index(upto, all_names)
        if include_top and last != len(all_names) - 1:
            raise ValueError(f"VGG: include_top=True needs every feature layer, but upto={upto!r} "
                             f"stops at {all_names[last]!r}")
        layers, cin = [], 3
        for v in CFGS[arch]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2) if pool == "max" else nn.AvgPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers[:last + 1])
        if include_top:
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
                nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
                nn.Linear(4096, num_classes))
        self.arch, self.pool, self.include_top = arch, pool, include_top
        self.num_classes, self.normalize = num_classes, normalize
        self.layer_names = all_names[:last + 1]
        self.layer_index = {name: i for i, name in enumerate(self.layer_names)}
        self.pretrained, self.weights_path = False, None
        dt = backend.get_default_dtype()
        self.register_buffer("mean", Tensor(_np.asarray(IMAGENET_MEAN, dtype=dt).reshape(1, 3, 1, 1)),
                             persistent=False)
        self.register_buffer("std", Tensor(_np.asarray(IMAGENET_STD, dtype=dt).reshape(1, 3, 1, 1)),
                             persistent=False)

    def extra_repr(self):
        return (f"arch={self.arch!r}, pool={self.pool!r}, normalize={self.normalize}, "
                f"pretrained={self.pretrained}")

    # --- running -----------------------------------------------------------------
    def _prepare(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"VGG: expected a minicnn Tensor (N, 3, H, W), got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG: expected an input of shape (N, 3, H, W), got {x.shape}")
        return (x - self.mean) / self.std if self.normalize else x

    def forward(self, x):
        """features (and, with include_top, avgpool -> flatten -> classifier) of ``x``."""
        x = self.features(self._prepare(x))
        if self.include_top:
            x = self.classifier(self.avgpool(x).flatten(1))
        return x

    def extract(self, x, names):
        """{name: activation} for the named layers, running features only as far as needed.

        ``names`` is a layer name or a list of them (``'relu4_2'``, ``'pool3'`` ...); the
        result keeps the order asked for. ``normalize`` applies as in ``forward``.
        """
        single = isinstance(names, str)
        names = [names] if single else list(names)
        if not names:
            raise ValueError("VGG.extract: names is empty; ask for at least one layer, e.g. 'relu1_1'")
        all_names = vgg_layer_names(self.arch)
        wanted = {}
        for n in names:
            if n not in all_names:
                raise ValueError(f"VGG.extract: unknown layer {n!r}; available: {', '.join(self.layer_names)}")
            if n not in self.layer_index:
                raise ValueError(f"VGG.extract: layer {n!r} comes after this model's last layer "
                                 f"{self.layer_names[-1]!r} (it was truncated); build it with a later upto")
            wanted[self.layer_index[n]] = n
        deepest = max(wanted)
        out = {}
        h = self._prepare(x)
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in wanted:
                out[wanted[i]] = h
            if i == deepest:
                break
        return {n: out[n] for n in names}

    def truncate(self, upto):
        """A shorter VGG ending at layer ``upto``; it shares its layers (and weights) with this one."""
        last = _upto_index(upto, self.layer_names, "VGG.truncate")
        new = copy.copy(self)
        for reg in ("_parameters", "_buffers", "_modules", "_forward_hooks", "_forward_pre_hooks"):
            object.__setattr__(new, reg, OrderedDict(getattr(self, reg)))
        object.__setattr__(new, "_non_persistent", set(self._non_persistent))
        new._forward_hooks.clear()
        new._forward_pre_hooks.clear()
        for name in ("avgpool", "classifier"):
            new._modules.pop(name, None)
        new.features = self.features[:last + 1]
        new.include_top = False
        new.layer_names = self.layer_names[:last + 1]
        new.layer_index = {n: i for i, n in enumerate(new.layer_names)}
        return new

    def init_random_weights(self, seed: int = RANDOM_SEED):
        """torchvision's VGG initialisation from a fixed seed (minicnn's global generator untouched).

        Conv: kaiming_normal(fan_out, relu), bias 0; Linear: N(0, 0.01), bias 0.
        """
        g = _np.random.default_rng(seed)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=g)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01, generator=g)
                nn.init.zeros_(m.bias)
        self.pretrained, self.weights_path = False, None
        return self


# --- weights files ------------------------------------------------------------------

def _cache_dir():
    if os.environ.get("MINICNN_CACHE_DIR"):
        return os.environ["MINICNN_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minicnn")


def _torch_hub_checkpoints():
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch")
    return os.path.join(home, "hub", "checkpoints")


def _torch_installed():
    try:
        return importlib.util.find_spec("torch") is not None
    except (ValueError, ImportError):
        return False


def _candidates(arch):
    cache = _cache_dir()
    out = [os.path.join(cache, f"{arch}.npz")]
    if _torch_installed():
        hub = _torch_hub_checkpoints()
        out += [os.path.join(cache, TORCHVISION_FILES[arch]), os.path.join(hub, TORCHVISION_FILES[arch])]
        out += sorted(glob.glob(os.path.join(hub, f"{arch}-*.pth")))
    return out


def default_weights_path(arch: str = "vgg19"):
    """The weights file ``vgg16()`` / ``vgg19()`` use when given no path, or None (see module doc)."""
    var = f"MINICNN_{_check_arch(arch).upper()}_WEIGHTS"
    env = os.environ.get(var)
    if env:
        if not os.path.exists(env):
            raise FileNotFoundError(f"${var} is set to {env!r}, which does not exist; fix or unset it")
        return env
    for path in _candidates(arch):
        if os.path.isfile(path):
            return path
    return None


def _guess_arch(keys):
    convs = sum(1 for k in keys if k.startswith("features.") and k.endswith(".weight"))
    return {13: "vgg16", 16: "vgg19"}.get(convs), convs


def _check_fit(state, model_shapes, full_shapes, arch, path, ignore_prefixes=()):
    """Raise VGGWeightsError naming the first bad key unless ``state`` covers ``model_shapes``."""
    missing = [k for k in model_shapes if k not in state]
    mismatched = OrderedDict((k, (s, tuple(state[k].shape))) for k, s in model_shapes.items()
                             if k in state and tuple(state[k].shape) != tuple(s))
    unexpected = [k for k in state if k not in full_shapes and not k.startswith(ignore_prefixes)]
    if not (missing or mismatched or unexpected):
        return
    bad = [k for k in model_shapes if k in missing or k in mismatched]
    lines = [f"weights file {path!r} does not fit {arch}:"]
    if bad:
        k = bad[0]
        found = f"shape {mismatched[k][1]}" if k in mismatched else "no such key"
        lines.append(f"  first bad key '{k}': expected shape {tuple(model_shapes[k])}, found {found}")
    else:
        lines.append(f"  first bad key '{unexpected[0]}' (shape {tuple(state[unexpected[0]].shape)}): "
                     f"not part of {arch}")
    if missing:
        lines.append(f"  missing ({len(missing)}): {', '.join(missing[:8])}" + (" ..." if len(missing) > 8 else ""))
    if mismatched:
        lines.append(f"  wrong shape ({len(mismatched)}): " + "; ".join(
            f"{k} expected {e} found {f}" for k, (e, f) in list(mismatched.items())[:6]))
    if unexpected:
        lines.append(f"  unexpected ({len(unexpected)}): {', '.join(unexpected[:8])}"
                     + (" ..." if len(unexpected) > 8 else ""))
    guess, convs = _guess_arch(state.keys())
    if guess and guess != arch:
        lines.append(f"  the file has {convs} conv layers: it looks like {guess} weights; use {guess}()")
    elif any(".running_mean" in k for k in state):
        lines.append("  the file has batch-norm statistics: it looks like a vgg*_bn model, which minicnn "
                     "does not build")
    else:
        lines.append(f"  expected a torchvision {arch} state_dict ({TORCHVISION_FILES[arch]}) or its .npz "
                     "conversion; a partly downloaded or edited file gives missing keys")
    raise VGGWeightsError("\n".join(lines), missing, unexpected, mismatched)


def load_vgg_weights(model: VGG, path):
    """Load a torchvision VGG state_dict (.pth via torch) or its .npz into ``model``; returns model.

    Keys the model does not have because it is truncated or has no top
    (``features.30.weight`` for ``upto='relu4_2'``, ``classifier.*``) are skipped.
    Anything else that does not fit (missing key, wrong shape, foreign key) raises
    VGGWeightsError naming the first bad key and its expected and found shapes;
    the model is left unchanged then. Missing file: FileNotFoundError; unreadable
    file: ValueError; torch file without torch: ImportError.
    """
    if not isinstance(model, VGG):
        raise TypeError(f"load_vgg_weights: expected a minicnn VGG model, got {type(model).__name__}")
    path = os.fspath(path)
    state = serialization.load(path)
    model_shapes = OrderedDict((k, v.shape) for k, v in model.state_dict().items())
    full = expected_shapes(model.arch, include_top=True, num_classes=model.num_classes)
    _check_fit(state, model_shapes, full, model.arch, path,
               ignore_prefixes=() if model.include_top else ("classifier.",))
    model.load_state_dict(OrderedDict((k, state[k]) for k in model_shapes), strict=True)
    model.pretrained, model.weights_path = True, path
    return model


def convert_weights(in_path, out_path, arch=None):
    """Convert a torchvision VGG ``.pth`` (needs torch) into an ``.npz`` that loads without torch.

    ``arch`` ('vgg16'/'vgg19') is guessed from the number of conv layers when None.
    The file is checked against torchvision's shapes before anything is written, and
    written atomically. Returns a dict with ``arch``, ``tensors``, ``parameters`` and ``path``.
    """
    in_path, out_path = os.fspath(in_path), os.fspath(out_path)
    state = serialization.load(in_path)
    guess, convs = _guess_arch(state.keys())
    arch = arch or guess
    if arch is None:
        raise ValueError(f"convert_weights: {in_path!r} does not look like VGG16/VGG19 weights "
                         f"({convs} 'features.*.weight' tensors; VGG16 has 13, VGG19 16)")
    _check_arch(arch)
    top = any(k.startswith("classifier.") for k in state)
    num_classes = int(state["classifier.6.weight"].shape[0]) if "classifier.6.weight" in state else 1000
    full = expected_shapes(arch, include_top=True, num_classes=num_classes)
    _check_fit(state, expected_shapes(arch, include_top=top, num_classes=num_classes), full, arch, in_path)
    if os.path.abspath(in_path) == os.path.abspath(out_path):
        raise ValueError(f"convert_weights: output {out_path!r} would overwrite the input")
    serialization.save(state, out_path)
    return {"arch": arch, "tensors": len(state), "parameters": int(sum(v.numel() for v in state.values())),
            "path": out_path}


# --- constructors -------------------------------------------------------------------

_warned = []


def _warn_random(arch, looked):
    if _warned:
        return
    _warned.append(arch)
    f = TORCHVISION_FILES[arch]
    warnings.warn(
        f"minicnn {arch}: no pretrained weights found (looked for ${'MINICNN_' + arch.upper() + '_WEIGHTS'}, "
        f"{', '.join(looked)}). Using seeded RANDOM weights, so features and every result built on them "
        f"(style transfer, deep dream, perceptual losses) are NOT ImageNet features. To use real weights, get "
        f"torchvision's {f} ({TORCHVISION_URL}{f}) and either pass weights='/path/{f}' (needs torch), "
        f"set MINICNN_{arch.upper()}_WEIGHTS, or run `minicnn convert-weights {f} "
        f"{os.path.join(_cache_dir(), arch + '.npz')}` once. Pass weights=False to use random weights "
        f"without this warning.", RandomWeightsWarning, stacklevel=3)


def _build(arch, weights, pool, include_top, num_classes, normalize, upto, dtype, device, dropout):
    # Every weight is loaded or re-initialised below: skip the layers' default draws (and so
    # leave minicnn's global generator where it was).
    with nn.init.skip_init():
        model = VGG(arch, pool=pool, include_top=include_top, num_classes=num_classes,
                    normalize=normalize, upto=upto, dropout=dropout)
    if dtype is not None:
        model.to(dtype)
    path = None
    if weights is None:
        path = default_weights_path(arch)
    elif weights is False or weights == "random":
        pass
    elif isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
    else:
        raise TypeError(f"{arch}: weights must be a path, None (look in the default places) or False "
                        f"(random), got {type(weights).__name__} {weights!r}")
    if path is not None:
        load_vgg_weights(model, path)
    else:
        model.init_random_weights(RANDOM_SEED)
        if weights is None:
            _warn_random(arch, [p.replace(os.path.expanduser("~"), "~") for p in _candidates(arch)])
    if device is not None:
        model.to(device)
    return model


def vgg16(weights=None, pool="max", include_top=False, num_classes=1000, normalize=False, upto=None,
          dtype=None, device=None, dropout=0.5) -> VGG:
    """VGG16 (13 conv layers). See the module docstring for ``weights``; other arguments as ``VGG``.

    ``dtype`` ('float32'/'float64') and ``device`` (a backend name) move the model after loading.
    """
    return _build("vgg16", weights, pool, include_top, num_classes, normalize, upto, dtype, device, dropout)


def vgg19(weights=None, pool="max", include_top=False, num_classes=1000, normalize=False, upto=None,
          dtype=None, device=None, dropout=0.5) -> VGG:
    """VGG19 (16 conv layers), the network of neural style transfer. See ``vgg16``."""
    return _build("vgg19", weights, pool, include_top, num_classes, normalize, upto, dtype, device, dropout)
