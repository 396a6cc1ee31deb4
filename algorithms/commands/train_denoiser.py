"""``minicnn train-denoiser``: train RED-Net on Gaussian noise (fixed sigma or blind), write .npz weights."""
from __future__ import annotations

import argparse
from pathlib import Path

from algorithms.commands._lists import comma_list


def run(args):
    from algorithms import denoising as D
    from algorithms.common.files import check_output_path
    from algorithms.common.progress import status
    from minicnn import backend

    if args.sigma is not None and args.blind:
        raise ValueError(f"give either --sigma or --blind, not both (got --sigma {args.sigma:g} and --blind)")
    sigma = None if args.blind else D.check_sigma(25.0 if args.sigma is None else args.sigma)
    if args.sigma_max is not None and not args.blind:
        raise ValueError("--sigma-max applies only to --blind training")
    blind_max = D.check_sigma(55.0 if args.sigma_max is None else args.sigma_max, "--sigma-max")
    if blind_max <= 0:
        raise ValueError(f"--sigma-max must be positive, got {args.sigma_max!r}")
    backend.get_backend(args.backend)           # a clear error before any work if cupy is missing
    names = comma_list(args.images) or D.TRAIN_IMAGES
    if args.data:
        D.list_images(args.data, "training")
    else:
        for n in names:
            D.sample_image(n)                       # unknown names fail here, before training
    if args.init:
        D.read_weights(args.init)                   # a readable RED-Net file, checked before training
    out = check_output_path(args.out, "--output")
    if out.suffix.lower() != ".npz":
        raise ValueError(f"--out must be a .npz file, got {str(out)!r}")
    ckpt = args.checkpoint or str(out.with_suffix("")) + ".ckpt.npz"
    if args.resume and not Path(ckpt).exists():
        raise FileNotFoundError(f"--resume: checkpoint {ckpt!r} does not exist")
    plot = args.plot or str(out.with_suffix("")) + "_curves.png"
    cfg = D.DenoiseConfig(channels=3 if args.color else 1, sigma=sigma, blind_range=(0.0, blind_max),
                          depth=args.depth, features=args.features, residual=not args.no_residual,
                          steps=args.steps, batch_size=args.batch_size, patch=args.patch, lr=args.lr,
                          lr_min=args.lr_min, seed=args.seed, backend=args.backend, dtype=args.dtype,
                          checkpoint=ckpt, checkpoint_every=args.checkpoint_every,
                          validate_every=args.validate_every, resume=args.resume, plot=plot,
                          train_names=names, data=args.data, val_data=args.val_data, init=args.init)
    D.check_config(cfg)
    model, result, noisy_val = D.train_denoiser(cfg)
    extra = {"steps": int(result.step), "patch": cfg.patch, "batch_size": cfg.batch_size, "lr": cfg.lr,
             "seed": cfg.seed, "train_images": ",".join(names) if not args.data else str(args.data),
             "blind_max": blind_max, "init": str(args.init or "")}
    D.save_weights(model, out, sigma, extra)
    last = result.history.get("val_psnr", [float("nan")])
    status(f"validation PSNR at sigma {cfg.val_sigma:g}: noisy {noisy_val:.2f} dB -> "
           f"{last[-1] if last else float('nan'):.2f} dB after {result.step} steps")
    print(f"wrote {out} ({'interrupted, ' if result.interrupted else ''}{result.step} steps); "
          f"curves {plot}; checkpoint {ckpt}")
    return 0


def register(sub):
    p = sub.add_parser("train-denoiser", help="train the RED-Net denoiser (grayscale/colour, fixed sigma or blind)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-o", "--output", "--out", dest="out", required=True, help="weights file to write (.npz)")
    p.add_argument("--sigma", type=float, default=None, help="train at this noise level (0-255 scale; 25 if "
                   "neither --sigma nor --blind)")
    p.add_argument("--blind", action="store_true", help="blind model: sigma ~ U(0, --sigma-max) per patch")
    p.add_argument("--sigma-max", type=float, default=None, help="top of the blind range (default 55)")
    p.add_argument("--color", action="store_true", help="colour (RGB) model instead of grayscale")
    p.add_argument("--depth", type=int, default=10, help="layers (10, 20, 30: half conv, half deconv)")
    p.add_argument("--features", type=int, default=64, help="channels of the hidden layers")
    p.add_argument("--init", default=None, help="start from these weights (.npz of the same architecture), "
                   "e.g. fine-tune the blind model from the sigma-25 one; default: He initialisation")
    p.add_argument("--no-residual", action="store_true", help="predict the clean image, not the noise")
    p.add_argument("--steps", type=int, default=600, help="optimisation steps")
    p.add_argument("--batch-size", type=int, default=16, help="patches per step")
    p.add_argument("--patch", type=int, default=40, help="patch side in pixels")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate at the start")
    p.add_argument("--lr-min", type=float, default=1e-5, help="learning rate at the end (cosine schedule)")
    p.add_argument("--images", default=None, help="comma-separated skimage.data names to train on "
                   "(default: astronaut,coffee,rocket,brick,grass,gravel)")
    p.add_argument("--data", default=None, help="a folder of training images instead of --images")
    p.add_argument("--val-data", default=None, help="a folder of validation images (default: skimage chelsea)")
    p.add_argument("--checkpoint", default=None, help="checkpoint file (default: OUT without .npz + .ckpt.npz)")
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints")
    p.add_argument("--validate-every", type=int, default=50, help="steps between validation PSNRs")
    p.add_argument("--resume", action="store_true", help="continue exactly from the checkpoint")
    p.add_argument("--plot", default=None, help="PNG of the training curves (default: OUT_curves.png)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, patches and noise")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="array backend")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="training precision")
    p.set_defaults(func=run)
