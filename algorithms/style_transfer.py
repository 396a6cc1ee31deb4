"""Neural style transfer (Gatys, Ecker & Bethge, 2016) on minicnn.

An image x is optimised so that a VGG network sees in it the *content* of one image
and the *style* of others. With F_l(x) the (C_l, H_l W_l) activations of layer l:

    content  L_c = sum_{l in content_layers} mean((F_l(x) - F_l(content))^2)

    Gram     G_l(x) = F_l(x) F_l(x)^T / (C_l H_l W_l)            (C_l x C_l)
    style    L_s = sum_{l in style_layers} mean((G_l(x) - A_l)^2),
             A_l = sum_i b_i G_l(style_i)                         (blend weights b_i, sum 1)

    TV       L_tv = mean((x[i+1, j] - x[i, j])^2) + mean((x[i, j+1] - x[i, j])^2)

    total    L = content_weight L_c + style_weight L_s + tv_weight L_tv

*Gram normalisation.* Dividing by C_l H_l W_l (the number of elements of the feature
map, ``minicnn.functional.gram_matrix``'s default) makes G an average over positions, so
the style loss of an image does not grow with its size and one style weight works at
every resolution; ``mean`` over the C_l^2 entries then puts layers with 64 and 512
channels on a comparable footing. These are the conventions of the PyTorch tutorial
port of Gatys et al., so its weights (content 1, style 1e6) carry over.

*Pixel space.* x is an RGB image with values in [0, 1]: that is the variable the
optimiser changes. ImageNet normalisation ((x - mean) / std, the input torchvision's
VGG weights expect) happens inside the loss, as the first operation of the feature
extractor. So the total-variation weight and the noise initialisation are in plain
pixel units, the original-colours step works on the image as shown, and x is never
clipped while L-BFGS runs (clipping would break its curvature pairs); the saved image is
clipped to [0, 1]. The torch twin ``reference/style_transfer.py`` does exactly the same.

*Optimiser.* L-BFGS (lr 1, history 100, no line search, as the original Lua
neural-style; ``line_search='strong_wolfe'`` is available) or Adam (lr 0.02).

*original_colors.* The output keeps the content's colours: its luminance Y comes from
the stylised image, its chroma (Cb, Cr of BT.601 YCbCr) from the content image.

Use::

    from algorithms.style_transfer import style_transfer
    result = style_transfer("photo.jpg", ["starry.jpg"], size=256, iters=200)
    result.image          # (H, W, 3) float32 NumPy array in [0, 1]
    result.history        # the losses of every iteration
"""
from __future__ import annotations

import minicnn
import minicnn.optim
from minicnn import backend
from minicnn import functional as F

from algorithms.style.driver import StyleResult, default_plot_path, run
from algorithms.style.options import StyleOptions
from algorithms.style.prepare import RGB_TO_YCBCR, YCBCR_TO_RGB, prepare, save_image

