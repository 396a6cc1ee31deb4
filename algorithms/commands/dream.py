"""``minicnn dream``: deep dream (Mordvintsev et al.) on a VGG network, the original notebook's recipe."""
from __future__ import annotations

import argparse
import os
import sys

from algorithms.commands._help import HelpFormatter
from algorithms.commands._lists import word_list
from algorithms.deep_dream import DEFAULT_LAYERS

EPILOG = """\
examples:
  minicnn dream photo.jpg -o dream.png --weights vgg19-dcbb9e9d.pth
  minicnn dream astronaut -o dream.png --layer relu3_3 relu4_2 --size 768 --tile 384
  minicnn dream photo.jpg -o dream.png --layer relu4_2 --channels 12 97 --steps 20
  minicnn dream photo.jpg -o dream.png --guide flowers.jpg --save-octaves

INPUT is an image file or a built-in sample name (astronaut, chelsea, coffee, rocket, ...).
Without --weights (or a default weights file, see the README) the network has random
weights: the run works, but the patterns are not ImageNet features. Ctrl-C stops after
the current step and saves the dream so far at full size.
"""


def _channels(values):
    out = []
    for v in word_list(values):
        try:
            out.append(int(v))
        except ValueError:
            raise ValueError(f"--channels: expected channel numbers such as 0 5 17, got {v!r}") from None
    return tuple(out)


def octave_pattern(output):
    root, ext = os.path.splitext(output)
    return f"{root}_octave{{octave}}{ext or '.png'}"


def run(args):
    from algorithms.deep_dream import deep_dream

    save_octaves = octave_pattern(args.output) if args.save_octaves else None
    result = deep_dream(
        args.input, layers=word_list(args.layer) if args.layer else DEFAULT_LAYERS,
        channels=_channels(args.channels) if args.channels else None, objective=args.objective,
        guide=args.guide, guide_size=args.guide_size, size=args.size or None, octaves=args.octaves,
        octave_scale=args.octave_scale, steps=args.steps, step_size=args.step_size, jitter=args.jitter,
        tile=args.tile, seed=args.seed, model=args.model, pool=args.pool, weights=args.weights,
        dtype=args.dtype, backend=args.backend, output=args.output, save_octaves=save_octaves,
        progress=not args.quiet)
    h, w = result.image.shape[:2]
    obj = result.history["objective"]
    msg = (f"wrote {args.output} ({w}x{h}); {len(obj)} steps over {len(result.octave_images)} octaves, "
           f"objective {obj[0]:.4g} -> {obj[-1]:.4g}, {result.seconds:.1f} s" if obj else
           f"wrote {args.output} ({w}x{h}); no steps, {result.seconds:.1f} s")
    if save_octaves:
        msg += f"; octaves in {save_octaves.format(octave='N')}"
    if not args.quiet:
        print(msg)
    if result.interrupted:
        print(f"minicnn dream: interrupted; the dream so far is in {args.output}", file=sys.stderr)
        return 130
    return 0


def register(sub):
    p = sub.add_parser(
        "dream", help="deep dream: make a VGG network see more of what it sees in an image",
        description="Deep dream (Mordvintsev, Olah & Tyka 2015): gradient ascent on the image to "
                    "amplify the activations of chosen VGG layers, over several octaves, with "
                    "jitter and normalised steps as in the original notebook.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("input", metavar="INPUT", help="image file or sample name (e.g. astronaut)")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bar or messages (same as minicnn --quiet)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png",
                   help="output image (written atomically; also written on Ctrl-C)")
    g = p.add_argument_group("objective")
    g.add_argument("--layer", nargs="+", action="extend", metavar="NAME", default=None,
                   help=f"VGG layer(s) whose activations grow (conv1_1 .. relu5_4, pool1 .. pool5; "
                        f"default: {' '.join(DEFAULT_LAYERS)})")
    g.add_argument("--channels", nargs="+", action="extend", metavar="C", default=None,
                   help="only these channels of the layer(s) (default: all)")
    g.add_argument("--objective", choices=("l2", "mean"), default="l2",
                   help="l2: mean squared activation (the notebook's); mean: mean activation")
    g.add_argument("--guide", metavar="IMG", default=None,
                   help="guide image: pull each position towards the guide feature it matches best "
                        "(replaces --objective)")
    g.add_argument("--guide-size", type=int, default=224, help="longest side of the guide image")
    g = p.add_argument_group("schedule")
    g.add_argument("--size", type=int, default=512, help="longest side of the result (0: keep the input's)")
    g.add_argument("--octaves", type=int, default=4, help="number of scales")
    g.add_argument("--octave-scale", type=float, default=1.4, help="size ratio between octaves")
    g.add_argument("--steps", type=int, default=10, help="gradient steps per octave")
    g.add_argument("--step-size", type=float, default=1.5,
                   help="mean change of a pixel per step, in grey levels (0..255)")
    g.add_argument("--jitter", type=int, default=32, help="largest random shift (pixels) before each step")
    g.add_argument("--tile", type=int, default=512,
                   help="largest tile side for the gradient (exact, with overlap); 0: no tiling")
    g.add_argument("--seed", type=int, default=0, help="seed of the jitter shifts")
    g = p.add_argument_group("network")
    g.add_argument("--model", choices=("vgg19", "vgg16"), default="vgg19", help="VGG network")
    g.add_argument("--weights", default=None, metavar="FILE",
                   help="torchvision VGG weights (vgg19-dcbb9e9d.pth, or a .npz from `minicnn "
                        "convert-weights`), or 'random'; default: the file found where the README "
                        "says, else random weights (with a warning)")
    g.add_argument("--pooling", dest="pool", choices=("max", "avg"), default="max", help="VGG pooling")
    g.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                   help="array backend (cupy needs an NVIDIA GPU)")
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="precision")
    g = p.add_argument_group("output")
    g.add_argument("--save-octaves", action="store_true",
                   help="also save each octave's image as OUT_octave1.png, OUT_octave2.png, ...")
    p.set_defaults(func=run)
