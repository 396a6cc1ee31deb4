"""``minicnn denoise``: remove Gaussian noise from a grayscale or colour image with RED-Net."""
from __future__ import annotations

import argparse
import time


def run(args):
    from algorithms import denoising as D
    from algorithms.common.files import check_input_file, check_output_path
    from algorithms.common.progress import status
    from minicnn import backend

    # Every check comes before any work.
    if args.sigma is not None and args.blind:
        raise ValueError(f"give either --sigma or --blind, not both (got --sigma {args.sigma:g} and --blind)")
    sigma = D.check_sigma(args.sigma)
    if args.tile < 0:
        raise ValueError(f"--tile must be 0 (no tiling) or a positive tile size in pixels, got {args.tile}")
    check_input_file(args.input, "input")
    out = check_output_path(args.output, "output")
    if out.suffix.lower() not in D.IMAGE_SUFFIXES:
        raise ValueError(f"output {str(out)!r} must end in one of {', '.join(D.IMAGE_SUFFIXES)}")
    if args.weights:
        check_input_file(args.weights, "weights")
    backend.get_backend(args.backend)
    image = D.read_image(args.input, "input")
    color = image.ndim == 3
    if args.weights:
        path, note = args.weights, f"weights {args.weights}"
    else:
        path, note = D.shipped_weights(color, sigma)
    model, meta = D.load_weights(path, dtype=args.dtype)
    model.to(args.backend)
    if args.weights and sigma is not None and meta["sigma"] is not None and meta["sigma"] != sigma:
        status(f"note: {args.weights} was trained at sigma {meta['sigma']:g}, the image is said to have "
               f"sigma {sigma:g}")
    status(f"denoising {args.input} ({image.shape[1]}x{image.shape[0]}, {'colour' if color else 'grayscale'}) "
           f"with the {note}" + (", x8 self-ensemble" if args.self_ensemble else ""))
    t0 = time.perf_counter()
    result = D.denoise_array(model, image, tile=args.tile, self_ensemble=args.self_ensemble)
    D.write_image(out, result)
    print(f"wrote {out} ({time.perf_counter() - t0:.1f} s)")
    return 0


def register(sub):
    p = sub.add_parser("denoise", help="remove Gaussian noise from an image (RED-Net)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("input", help="noisy image file (grayscale or colour, any size)")
    p.add_argument("-o", "--output", required=True, help="denoised image to write (PNG, JPEG, ...)")
    p.add_argument("--sigma", type=float, default=None,
                   help="noise level on the 0-255 scale: picks the model trained at that sigma when there "
                        "is one (grayscale 25), else the blind model")
    p.add_argument("--blind", action="store_true", help="use the blind model (any sigma in 0-55); the default")
    p.add_argument("--weights", default=None, help="a .npz written by `minicnn train-denoiser` instead of the "
                   "shipped weights")
    p.add_argument("--tile", type=int, default=256, help="process in overlapping tiles of this size "
                   "(0: whole image at once; the result is the same, tiles bound the memory)")
    p.add_argument("--self-ensemble", action="store_true",
                   help="average the outputs of the 8 flips/rotations (8x slower, a little better)")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="array backend")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="inference precision")
    p.set_defaults(func=run)