__all__ = ["style_transfer", "StyleResult", "MinicnnEngine", "build_vgg"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def build_vgg(opts: StyleOptions):
    """The VGG ``features`` up to the deepest layer the losses read, on opts' backend and dtype.

    ``opts.weights``: a torchvision ``.pth`` / converted ``.npz`` path; a state_dict (name ->
    array); None to use the default weights file if there is one (see minicnn.models.vgg),
    else seeded random weights with a loud warning; False or 'random' for random weights, silently.
    """
    from minicnn.models import vgg as vgg_models
    make = {"vgg16": vgg_models.vgg16, "vgg19": vgg_models.vgg19}[opts.model]
    given = opts.weights if not isinstance(opts.weights, dict) else False
    model = make(weights=given, pool=opts.pooling, upto=opts.last_layer.name, dtype=opts.dtype)
    if isinstance(opts.weights, dict):
        own = model.state_dict()
        model.load_state_dict({k: backend.numpy_module().asarray(opts.weights[k]) for k in own})
        model.pretrained = True
    model.to(opts.backend)
    model.eval()
    model.requires_grad_(False)  # style transfer needs no weight gradients
    return model


class MinicnnEngine:
    """The arithmetic of style transfer on minicnn; ``algorithms.style.driver`` runs the loop."""

    def __init__(self, opts: StyleOptions, model=None):
        self.opts = opts
        self.model = model if model is not None else build_vgg(opts)
        self.pretrained = bool(getattr(self.model, "pretrained", False))
        self.dtype = backend.resolve_dtype(opts.dtype)
        self.mean = self.tensor([[[[m]] for m in IMAGENET_MEAN]])
        self.std = self.tensor([[[[s]] for s in IMAGENET_STD]])
        self.names = [l.name for l in opts.needed_layers]

    # --- arrays ------------------------------------------------------------------------
    def tensor(self, array, requires_grad=False):
        return minicnn.tensor(backend.numpy_module().asarray(array, dtype=self.dtype),
                              requires_grad=requires_grad, backend=self.opts.backend)

    def new_image(self, chw):
        """The optimised image: a (1, 3, H, W) leaf tensor in [0, 1] pixel space."""
        return self.tensor(chw[None], requires_grad=True)

    def upsample(self, image, hw):
        """The previous scale's image resized (bilinear) to ``hw``, as a new leaf."""
        with minicnn.no_grad():
            up = F.interpolate(minicnn.Tensor(image), size=tuple(hw), mode="bilinear", align_corners=False)
        return minicnn.Tensor(up.data, requires_grad=True)

    # --- the losses --------------------------------------------------------------------
    def features(self, x):
        """Activations of the needed layers for an image x in [0, 1] (ImageNet-normalised first)."""
        return self.model.extract((x - self.mean) / self.std, self.names)

    def targets(self, content, styles, blend):
        """Content features F_l(content) and blended Gram matrices A_l = sum_i b_i G_l(style_i)."""
        o = self.opts
        with minicnn.no_grad():
            feats = self.features(self.tensor(content[None]))
            content_t = {n: feats[n] for n in o.content_layers}
            style_t = {}
            for b, style in zip(blend, styles):
                feats = self.features(self.tensor(style[None]))
                for n in o.style_layers:
                    g = F.gram_matrix(feats[n]) * b
                    style_t[n] = g if n not in style_t else style_t[n] + g
        return content_t, style_t

    def losses(self, x, targets):
        """(total, content, style, tv): the weighted terms and their sum, as 0-d tensors (or 0.0)."""
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
                style = style + F.mse_loss(F.gram_matrix(feats[n]), style_t[n])
            style = style * o.style_weight
        if o.tv_weight:
            tv = F.total_variation(x, reduction="mean") * o.tv_weight
        total = content + style + tv
        if not isinstance(total, minicnn.Tensor):  # every weight is 0
            total = (x * 0).sum()
        return total, content, style, tv

    def make_optimizer(self, x):
        o = self.opts
        if o.optimizer == "adam":
            return minicnn.optim.Adam([x], lr=o.learning_rate)
        return minicnn.optim.LBFGS([x], lr=o.learning_rate, max_iter=1,
                                   max_eval=26 if o.line_search else None,
                                   tolerance_grad=-1, tolerance_change=-1,
                                   history_size=o.history_size, line_search_fn=o.line_search)

    # --- what the driver needs besides the losses ---------------------------------------
    no_grad = staticmethod(minicnn.no_grad)

    @staticmethod
    def copy(x):
        return x.data.copy()

    @staticmethod
    def same(x, array):
        return bool(backend.array_module(x.data).array_equal(x.data, array))

    @staticmethod
    def grad_copy(x):
        return x.grad.data.copy()

    @staticmethod
    def set_grad(x, grad):
        x.grad = minicnn.Tensor(grad.copy())

    def to_image(self, array, content):
        """(1, 3, H, W) array -> (H, W, 3) NumPy image in [0, 1] (run's dtype), original colours if asked."""
        with minicnn.no_grad():
            x = minicnn.Tensor(array)[0].clamp(0.0, 1.0)
            if self.opts.original_colors:
                x = luminance_transfer(x, self.tensor(content))
        return backend.to_numpy(x.data).transpose(1, 2, 0).copy()


def luminance_transfer(image, content):
    """Y (luminance) of ``image`` with Cb, Cr (chroma) of ``content``: both (3, H, W) in [0, 1]."""
    _, h, w = image.shape
    to_ycc = minicnn.tensor(RGB_TO_YCBCR, dtype=image.dtype, backend=image.backend)
    to_rgb = minicnn.tensor(YCBCR_TO_RGB, dtype=image.dtype, backend=image.backend)
    luma = to_ycc[0:1] @ image.reshape(3, h * w)
    chroma = to_ycc[1:3] @ content.reshape(3, h * w)
    return (to_rgb @ minicnn.cat([luma, chroma], 0)).reshape(3, h, w).clamp(0.0, 1.0)


def style_transfer(content, styles, *, style_blend_weights=None, size=512, style_scale=1.0,
                   content_layers=("relu4_2",),
                   style_layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
                   content_weight=1.0, style_weight=1e6, tv_weight=1.0, init="content",
                   optimizer="lbfgs", iters=500, lr=None, line_search=None, history_size=100,
                   pooling="max", original_colors=False, scales=1, seed=0, model="vgg19",
                   weights=None, dtype="float32", backend="numpy", output=None, save_every=0,
                   plot=None, progress=True, stop=None, callback=None) -> StyleResult:
    """Paint ``content`` in the style of ``styles``; returns a StyleResult (image + loss record).

    content, styles   image paths or arrays (H, W[, C]); one style or a list. Grayscale, RGBA
                      and 16-bit images are converted to RGB in [0, 1].
    style_blend_weights  one weight >= 0 per style image (normalised to sum 1; default equal).
    size              longest side of the output in pixels (aspect ratio kept).
    style_scale       style images are resized to style_scale x the output's longest side.
    content_layers, style_layers   VGG layer names (conv1_1 ... relu5_4, pool1 ...).
    content_weight, style_weight, tv_weight   weights (>= 0) of the three loss terms.
    init              'content', 'random' (uniform noise, seeded) or an image path.
    optimizer         'lbfgs' or 'adam';  lr: step size (default 1 for L-BFGS, 0.02 for Adam).
    iters             iterations per scale.  line_search: None or 'strong_wolfe' (L-BFGS only).
    history_size      L-BFGS memory (pairs kept).  pooling: 'max' or 'avg' in VGG.
    original_colors   keep the content's colours (luminance transfer, see the module doc).
    scales            coarse-to-fine: optimise at size / 2^(scales-1), ..., size / 2, size,
                      each scale starting from the previous result upsampled.
    seed              seed of the random init (noise).
    model, weights    'vgg19' or 'vgg16'; weights: a torchvision .pth / .npz file, a state_dict,
                      None (the default weights file if one exists, else minicnn's fixed-seed
                      random weights with a loud warning) or False / 'random' (random weights, no warning).
    dtype, backend    'float32' | 'float64';  'numpy' | 'cupy'.
    output            if given, the image is written there (atomically), also after Ctrl-C;
                      save_every=N also writes OUTPUT_00050.png ... every N iterations;
                      plot=PATH (or True: OUTPUT_losses.png) writes the loss curves.
    progress          show a progress bar with the current losses.
    stop              an object whose ``.requested`` becomes True to stop early (UI); by
                      default Ctrl-C stops after the current iteration.
    callback          called after every recorded iteration with (losses dict, get_image).
    """
    opts = StyleOptions.from_kwargs(**{k: v for k, v in locals().items()
                                       if k not in ("content", "styles", "stop", "callback")})
    if opts.plot is True:
        opts.plot = default_plot_path(output) if output else None
    plan = prepare(content, styles, opts)
    engine = MinicnnEngine(opts)
    return run(engine, opts, plan, save_image=save_image, stop=stop, callback=callback)
