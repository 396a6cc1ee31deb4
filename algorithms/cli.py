"""The ``minicnn`` command line: one console script, one subcommand per task.

Each subcommand lives in its own module under ``algorithms/commands/`` and
exposes ``register(subparsers)``, which adds its parser and sets ``func``.
``main`` turns bad input into a one-line message and a non-zero exit code;
tracebacks are shown only with ``--debug``.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

# Order here is the order in `minicnn --help`.
COMMANDS = [
    "algorithms.commands.style",
    "algorithms.commands.dream",
    "algorithms.commands.denoise",
    "algorithms.commands.train_denoiser",
    "algorithms.commands.eval_denoiser",
    "algorithms.commands.demo",
]


class UsageError(ValueError):
    """Bad user input discovered after argument parsing (exit code 2)."""


def build_parser():
    p = argparse.ArgumentParser(
        prog="minicnn", description="minicnn: CNN image algorithms on a from-scratch NumPy/CuPy library.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quiet", action="store_true", help="no progress bars or status lines")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from algorithms.common.progress import set_quiet
    set_quiet(args.quiet)
    if args.quiet:
        warnings.filterwarnings("ignore")
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError, MemoryError, OSError) as exc:
        if args.debug:
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"minicnn {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"minicnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
