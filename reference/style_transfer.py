"""PyTorch twin of ``algorithms/style_transfer.py``: the same style transfer, computed by torch.

Same signature, same options, same images (``algorithms.style.prepare``) and the same loop
(``algorithms.style.driver``); only the arithmetic differs: torch's VGG
(``reference.models.vgg``), ``torch.nn.functional`` and ``torch.optim``. With the same
weights and images in float64 the two return the same losses, gradients and images
(``tests/test_style_transfer.py``). See the minicnn file for the formulas.

``backend``: 'numpy'/'cpu' runs on the CPU, 'cupy'/'cuda' on the GPU.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from algorithms.style.driver import StyleResult, default_plot_path, run
from algorithms.style.options import StyleOptions
from algorithms.style.prepare import RGB_TO_YCBCR, YCBCR_TO_RGB, prepare, save_image

__all__ = ["style_transfer", "TorchEngine", "build_vgg", "gram_matrix", "total_variation"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def torch_device(name):
    return torch.device("cuda" if name in ("cupy", "cuda", "gpu") else "cpu")


def build_vgg(opts: StyleOptions):
    """torch VGG features up to the deepest needed layer, with the weights minicnn would use.

    A path or a state_dict is loaded as given; with None the same default file as
    minicnn's (``minicnn.models.vgg.default_weights_path``), and without one (or with
    False) minicnn's fixed-seed random weights, copied, so both twins run on the same numbers.
    """
    from reference.models import vgg as vgg_models
    make = {"vgg16": vgg_models.vgg16, "vgg19": vgg_models.vgg19}[opts.model]
    model = make(weights=None, pool=opts.pooling, upto=opts.last_layer.name).to(dtype=_DTYPES[opts.dtype])
    weights, pretrained = opts.weights, True
    if weights is None:
        from minicnn.models.vgg import default_weights_path
        weights = default_weights_path(opts.model)
    if weights is None or weights is False or weights == "random":
        from minicnn.models import vgg as minicnn_vgg
        random = getattr(minicnn_vgg, opts.model)(weights=False, pool=opts.pooling,
                                                 upto=opts.last_layer.name, dtype="float64")
        weights = {k: v.numpy() for k, v in random.state_dict().items()}
        pretrained = False
    elif not isinstance(weights, dict):
        weights = vgg_models.load_state_file(weights)
    model.load_state_dict({k: torch.as_tensor(np.asarray(weights[k])) for k in model.state_dict()})
    model.pretrained = pretrained
    model = model.to(device=torch_device(opts.backend), dtype=_DTYPES[opts.dtype])
    model.eval()
    model.requires_grad_(False)
    return model


def gram_matrix(f):
    """G = F F^T / (C H W) for an (N, C, H, W) feature map -> (N, C, C)."""
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def total_variation(x):
    """mean of squared vertical differences + mean of squared horizontal differences."""
    dv = x[..., 1:, :] - x[..., :-1, :]
    dh = x[..., :, 1:] - x[..., :, :-1]
    return (dv * dv).mean() + (dh * dh).mean()


class TorchEngine:
    """The arithmetic of style transfer in torch (mirror of ``MinicnnEngine``)."""

    def __init__(self, opts: StyleOptions, model=None):
        self.opts = opts
        self.model = model if model is not None else build_vgg(opts)
        self.pretrained = bool(getattr(self.model, "pretrained", False))
        self.dtype = _DTYPES[opts.dtype]
        self.device = torch_device(opts.backend)
        self.mean = self.tensor(np.array(IMAGENET_MEAN).reshape(1, 3, 1, 1))
        self.std = self.tensor(np.array(IMAGENET_STD).reshape(1, 3, 1, 1))
        self.names = [l.name for l in opts.needed_layers]

    def tensor(self, array, requires_grad=False):
        return torch.tensor(np.asarray(array), dtype=self.dtype, device=self.device,
                            requires_grad=requires_grad)

    def new_image(self, chw):
        return self.tensor(chw[None], requires_grad=True)

    def upsample(self, image, hw):
        with torch.no_grad():
            up = F.interpolate(image, size=tuple(hw), mode="bilinear", align_corners=False)
        return up.detach().clone().requires_grad_(True)

    def features(self, x):
        return self.model.extract((x - self.mean) / self.std, self.names)

    def targets(self, content, styles, blend):
        o = self.opts
        with torch.no_grad():
            feats = self.features(self.tensor(content[None]))
            content_t = {n: feats[n] for n in o.content_layers}
            style_t = {}
            for b, style in zip(blend, styles):
                feats = self.features(self.tensor(style[None]))
                for n in o.style_layers:
                    g = gram_matrix(feats[n]) * b
                    style_t[n] = g if n not in style_t else style_t[n] + g
        return content_t, style_t

    def losses(self, x, targets):
        o = self.opts
        content_t, style_t = targets
        feats = self.features(x)
        content = style = tv = 0.0
        if o.content_weight and o.content_layers:
            for n in o.content_layers:
                content = content + F.mse_loss(feats[n], content_t[n])
            content = content * o.content_weight
        if o.style_weight and o.style_layers:
            for n in o.style_layers:
                style = style + F.mse_loss(gram_matrix(feats[n]), style_t[n])
            style = style * o.style_weight
        if o.tv_weight:
            tv = total_variation(x) * o.tv_weight
        total = content + style + tv
        if not isinstance(total, torch.Tensor):
            total = (x * 0).sum()
        return total, content, style, tv

    def make_optimizer(self, x):
        o = self.opts
        if o.optimizer == "adam":
            return torch.optim.Adam([x], lr=o.learning_rate)
        return torch.optim.LBFGS([x], lr=o.learning_rate, max_iter=1,
                                 max_eval=26 if o.line_search else None,
                                 tolerance_grad=-1, tolerance_change=-1,
                                 history_size=o.history_size, line_search_fn=o.line_search)

    no_grad = staticmethod(torch.no_grad)

    @staticmethod
    def copy(x):
        return x.detach().clone()

    @staticmethod
    def same(x, array):
        return bool(torch.equal(x.detach(), array))

    @staticmethod
    def grad_copy(x):
        return x.grad.detach().clone()

    @staticmethod
    def set_grad(x, grad):
        x.grad = grad.clone()

    def to_image(self, array, content):
        with torch.no_grad():
            x = array[0].clamp(0.0, 1.0)
            if self.opts.original_colors:
                x = luminance_transfer(x, self.tensor(content))
        return x.cpu().numpy().transpose(1, 2, 0).copy()


def luminance_transfer(image, content):
    """Y of ``image`` with Cb, Cr of ``content``: both (3, H, W) in [0, 1]."""
    _, h, w = image.shape
    to_ycc = torch.tensor(RGB_TO_YCBCR, dtype=image.dtype, device=image.device)
    to_rgb = torch.tensor(YCBCR_TO_RGB, dtype=image.dtype, device=image.device)
    luma = to_ycc[0:1] @ image.reshape(3, h * w)
    chroma = to_ycc[1:3] @ content.reshape(3, h * w)
    return (to_rgb @ torch.cat([luma, chroma], 0)).reshape(3, h, w).clamp(0.0, 1.0)


def style_transfer(content, styles, *, style_blend_weights=None, size=512, style_scale=1.0,
                   content_layers=("relu4_2",),
                   style_layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
                   content_weight=1.0, style_weight=1e6, tv_weight=1.0, init="content",
                   optimizer="lbfgs", iters=500, lr=None, line_search=None, history_size=100,
                   pooling="max", original_colors=False, scales=1, seed=0, model="vgg19",
                   weights=None, dtype="float32", backend="numpy", output=None, save_every=0,
                   plot=None, progress=True, stop=None, callback=None) -> StyleResult:
    """The torch twin of ``algorithms.style_transfer.style_transfer`` (same arguments and result)."""
    opts = StyleOptions.from_kwargs(**{k: v for k, v in locals().items()
                                       if k not in ("content", "styles", "stop", "callback")})
    if opts.plot is True:
        opts.plot = default_plot_path(output) if output else None
    plan = prepare(content, styles, opts)
    engine = TorchEngine(opts)
    return run(engine, opts, plan, save_image=save_image, stop=stop, callback=callback)
