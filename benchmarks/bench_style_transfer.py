"""Style transfer benchmark: seconds per L-BFGS iteration and peak memory, minicnn vs its torch twin.

    python -m benchmarks.bench_style_transfer                 # 256 and 512 px, 3 timed iterations
    python -m benchmarks.bench_style_transfer --sizes 256 --iters 2
    python -m benchmarks.bench_style_transfer --threads 1 --clock cpu   # on a busy machine

Each (implementation, size) runs in its own subprocess, so peak memory is that run's
alone: the growth of the process's peak resident set (``ru_maxrss``) over its size
just before ``style_transfer`` starts (the same measure for NumPy and torch; on a GPU
the device allocator's peak instead). The work is the real algorithm with its defaults
(VGG19 to relu5_1, content relu4_2, style relu1_1..relu5_1, L-BFGS history 100,
float32) on fixed synthetic images and random weights (speed does not depend on the
weights). One warm-up iteration is dropped; the median of the others is reported. An
iteration is one closure evaluation (VGG forward + backward to the image) plus the
L-BFGS update. minicnn-cupy and torch-cuda run when a GPU is present, and are listed
as skipped with the reason otherwise.

Results: benchmarks/results/style_transfer-<host>-<date>.json and .md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

from benchmarks.common import (best_of_rounds, mib, peak_rss, reset_peak_rss, rss_now, run_worker,
                               skipped_impls)

IMPLS = ("minicnn-numpy", "torch-cpu", "minicnn-cupy", "torch-cuda")


def _images(size, seed=0):
    """A smooth random 'photo' and a stripy 'painting', both size x size, in [0, 1]."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(np.cumsum(rng.standard_normal((size, size, 3)), 0), 1)
    content = np.clip((walk - walk.min()) / (walk.max() - walk.min() + 1e-12), 0, 1)
    yy, xx = np.mgrid[0:size, 0:size] / size
    style = np.stack([0.5 + 0.5 * np.sin(40 * xx + 5 * c + 10 * yy * yy) for c in range(3)], -1)
    return content, style


