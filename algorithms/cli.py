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
    "algorithms.commands.upscale",
    "algorithms.commands.train_sr",
    "algorithms.commands.eval_sr",
    "algorithms.commands.convert_weights",
    "algorithms.commands.bench",
    "algorithms.commands.ui",
    "algorithms.commands.demo",
]


class UsageError(ValueError):
    """Bad user input discovered after argument parsing (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error: ``minicnn style: error: ... (see minicnn style --help)``, exit 2."""

    def error(self, message):
        msg = " ".join(str(message).split())
        self.exit(2, f"{self.prog}: error: {msg} (see {self.prog} --help)\n")


def build_parser():
    p = Parser(
        prog="minicnn", description="minicnn: CNN image algorithms on a from-scratch NumPy/CuPy library.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quiet", action="store_true", help="no progress bars or status lines")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    from algorithms.commands._help import HelpFormatter
    for cmd in sub.choices.values():
        cmd.formatter_class = HelpFormatter   # one help layout everywhere: each option's default shown
        if "--quiet" not in cmd._option_string_actions:   # every subcommand takes --quiet after its name
            cmd.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                             help="no progress bars or status lines (same as minicnn --quiet)")
    p.subcommands = sub.choices
    return p


def main(argv=None):
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:   # reported by the subcommand's parser, so the message names it
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    from algorithms.common.progress import set_quiet
    set_quiet(args.quiet)
    if args.quiet:
        warnings.filterwarnings("ignore")
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError, MemoryError, OSError, ImportError) as exc:
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
