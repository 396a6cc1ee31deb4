"""The ``minicnn`` command line: one console script, one subcommand per task."""
from __future__ import annotations

import argparse
import sys


def _demo(args):
    from algorithms.showcase import fit_sine
    first, last = fit_sine()
    print(f"tiny network fitted sin(x): mse {first:.4f} -> {last:.5f}")
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="minicnn", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the showcase on built-in sample images")
    d.add_argument("--out", default="out/demo", help="output folder (default: %(default)s)")
    d.set_defaults(func=_demo)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as exc:
        print(f"minicnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"minicnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
