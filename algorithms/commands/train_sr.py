"""``minicnn train-sr``: train SRCNN or ESPCN weights for one scale (Adam on patches, checkpoints, resume)."""
from __future__ import annotations

import argparse
from pathlib import Path

from algorithms.commands._lists import comma_list, comma_numbers
from algorithms.commands.upscale import add_common_args, parse_scale


def run(args):
    from algorithms import super_resolution as sr
    from algorithms.common.files import check_output_path
    sr.check_model(args.model)
    scale = parse_scale(args.scale)
    for name in ("steps", "batch_size", "patch", "checkpoint_every", "validate_every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.patch < 2 * scale:
        raise ValueError(f"--patch must be at least {2 * scale} pixels for scale {scale}, got {args.patch}")
    sr.check_loss_border(args.loss_border, args.patch)
    rescale = sr.check_rescale(comma_numbers(args.rescale, "--rescale"))
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be positive, got {args.lr}")
    if args.lr_decay < 0:
        raise ValueError(f"--lr-decay must be 0 (constant) or a positive step count, got {args.lr_decay}")
    out = Path(args.out or f"out/train-sr/{args.model}_x{scale}.npz")
    check_output_path(out, "--output")
    checkpoint = args.checkpoint or str(out.with_suffix("")) + ".ckpt.npz"
    check_output_path(checkpoint, "--checkpoint")
    if args.resume and not Path(checkpoint).exists():
        raise FileNotFoundError(f"--resume: checkpoint {checkpoint!r} does not exist")
    # read before any work, so a wrong file (model, scale, shapes) fails in one line
    model = (sr.load_weights(args.init, args.model, scale, dtype=args.dtype).train() if args.init else None)
    plot = args.plot or str(out.with_suffix("")) + ".curves.png"
    train_names = comma_list(args.train) if not args.data else None
    val_names = comma_list(args.val) if not args.val_data else None
    train_images = [im for _, im in sr.load_named_images(train_names, args.data, "--data")]
    val_images = ([im for _, im in sr.load_named_images(val_names, args.val_data, "--val-data")]
                  if (val_names or args.val_data) else [])
    cfg = sr.SRConfig(kind=args.model, scale=scale, steps=args.steps, batch_size=args.batch_size,
                      patch=args.patch, lr=args.lr, lr_decay_steps=args.lr_decay, seed=args.seed,
                      backend=args.backend, dtype=args.dtype, checkpoint=checkpoint,
                      checkpoint_every=args.checkpoint_every, validate_every=args.validate_every,
                      resume=args.resume, plot=plot, loss_border=args.loss_border,
                      rescale=rescale)
    model, result, bic = sr.train_sr(train_images, val_images, cfg, model=model)
    sr.save_weights(model, out, args.model, scale)
    val = result.history.get("val_psnr") or []
    msg = f"wrote {out} after {result.step} steps" + (" (interrupted; --resume continues)" if result.interrupted
                                                       else "")
    if val:
        msg += f"; validation PSNR {val[-1]:.2f} dB (bicubic {bic:.2f} dB, {val[-1] - bic:+.2f} dB)"
    print(msg)
    print(f"curves: {plot}; checkpoint: {checkpoint}")
    return 0


def register(sub):
    from algorithms.super_resolution import TRAIN_IMAGES, VAL_IMAGES
    p = sub.add_parser("train-sr", help="train SRCNN/ESPCN super-resolution weights",
                       description="Train a super-resolution network on luminance patches made by the standard "
                                   "protocol (MATLAB-compatible bicubic downscaling with antialiasing). "
                                   "Writes the weights .npz, a checkpoint (for --resume) and a PNG of the "
                                   "loss and validation-PSNR curves.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="srcnn", choices=["srcnn", "espcn"], help="network")
    p.add_argument("--steps", type=int, default=2000, help="optimisation steps")
    p.add_argument("--batch-size", type=int, default=16, help="patches per step")
    p.add_argument("--patch", type=int, default=48, help="patch size in high-resolution pixels")
    p.add_argument("--loss-border", type=int, default=0,
                   help="leave this many pixels on each side of a patch out of the loss (e.g. 8, SRCNN's "
                        "receptive-field radius, so the loss never sees the zero padding)")
    p.add_argument("--rescale", default="",
                   help="comma-separated factors in [0.1, 1): downscaled copies of the training images join them "
                        "(scale augmentation), e.g. 0.8,0.6")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default: 1e-4 for srcnn, whose ReLUs die at 1e-3; 1e-3 for espcn)")
    p.add_argument("--lr-decay", type=int, default=0,
                   help="multiply the learning rate by 0.1 every this many steps (0: constant)")
    p.add_argument("--train", default=",".join(TRAIN_IMAGES), help="skimage.data training images")
    p.add_argument("--data", default=None, help="folder of training images (replaces --train)")
    p.add_argument("--val", default=",".join(VAL_IMAGES), help="skimage.data validation images ('' for none)")
    p.add_argument("--val-data", default=None, help="folder of validation images (replaces --val)")
    p.add_argument("-o", "--output", "--out", dest="out", default=None, help="weights file to write (default out/train-sr/<model>_x<scale>.npz)")
    p.add_argument("--checkpoint", default=None, help="checkpoint file (default next to --out)")
    p.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    p.add_argument("--validate-every", type=int, default=100, help="steps between validation PSNRs")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--init", default=None, help="start from these weights (.npz for the same model and scale), "
                   "e.g. continue training the shipped ones; default: a fresh initialisation")
    p.add_argument("--plot", default=None, help="PNG of the training curves (default next to --out)")
    add_common_args(p)
    p.set_defaults(func=run)
