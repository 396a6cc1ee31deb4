"""``minicnn upscale``: super-resolve an image with SRCNN or ESPCN (network on Y, bicubic on CbCr)."""
from __future__ import annotations

import argparse


def add_common_args(p, scale=True):
    """Options every super-resolution command shares (also used by train-sr and eval-sr)."""
    if scale:
        p.add_argument("--scale", default="3", help="upscaling factor: 2, 3 or 4")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="array backend")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="compute dtype")
    p.add_argument("--seed", type=int, default=0, help="random seed (model initialisation, patches)")


def parse_scale(text):
    """--scale as an int in (2, 3, 4), or a one-line ValueError (exit code 2) naming the value."""
    try:
        value = int(str(text))
    except ValueError:
        value = None
    if value not in (2, 3, 4):
        raise ValueError(f"--scale must be 2, 3 or 4, got {text!r}")
    return value


def run(args):
    from algorithms import super_resolution as sr
    from algorithms.common.files import check_input_file, check_output_path
    from algorithms.common.progress import status
    sr.check_model(args.model)
    scale = parse_scale(args.scale)
    if args.tile < 0:
        raise ValueError(f"--tile must be 0 (no tiling) or a positive number of pixels, got {args.tile}")
    check_input_file(args.input, "input")
    check_output_path(args.output, "output")
    model = sr.load_model(args.model, scale, args.weights, dtype=args.dtype, device=args.backend)
    image = sr.read_image(args.input)
    h, w = image.shape[:2]
    status(f"upscaling {args.input} ({w}x{h}) x{scale} with {args.model} on {args.backend}"
           + (f", tiles of {args.tile}px" if args.tile and max(h, w) > args.tile else "")
           + (", x8 self-ensemble" if args.self_ensemble else ""))
    out = sr.upscale_image(image, scale, model, args.model, tile=args.tile, desc=f"{args.model} x{scale}",
                           self_ensemble=args.self_ensemble)
    sr.write_image(args.output, out)
    print(f"wrote {args.output} ({out.shape[1]}x{out.shape[0]})")
    return 0


def register(sub):
    p = sub.add_parser("upscale", help="super-resolve an image x2/x3/x4 with SRCNN or ESPCN",
                       description="Upscale a colour or grayscale image: the network works on the luminance "
                                   "(Y of YCbCr), bicubic interpolation on the colour channels. Large images "
                                   "run in overlapping tiles that give the same result as one pass.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("input", help="input image (PNG, JPEG, ...)")
    p.add_argument("-o", "--output", required=True, help="output image file (written atomically)")
    p.add_argument("--model", default="srcnn", choices=["srcnn", "espcn"], help="network")
    p.add_argument("--weights", default=None,
                   help="weights .npz (default: the shipped minicnn/weights/<model>_x<scale>.npz)")
    p.add_argument("--tile", type=int, default=256,
                   help="tile size in input pixels (0: the whole image in one pass)")
    p.add_argument("--self-ensemble", action="store_true",
                   help="average the network over the 8 flips/rotations of the input (8x slower, a little sharper)")
    add_common_args(p)
    p.set_defaults(func=run)
