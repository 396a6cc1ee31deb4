"""``minicnn eval-sr``: PSNR/SSIM on Y of nearest, bilinear, bicubic, SRCNN and ESPCN on held-out images."""
from __future__ import annotations

import argparse
from pathlib import Path

from algorithms.commands._lists import comma_list
from algorithms.commands.upscale import add_common_args, parse_scale


def run(args):
    from algorithms import super_resolution as sr
    from algorithms.common.files import atomic_path, check_output_path
    from algorithms.common.progress import progress
    scale = parse_scale(args.scale)
    if args.tile < 0:
        raise ValueError(f"--tile must be 0 (no tiling) or a positive number of pixels, got {args.tile}")
    names = comma_list(args.images) if not args.dataset else None
    if args.dataset:
        sr.list_images(args.dataset, "--dataset")          # a missing or empty folder fails before any work
    else:
        for n in names:
            sr.check_sample_name(n)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder")
    check_output_path(out / "table.md", "--output")
    models = {}
    for kind, weights in (("srcnn", args.srcnn_weights), ("espcn", args.espcn_weights)):
        if weights == "none":
            continue
        models[kind.upper() if kind == "srcnn" else "ESPCN"] = (
            kind, sr.load_model(kind, scale, weights, dtype=args.dtype, device=args.backend))
    images = sr.load_named_images(names, args.dataset, "--dataset")
    rows, outputs = [], {}
    bar = progress(len(images), f"eval x{scale}", unit="image")
    for name, img in images:
        r, o = sr.evaluate([(name, img)], scale, models, tile=args.tile, self_ensemble=args.self_ensemble)
        rows += r
        outputs.update(o)
        bar.update(1)
    bar.close()
    table = sr.markdown_table(rows, scale)
    source = f"dataset {args.dataset}" if args.dataset else f"skimage.data images {', '.join(names)}"
    text = f"# Super-resolution x{scale} on {source}\n\n{table}"
    with atomic_path(out / "table.md") as tmp:
        Path(tmp).write_text(text)
    png = sr.comparison_png(out / "comparison.png", {k: outputs[k] for k in list(outputs)[:args.crops]},
                            rows, scale, crop=args.crop)
    print(table, end="")
    print(f"\nwrote {out / 'table.md'} and {png}")
    return 0


def register(sub):
    from algorithms.super_resolution import TEST_IMAGES
    p = sub.add_parser("eval-sr", help="PSNR/SSIM of SRCNN/ESPCN vs interpolation on held-out images",
                       description="Degrade held-out images by the standard protocol, upscale them with "
                                   "nearest, bilinear and bicubic interpolation and with SRCNN and ESPCN, and "
                                   "score PSNR/SSIM on Y with a border of `scale` pixels shaved. Writes "
                                   "table.md and comparison.png (crops side by side) to --out.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default=None, help="folder of ground-truth images (e.g. Set5); "
                                                   "default: the held-out skimage.data images")
    p.add_argument("--images", default=",".join(TEST_IMAGES), help="skimage.data images used without --dataset")
    p.add_argument("-o", "--output", "--out", dest="out", default="out/eval-sr", help="output folder")
    p.add_argument("--srcnn-weights", default=None, help="SRCNN weights (default: shipped; 'none' to skip)")
    p.add_argument("--espcn-weights", default=None, help="ESPCN weights (default: shipped; 'none' to skip)")
    p.add_argument("--tile", type=int, default=256, help="inference tile size in input pixels (0: none)")
    p.add_argument("--self-ensemble", action="store_true",
                   help="also score each network averaged over the 8 flips/rotations (rows '<model> x8')")
    p.add_argument("--crop", type=int, default=96, help="size of the compared crop in HR pixels")
    p.add_argument("--crops", type=int, default=4, help="at most this many images in comparison.png")
    add_common_args(p)
    p.set_defaults(func=run)
