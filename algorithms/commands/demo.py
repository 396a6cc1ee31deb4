"""``minicnn demo``: the showcase on built-in sample images."""
from __future__ import annotations

import argparse


def run(args):
    from algorithms.showcase import fit_sine
    first, last = fit_sine(log=lambda s: None if args.quiet else print(s))
    print(f"tiny network fitted sin(x): mse {first:.4f} -> {last:.5f}")
    return 0


def register(sub):
    p = sub.add_parser("demo", help="run the algorithms on built-in sample images",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="out/demo", help="output folder")
    p.set_defaults(func=run)
