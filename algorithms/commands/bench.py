"""``minicnn bench``: the backend benchmark suite (``python -m benchmarks.run``), run from the repository."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from algorithms.commands._help import HelpFormatter


def repo_root() -> Path:
    """The checkout that holds ``algorithms/`` (benchmarks/ is not installed with the package)."""
    return Path(__file__).resolve().parents[2]


def run(args):
    root = repo_root()
    if not (root / "benchmarks" / "run.py").is_file():
        where = root / "benchmarks"
        raise RuntimeError(f"the benchmark suite is not available: {where / 'run.py'} does not exist "
                           "(it has not landed in this checkout, or minicnn runs from an installed copy: "
                           "benchmarks/ lives only in the source checkout, run `make bench` there)")
    extra = list(args.extra)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    chosen = any(a in ("--quick", "--full", "--preset", "-h", "--help") or a.startswith("--preset=") for a in extra)
    mode = ["--quick"] if args.quick else [] if chosen else ["--full"]
    out = ["--out", str(args.output)] if args.output else []
    cmd = [sys.executable, "-m", "benchmarks.run", *mode, *out, *extra]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if not args.quiet:
        print("running: " + " ".join(cmd[1:]) + f"  (in {root})", file=sys.stderr)
    try:
        return subprocess.call(cmd, cwd=root, env=env)
    except KeyboardInterrupt:
        return 130


def register(sub):
    p = sub.add_parser("bench", help="benchmark the backends (minicnn numpy/cupy vs torch cpu/cuda)",
                       description="Run the benchmark suite (python -m benchmarks.run) from the source "
                                   "checkout: the same work on every available backend, ratios, GFLOP/s "
                                   "and peak memory, written as JSON, Markdown and a PNG plot. Arguments "
                                   "after -- are passed to it unchanged.",
                       formatter_class=HelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="small sizes, a smoke run of a minute or so")
    g.add_argument("--full", action="store_true", help="the full suite (the default)")
    p.add_argument("-o", "--output", default=None, metavar="DIR",
                   help="folder for the results (benchmarks.run --out); default: benchmarks/results")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="do not echo the command (same as minicnn --quiet)")
    p.add_argument("extra", nargs=argparse.REMAINDER, metavar="-- ARGS",
                   help="further arguments for benchmarks.run (see python -m benchmarks.run --help)")
    p.set_defaults(func=run)
