"""PyTorch twin of ``algorithms/deep_dream.py``: the same deep dream, computed by torch.

Same signature and options, the same images and octave sizes (``algorithms.deep_dream.prepare``),
the same tiles, jitter draws and loop (``run_dream``); only the arithmetic is torch's:
``reference.models.vgg``, ``torch.roll``, ``torch.nn.functional.interpolate``, autograd.
With the same weights, image and seed the two return the same objectives and images
(``tests/test_deep_dream.py``). See the minicnn file for the formulas.

``backend``: 'numpy'/'cpu' runs on the CPU, 'cupy'/'cuda' on the GPU.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from algorithms.deep_dream import (DEFAULT_LAYERS, PIXEL_MAX, DreamOptions, DreamResult, Tile, _check_outputs,
                                   prepare, random_weights_note, run_dream, tile_plan)
from algorithms.common.progress import status

__all__ = ["deep_dream", "TorchDreamer", "build_vgg", "DreamResult"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def torch_device(name):
    return torch.device("cuda" if name in ("cupy", "cuda", "gpu") else "cpu")


def build_vgg(opts: DreamOptions):
    """torch VGG features up to the deepest chosen layer, with the weights minicnn would use.

    A path is loaded as given; None looks up minicnn's default file
    (``minicnn.models.vgg.default_weights_path``); without one, or with False, minicnn's
    fixed-seed random weights (of the same dtype) are copied, so both twins see the same numbers.
    """
    from minicnn.models import vgg as minicnn_vgg
    from reference.models import vgg as vgg_models
    model = getattr(vgg_models, opts.model)(weights=None, pool=opts.pool, normalize=True, upto=opts.deepest)
    weights, pretrained = opts.weights, True
    if weights is None:
        weights = minicnn_vgg.default_weights_path(opts.model)
    if weights is None or weights is False or weights == "random":
        twin = getattr(minicnn_vgg, opts.model)(weights=False, pool=opts.pool, upto=opts.deepest,
                                                 dtype=opts.dtype)
        state = {k: v.numpy() for k, v in twin.state_dict().items()}
        pretrained = False
    else:
        state = vgg_models.load_state_file(weights)
    model = model.to(dtype=_DTYPES[opts.dtype])   # before loading: float64 weights stay float64
    model.load_state_dict({k: torch.as_tensor(np.asarray(state[k])) for k in model.state_dict()})
    model = model.to(device=torch_device(opts.backend))
    model.eval()
    model.requires_grad_(False)
    model.pretrained = pretrained
    return model


class TorchDreamer:
    """Mirror of ``algorithms.deep_dream.MinicnnDreamer`` in torch."""

    def __init__(self, opts: DreamOptions, guide=None, model=None):
        self.opts = opts
        self.dtype, self.device = _DTYPES[opts.dtype], torch_device(opts.backend)
        self.model = build_vgg(opts) if model is None else model
        self.pretrained = bool(getattr(self.model, "pretrained", False))
        self.guide = None if guide is None else self._guide_features(guide)

    def to_array(self, chw01):
        return torch.as_tensor(np.asarray(chw01)[None] * PIXEL_MAX).to(device=self.device, dtype=self.dtype)

    def to_numpy(self, x):
        return x.detach().cpu().numpy()[0] / PIXEL_MAX

    def zeros_like(self, x):
        return torch.zeros_like(x)

    def clip(self, x):
        return torch.clamp(x, 0.0, PIXEL_MAX)

    def resize(self, x, hw):
        down = hw[0] < x.shape[2] or hw[1] < x.shape[3]
        with torch.no_grad():
            return F.interpolate(x, size=tuple(hw), mode="bilinear", align_corners=False, antialias=down)

    def _features(self, x):
        feats = self.model.extract(x * (1.0 / PIXEL_MAX), list(self.opts.layers))
        if self.opts.channels is not None:
            feats = {n: a[:, list(self.opts.channels)] for n, a in feats.items()}
        return feats

    def _guide_features(self, guide):
        with torch.no_grad():
            feats = self._features(self.to_array(guide))
        return {n: a.reshape(a.shape[1], -1) for n, a in feats.items()}

    def objective(self, x, tile: Tile, full_hw):
        total = None
        for name, a in self._features(x).items():
            s = self.opts.geometry.strides[name]
            rows, cols = tile.core[name]
            a = a[:, :, rows, cols]
            positions = (full_hw[0] // s) * (full_hw[1] // s)
            if self.guide is not None:
                c = a.shape[1]
                dots = a.reshape(c, -1).transpose(0, 1) @ self.guide[name]
                term = torch.amax(dots, dim=1).sum() / positions
            elif self.opts.objective == "l2":
                term = (a * a).sum() / (positions * a.shape[1])
            else:
                term = a.sum() / (positions * a.shape[1])
            total = term if total is None else total + term
        return total

    def gradient(self, x):
        full_hw = tuple(x.shape[2:])
        tiles = tile_plan(*full_hw, self.opts.geometry, self.opts.tile)
        value, grad = 0.0, None if len(tiles) == 1 else torch.zeros_like(x)
        for t in tiles:
            xt = (x.detach() if len(tiles) == 1 else x[:, :, t.rows, t.cols].detach().clone()).requires_grad_(True)
            obj = self.objective(xt, t, full_hw)
            obj.backward()
            value += obj.item()
            if grad is None:
                grad = xt.grad
            else:
                grad[:, :, t.rows, t.cols] += xt.grad
        return value, grad

    def step(self, x, ox, oy):
        if ox or oy:
            x = torch.roll(x, shifts=(oy, ox), dims=(2, 3))
        value, g = self.gradient(x)
        scale = float(g.abs().mean())
        with torch.no_grad():
            if scale > 0 and math.isfinite(scale):
                x = x + g * (self.opts.step_size / scale)
            if ox or oy:
                x = torch.roll(x, shifts=(-oy, -ox), dims=(2, 3))
            return value, self.clip(x)


def deep_dream(image, *, layers=DEFAULT_LAYERS, channels=None, objective="l2", guide=None, size=512,
               octaves=4, octave_scale=1.4, steps=10, step_size=1.5, jitter=32, tile=512, seed=0,
               model="vgg19", pool="max", weights=None, guide_size=224, dtype="float32", backend="numpy",
               output=None, save_octaves=None, progress=True, stop=None, callback=None) -> DreamResult:
    """Same as ``algorithms.deep_dream.deep_dream``, computed by torch."""
    opts = DreamOptions(layers=layers, channels=channels, objective=objective, size=size, octaves=octaves,
                        octave_scale=octave_scale, steps=steps, step_size=step_size, jitter=jitter,
                        tile=tile, seed=seed, model=model, pool=pool, weights=weights,
                        guide_size=guide_size, dtype=dtype,
                        backend={"cpu": "numpy", "cuda": "cupy"}.get(backend, backend)).check()
    if opts.backend == "cupy" and not torch.cuda.is_available():
        raise RuntimeError("reference deep_dream: backend 'cupy'/'cuda' needs a CUDA GPU, none is available")
    _check_outputs(output, save_octaves)
    plan = prepare(image, guide, opts)
    engine = TorchDreamer(opts, plan.guide)
    if not engine.pretrained:
        status(random_weights_note(opts))
    return run_dream(engine, plan, opts, progress=progress, stop=stop, callback=callback,
                     save_octaves=save_octaves, output=output)
