"""``minicnn demo``: the four algorithms on built-in sample images, written as one HTML page."""
from __future__ import annotations

import argparse
import sys

from algorithms.commands._lists import word_list
from algorithms.commands._help import HelpFormatter

SECTION_NAMES = ("style", "dream", "denoise", "upscale")


def _sections(text):
    names = word_list(text)
    bad = [v for v in names if v not in SECTION_NAMES]
    if bad or not names:
        raise ValueError(f"--only: unknown section {', '.join(bad) or '(none given)'!s}; "
                         f"choose from {', '.join(SECTION_NAMES)}")
    return names


def run(args):
    from algorithms.common.files import check_input_file, check_output_path
    from algorithms.demo import run_gallery
    from minicnn import backend

    only = _sections(args.only) if args.only else None
    check_output_path(f"{args.output}/index.html", "output")
    if args.weights:
        check_input_file(args.weights, "weights")
    backend.get_backend(args.backend)            # a clear error now if cupy (or a GPU) is missing
    page, failed = run_gallery(args.output, quick=args.quick, backend=args.backend, seed=args.seed, only=only,
                               vgg_weights=args.weights, progress=not args.quiet)
    if failed:
        print(f"minicnn demo: {len(failed)} section(s) failed: "
              f"{', '.join(f'{s.key} ({s.error})' for s in failed)}; the page shows the errors", file=sys.stderr)
    print(f"demo page: {page.resolve()}")
    return 1 if failed else 0


def register(sub):
    p = sub.add_parser(
        "demo", help="run the four algorithms on built-in sample images and write an HTML page",
        description="Run style transfer, deep dream, denoising and super-resolution on scikit-image's "
                    "sample images and write OUTPUT/index.html with the inputs, results, numbers and "
                    "curves. A failing algorithm shows its error on the page (exit code 1).",
        formatter_class=HelpFormatter)
    p.add_argument("-o", "--output", "--out", default="out/demo", metavar="DIR",
                   help="folder for index.html and its images")
    p.add_argument("--quick", action="store_true", help="tiny sizes: every code path in seconds (for tests)")
    p.add_argument("--only", default=None, metavar="LIST",
                   help=f"comma-separated sections to run ({','.join(SECTION_NAMES)}); default: all")
    p.add_argument("--weights", default=None, metavar="FILE",
                   help="VGG19 weights for style transfer and deep dream (torchvision .pth or a .npz from "
                        "`minicnn convert-weights`); default: the default weights file, else random weights")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy", help="array backend")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise, jitter and initialisations")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bars or messages (same as minicnn --quiet)")
    p.set_defaults(func=run)
