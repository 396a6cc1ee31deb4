"""``minicnn style``: neural style transfer (Gatys et al.) of one content image and one or more styles."""
from __future__ import annotations

import argparse
import sys

from algorithms.commands._lists import word_list
from algorithms.style.options import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS

EPILOG = """\
examples:
  minicnn style photo.jpg starry.jpg -o out.png --weights vgg19-dcbb9e9d.pth
  minicnn style photo.jpg a.jpg b.jpg --style-blend-weights 3 1 -o out.png --size 768 --scales 2
  minicnn style photo.jpg starry.jpg -o out.png --original-colors --init random --optimizer adam

Without --weights (or a default weights file, see the README) the network has random
weights: the run works, but the result is not a style transfer. Ctrl-C stops after the
current iteration and saves the best image so far.
"""


class _Help(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (skipping None/False ones, whose help says what happens)."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=36)

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or action.default in (None, False, argparse.SUPPRESS) \
                or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def run(args):
    from algorithms.common.files import check_output_path
    from algorithms.common.progress import status
    from algorithms.style.driver import default_plot_path
    from algorithms.style_transfer import style_transfer

    check_output_path(args.output, "output")
    plot = None if args.no_plot else (args.plot or default_plot_path(args.output))
    if plot:
        check_output_path(plot, "plot")
    weights = args.weights
    result = style_transfer(
        args.content, args.styles, style_blend_weights=args.style_blend_weights, size=args.size,
        style_scale=args.style_scale, content_layers=word_list(args.content_layers),
        style_layers=word_list(args.style_layers), content_weight=args.content_weight,
        style_weight=args.style_weight, tv_weight=args.tv_weight, init=args.init,
        optimizer=args.optimizer, iters=args.iters, lr=args.lr,
        line_search=None if args.line_search == "none" else args.line_search,
        history_size=args.lbfgs_history, pooling=args.pooling, original_colors=args.original_colors,
        scales=args.scales, seed=args.seed, model=args.model, weights=weights, dtype=args.dtype,
        backend=args.backend, output=args.output, save_every=args.save_every, plot=plot,
        progress=not args.quiet)
    if not result.pretrained:
        status("NOTE: this ran on RANDOM VGG features (no --weights file): the image shows texture "
               "statistics of an untrained network, not a real style transfer.")
    h, w = result.sizes[-1]
    msg = (f"wrote {args.output} ({w}x{h}); total loss {result.first_loss:.4g} -> "
           f"{result.best_loss:.4g} in {result.history['iteration'][-1]} iterations, "
           f"{result.seconds:.1f} s" + (f"; loss curves in {plot}" if plot else ""))
    if not args.quiet:
        print(msg)
    if result.interrupted:
        print(f"minicnn style: interrupted; the best image so far is in {args.output}", file=sys.stderr)
        return 130
    return 0


def register(sub):
    p = sub.add_parser(
        "style", help="neural style transfer (Gatys et al.) of a content image in one or more styles",
        description="Paint CONTENT in the style of STYLE (Gatys, Ecker & Bethge 2016) by optimising "
                    "the image against VGG content and style (Gram matrix) losses.",
        epilog=EPILOG, formatter_class=_Help)
    p.add_argument("content", metavar="CONTENT", help="content image (PNG/JPEG/...; grayscale, RGBA "
                   "and 16-bit images are converted)")
    p.add_argument("styles", metavar="STYLE", nargs="+", help="one or more style images")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bar or messages (same as minicnn --quiet)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png",
                   help="output image (written atomically; also written on Ctrl-C)")
    g = p.add_argument_group("images")
    g.add_argument("--size", type=int, default=512, help="longest side of the output in pixels")
    g.add_argument("--style-scale", type=float, default=1.0,
                   help="style images are resized to this times the output's longest side")
    g.add_argument("--style-blend-weights", type=float, nargs="+", metavar="W", default=None,
                   help="one weight per style image (normalised to sum 1); default: equal")
    g.add_argument("--init", default="content",
                   help="start image: 'content', 'random' (seeded uniform noise) or an image path")
    g.add_argument("--original-colors", action="store_true",
                   help="keep the content's colours: luminance from the result, chroma from the content")
    g.add_argument("--scales", type=int, default=1,
                   help="coarse-to-fine: optimise at size/2^(N-1), ..., size/2, size, each scale "
                        "starting from the previous result upsampled (--iters at each scale)")
    g = p.add_argument_group("losses")
    g.add_argument("--content-layers", default=",".join(DEFAULT_CONTENT_LAYERS),
                   help="comma-separated VGG layers for the content loss (conv1_1 .. relu5_4, pool1 ..)")
    g.add_argument("--style-layers", default=",".join(DEFAULT_STYLE_LAYERS),
                   help="comma-separated VGG layers for the style (Gram matrix) loss")
    g.add_argument("--content-weight", type=float, default=1.0, help="weight of the content loss")
    g.add_argument("--style-weight", type=float, default=1e6,
                   help="weight of the style loss (Gram matrices divided by C*H*W, mean squared error)")
    g.add_argument("--tv-weight", type=float, default=1.0,
                   help="weight of the total-variation smoothness loss (mean squared neighbour "
                        "differences of the [0, 1] image); 0 turns it off")
    g = p.add_argument_group("optimisation")
    g.add_argument("--iters", type=int, default=500, help="iterations (per scale)")
    g.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs", help="optimiser")
    g.add_argument("--lr", type=float, default=None,
                   help="step size; default 1 for lbfgs, 0.02 for adam")
    g.add_argument("--line-search", choices=("none", "strong_wolfe"), default="none",
                   help="L-BFGS line search (none = fixed step, as the original neural-style)")
    g.add_argument("--lbfgs-history", type=int, default=100,
                   help="L-BFGS memory (pairs kept; each costs two image-sized vectors)")
    g.add_argument("--seed", type=int, default=0, help="seed of the random init (--init random)")
    g = p.add_argument_group("network")
    g.add_argument("--model", choices=("vgg19", "vgg16"), default="vgg19", help="VGG network")
    g.add_argument("--weights", default=None, metavar="FILE",
                   help="torchvision VGG weights (vgg19-dcbb9e9d.pth, or a .npz from `minicnn "
                        "convert-weights`), or 'random' for random weights without the warning; "
                        "default: the file found where the README says, else random weights "
                        "(with a warning)")
    g.add_argument("--pooling", choices=("max", "avg"), default="max",
                   help="VGG pooling (avg often gives smoother results)")
    g.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                   help="array backend (cupy needs an NVIDIA GPU)")
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="precision")
    g = p.add_argument_group("output")
    g.add_argument("--save-every", type=int, default=0, metavar="N",
                   help="also save OUT_00050.png ... every N iterations (0: never)")
    g.add_argument("--plot", default=None, metavar="PNG",
                   help="loss-curve plot; default OUT_losses.png next to the output")
    g.add_argument("--no-plot", action="store_true", help="do not write the loss-curve plot")
    p.set_defaults(func=run)