def worker(impl, size, iters):
    """Run one implementation at one size; print a JSON line with the timings and memory."""
    content, style = _images(size)
    backend = "cupy" if impl.endswith(("cupy", "cuda")) else "numpy"
    if impl.startswith("minicnn"):
        from algorithms.style_transfer import style_transfer
    else:
        from reference.style_transfer import style_transfer
        import torch
        if backend == "cupy":
            torch.cuda.reset_peak_memory_stats()
    from algorithms.style.options import StyleOptions, estimate_memory
    sync = lambda: None  # noqa: E731
    if impl == "minicnn-cupy":
        from minicnn import backend as be
        pool = be.get_backend("cupy").xp.get_default_memory_pool()
        sync = lambda: be.synchronize("cupy")  # noqa: E731
    elif impl == "torch-cuda":
        sync = torch.cuda.synchronize
    stamps, cpu_stamps = [], []

    def tick(losses, get_image):
        sync()
        stamps.append(time.perf_counter())
        cpu_stamps.append(time.process_time())

    if os.environ.get("OMP_NUM_THREADS") and not impl.startswith("minicnn"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    reset_peak_rss()
    base_rss = rss_now()
    t0 = time.perf_counter()
    r = style_transfer(content, style, size=size, iters=iters + 1, weights=False, backend=backend,
                       progress=False, callback=tick)
    total = time.perf_counter() - t0
    per_iter = [b - a for a, b in zip(stamps, stamps[1:])][1:]   # drop the warm-up iteration
    cpu_per_iter = [b - a for a, b in zip(cpu_stamps, cpu_stamps[1:])][1:]
    if impl == "minicnn-cupy":
        peak = pool.total_bytes()
    elif impl == "torch-cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = max(0, peak_rss() - base_rss)
    opts = StyleOptions(size=size).check(1)
    clock = os.environ.get("STYLE_BENCH_CLOCK", "wall")
    out = {"impl": impl, "size": size, "clock": clock,
           "seconds_per_iter": statistics.median(per_iter if clock == "wall" else cpu_per_iter),
           "wall_per_iter": per_iter, "cpu_per_iter": cpu_per_iter, "peak_bytes": peak, "estimate_bytes": estimate_memory(opts, size, size),
           "total_seconds": total, "first_loss": r.first_loss, "last_loss": r.last_loss,
           "evaluations": r.evaluations}
    print("RESULT " + json.dumps(out))


def run_one(impl, size, iters, timeout, threads=None, clock="wall"):
    return run_worker("benchmarks.bench_style_transfer", [impl, size, iters], f"{impl} at {size}px",
                      timeout, threads, env={"STYLE_BENCH_CLOCK": clock})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--iters", type=int, default=3, help="timed L-BFGS iterations (after 1 warm-up)")
    ap.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run each implementation this many times, alternating them, and keep each "
                         "one's fastest round (evens out a CPU shared with other work)")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/OpenMP/torch threads in every run (default: the libraries' own choice)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time an iteration by the wall clock, or by the process's CPU time (all its "
                         "threads; with --threads 1 this is robust to other processes on a busy machine)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per subprocess")
    ap.add_argument("--worker", nargs=3, metavar=("IMPL", "SIZE", "ITERS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        impl, size, iters = args.worker
        return worker(impl, int(size), int(iters))

    from benchmarks.common import environment, markdown_table, write_results
    env = environment()
    skipped = skipped_impls(args.impls)
    results = best_of_rounds(
        args.impls, args.sizes, args.rounds, skipped,
        lambda impl, size: run_one(impl, size, args.iters, args.timeout, args.threads, args.clock),
        "seconds_per_iter", "iteration")

    by = {(r["impl"], r["size"]): r for r in results}
    rows = []
    for size in args.sizes:
        for mine, ref in (("minicnn-numpy", "torch-cpu"), ("minicnn-cupy", "torch-cuda")):
            a, b = by.get((mine, size)), by.get((ref, size))
            if a is None and b is None:
                if mine in skipped or ref in skipped:
                    rows.append([f"{size}x{size}", f"{mine} / {ref}", "skipped", "", "", "", "", "", "",
                                 skipped.get(mine) or skipped.get(ref)])
                continue
            ratio_t = a["seconds_per_iter"] / b["seconds_per_iter"] if a and b else float("nan")
            ratio_m = a["peak_bytes"] / b["peak_bytes"] if a and b and b["peak_bytes"] else float("nan")
            rows.append([f"{size}x{size}", f"{mine} / {ref}",
                         f"{a['seconds_per_iter']:.3f}" if a else "-", f"{b['seconds_per_iter']:.3f}" if b else "-",
                         f"{ratio_t:.2f}x", mib(a["peak_bytes"]) if a else "-", mib(b["peak_bytes"]) if b else "-",
                         f"{ratio_m:.2f}x", mib((a or b)["estimate_bytes"]), ""])
    unit = "s/it" if args.clock == "wall" else "CPU s/it"
    headers = ["size", "minicnn / twin", f"minicnn {unit}", f"twin {unit}", "time ratio", "minicnn peak MiB",
               "twin peak MiB", "memory ratio", "estimate MiB", "note"]
    table = markdown_table(headers, rows)
    table += (f"\n\n{args.iters} timed L-BFGS iterations after 1 warm-up, median; fastest of {args.rounds} "
              f"round(s); clock: {args.clock}; threads: {args.threads or 'library default'}; load average "
              f"at start {env.get('loadavg_at_start')}; peak = growth of the peak resident set during the run")
    print(table)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M")
    name = f"style_transfer-{platform.node() or 'machine'}-{stamp}" + (f"-t{args.threads}" if args.threads else "") + ("-cpu" if args.clock == "cpu" else "")
    path = write_results(name, {"benchmark": "style_transfer", "iters": args.iters, "rounds": args.rounds,
                                "threads": args.threads, "clock": args.clock,
                                "environment": env,
                                "results": results, "skipped": skipped}, table)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main() or 0)
