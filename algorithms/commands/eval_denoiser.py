"""``minicnn eval-denoiser``: PSNR/SSIM of RED-Net vs noisy, Gaussian filter, non-local means and BM3D."""
from __future__ import annotations

import argparse
import time

from algorithms.commands._lists import comma_list, comma_numbers

METHODS = ("noisy", "gaussian", "nlm", "bm3d", "rednet-s25", "rednet-blind")


def run(args):
    import json
    import shlex
    import sys
    from pathlib import Path

    from algorithms import denoising as D
    from algorithms.common.files import atomic_path, check_input_file, check_output_path
    from algorithms.common.progress import status

    sigmas = comma_numbers(args.sigmas, "--sigmas")
    if not sigmas:
        raise ValueError("--sigmas is empty")
    for s in sigmas:
        D.check_sigma(s, "--sigmas")
    methods = comma_list(args.methods)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"--methods: unknown {', '.join(bad) or '(none given)'}; choose from {', '.join(METHODS)}")
    crop = 256 if args.fast and not args.crop else args.crop
    if crop < 0 or (crop and crop < 16):
        raise ValueError(f"--crop must be 0 (whole images) or at least 16 pixels, got {crop}")
    if args.tile < 0:
        raise ValueError(f"--tile must be >= 0, got {args.tile}")
    check_output_path(f"{args.out}/results.md", "--output")
    if "bm3d" in methods:
        try:
            import bm3d  # noqa: F401
        except ImportError:
            raise RuntimeError("BM3D needs the bm3d package: pip install 'minicnn[eval]', or leave bm3d out "
                               "of --methods") from None
    for w in (args.weights_s25, args.weights_blind, args.weights_color):
        if w:
            check_input_file(w, "weights")

    gray = D.load_images(comma_list(args.images), args.data, "evaluation") if (args.images or args.data) else []
    color = D.load_images(comma_list(args.color_images), args.color_data, "colour evaluation") \
        if (args.color_images or args.color_data) else []
    gray = [(n, D.central_crop(D.to_gray(img), crop)) for n, img in gray]
    color = [(n, D.central_crop(D.to_color(img), crop)) for n, img in color]
    if not gray and not color:
        raise ValueError("nothing to evaluate: give --images and/or --color-images")

    models = {}
    if "rednet-s25" in methods and gray:
        models["rednet-s25"] = D.load_weights(args.weights_s25 or D.shipped_weights(False, 25.0)[0],
                                              dtype=args.dtype)
    if "rednet-blind" in methods:
        if gray:
            models["rednet-blind-gray"] = D.load_weights(args.weights_blind or D.shipped_weights(False, None)[0],
                                                         dtype=args.dtype)
        if color:
            models["rednet-blind-color"] = D.load_weights(args.weights_color or D.shipped_weights(True, None)[0],
                                                          dtype=args.dtype)
    for m, _ in models.values():
        m.to(args.backend)

    def rednet(key, only_sigma=None):
        def fn(noisy, sigma):
            if only_sigma is not None and sigma != only_sigma:
                return None
            model, meta = models[key]
            return D.denoise_array(model, noisy, tile=args.tile, self_ensemble=args.self_ensemble)
        return fn

    base = {"noisy": None, "gaussian": D.gaussian_denoise, "nlm": D.nlm_denoise, "bm3d": D.bm3d_denoise}

    def method_list(is_color):
        out = []
        for m in methods:
            if m in base:
                out.append((m, base[m]))
            elif m == "rednet-s25" and not is_color:
                s25 = models["rednet-s25"][1]["sigma"]
                out.append((m, rednet("rednet-s25", only_sigma=s25)))
            elif m == "rednet-blind":
                out.append((m, rednet("rednet-blind-color" if is_color else "rednet-blind-gray")))
        return out

    t0 = time.perf_counter()
    log = (lambda r: status(f"  {r['image']:>12} sigma {r['sigma']:>4g} {r['method']:>13}: "
                            f"{r['psnr']:6.2f} dB  SSIM {r['ssim']:.4f}  ({r['seconds']:.1f} s)"))
    rows, outputs = [], {}
    sections = []
    for title, imgs, is_color in (("Grayscale", gray, False), ("Colour", color, True)):
        if not imgs:
            continue
        status(f"{title}: {', '.join(n for n, _ in imgs)} at sigma {', '.join(f'{s:g}' for s in sigmas)}")
        r, o = D.evaluate(imgs, method_list(is_color), sigmas, seed=args.seed, progress_fn=log)
        rows += r
        outputs.update(o)
        sections.append((title, r, [m for m in methods if any(x["method"] == m for x in r)]))

    size = f"central {crop}x{crop} crops" if crop else "whole images"
    argv = sys.argv[sys.argv.index("eval-denoiser") + 1:] if "eval-denoiser" in sys.argv else []
    cmd = " ".join(["minicnn eval-denoiser"] + [shlex.quote(a) for a in argv])
    header = (f"# RED-Net denoising vs classical methods\n\nCommand: `{cmd}`\n\n"
              f"Held-out images ({size}), additive Gaussian noise (unclipped), seed {args.seed}. Cells: "
              "PSNR (dB) / SSIM on [0, 1]. Gaussian filter width 0.5 + sigma/50 px; NLM: scikit-image "
              "fast mode, 5x5 patches, 13x13 search, h = 0.8 x estimated sigma; BM3D: `bm3d` package given "
              "the true sigma; rednet-s25: the grayscale model trained at sigma 25; rednet-blind: the blind "
              f"models (grayscale / colour){' with x8 self-ensemble' if args.self_ensemble else ''}.\n\n")
    body = ""
    for title, r, ms in sections:
        body += f"## {title}\n\n" + D.markdown_table(r, ms, sigmas) + "\n"
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "results.md") as tmp:
        Path(tmp).write_text(header + body)
    with atomic_path(folder / "results.json") as tmp:
        Path(tmp).write_text(json.dumps(rows, indent=1))
    names = [n for n, _ in gray + color]
    pngs = [D.side_by_side(folder / f"side_by_side_sigma{s:g}.png", outputs, rows, names, s, list(methods),
                           crop=args.view_crop) for s in sigmas]
    print(body, end="")
    print(f"wrote {folder / 'results.md'}, {folder / 'results.json'}, {', '.join(str(p) for p in pngs)} "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0


def register(sub):
    from algorithms.denoising import TEST_COLOR, TEST_GRAY
    p = sub.add_parser("eval-denoiser", help="PSNR/SSIM of RED-Net vs Gaussian, NLM and BM3D on held-out images",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-o", "--output", "--out", dest="out", default="out/eval_denoiser", help="folder for results.md, results.json and PNGs")
    p.add_argument("--sigmas", default="15,25,50", help="noise levels (0-255 scale), comma-separated")
    p.add_argument("--images", default=",".join(TEST_GRAY), help="grayscale held-out skimage.data images")
    p.add_argument("--data", default=None, help="a folder of grayscale test images instead of --images")
    p.add_argument("--color-images", default=",".join(TEST_COLOR),
                   help="colour held-out images ('' for none)")
    p.add_argument("--color-data", default=None, help="a folder of colour test images")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    p.add_argument("--crop", type=int, default=0, help="evaluate central crops of this size (0: whole images)")
    p.add_argument("--fast", action="store_true", help="256x256 central crops (BM3D is slow), unless --crop")
    p.add_argument("--view-crop", type=int, default=192, help="central crop shown in the side-by-side PNGs")
    p.add_argument("--self-ensemble", action="store_true", help="RED-Net with x8 flips/rotations")
    p.add_argument("--tile", type=int, default=256, help="RED-Net tile size (0: whole image)")
    p.add_argument("--weights-s25", default=None, help="grayscale sigma-25 weights (default: shipped)")
    p.add_argument("--weights-blind", default=None, help="grayscale blind weights (default: shipped)")
    p.add_argument("--weights-color", default=None, help="colour blind weights (default: shipped)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="array backend")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="RED-Net precision")
    p.set_defaults(func=run)
