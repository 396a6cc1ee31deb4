"""Deep dream benchmark: seconds per step and peak memory, minicnn vs its torch twin, in one run.

    python -m benchmarks.bench_deep_dream                     # 256 and 512 px, 3 timed steps each
    python -m benchmarks.bench_deep_dream --sizes 256 --steps 2 --rounds 2
    python -m benchmarks.bench_deep_dream --threads 1     # one BLAS/torch thread each (steadier on a busy CPU)

A step is the notebook's ``make_step`` with the defaults of ``algorithms.deep_dream``:
random jitter roll (32 px), VGG19 ``features`` up to relu4_2 forward and backward to the
image (no weight gradients), the normalised ascent ``x += 1.5 / mean|g| * g``, the roll
undone and the clip to 0..255; float32, one tile (512 px tiles cover both sizes). The
engines are the algorithm's own (``algorithms.deep_dream.MinicnnDreamer``,
``reference.deep_dream.TorchDreamer``) on the same fixed smooth random image and minicnn's
seeded random VGG weights (speed does not depend on the weights).

Each (implementation, size) runs in its own subprocess, so its peak memory is its own:
the growth of the process's peak resident set (VmHWM, reset just before the first step)
over its size at that moment (the same measure for NumPy and torch); on a GPU the device allocator's
peak instead. For minicnn-numpy, tracemalloc's count of NumPy's buffers during one extra
(untimed) step is recorded too, as a check on the RSS figure. One warm-up step is dropped and the median of the timed steps is reported.
``--rounds N`` alternates the implementations N times and keeps each one's fastest round,
which evens out a CPU shared with other work. minicnn-cupy and torch-cuda run when a GPU is
present and are listed as skipped, with the reason, otherwise.

Results: benchmarks/results/deep_dream-<host>-<date>.json and .md.
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
PAIRS = (("minicnn-numpy", "torch-cpu"), ("minicnn-cupy", "torch-cuda"))


def smooth_image(size, seed=0):
    """A (3, size, size) smooth random image in [0, 1] (a stand-in for a photograph)."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(np.cumsum(rng.standard_normal((3, size, size)), 1), 2)
    lo, hi = walk.min(axis=(1, 2), keepdims=True), walk.max(axis=(1, 2), keepdims=True)
    return (walk - lo) / (hi - lo + 1e-12)


def worker(impl, size, steps):
    """Time ``steps`` deep-dream steps (after one warm-up) of one implementation; print a JSON line."""
    from algorithms.deep_dream import DreamOptions, draw_shift
    backend = "cupy" if impl.endswith(("cupy", "cuda")) else "numpy"
    opts = DreamOptions(size=size, weights=False, backend=backend).check()
    sync = lambda: None  # noqa: E731
    if impl.startswith("minicnn"):
        from algorithms.deep_dream import MinicnnDreamer as Engine
        if backend == "cupy":
            from minicnn import backend as be
            pool = be.get_backend("cupy").xp.get_default_memory_pool()
            sync = lambda: be.synchronize("cupy")  # noqa: E731
    else:
        import torch
        from reference.deep_dream import TorchDreamer as Engine
        if os.environ.get("BENCH_TORCH_THREADS"):
            torch.set_num_threads(int(os.environ["BENCH_TORCH_THREADS"]))
        if backend == "cupy":
            torch.cuda.reset_peak_memory_stats()
            sync = torch.cuda.synchronize
    engine = Engine(opts)
    x = engine.to_array(smooth_image(size))
    rng = np.random.default_rng(0)
    reset_peak_rss()
    base_rss = rss_now()
    times, values = [], []
    for _ in range(steps + 1):
        ox, oy = draw_shift(rng, opts.jitter)
        sync()
        t0 = time.perf_counter()
        value, x = engine.step(x, ox, oy)
        sync()
        times.append(time.perf_counter() - t0)
        values.append(value)
    per_step = times[1:]
    traced = None
    if impl == "minicnn-numpy":                  # NumPy's own count of one step's buffers (tracing is slow:
        from benchmarks.common import peak_memory    # a separate, untimed step)
        traced = peak_memory(lambda: engine.step(x, 0, 0))
    if impl == "minicnn-cupy":
        peak = pool.total_bytes()
    elif impl == "torch-cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = max(0, peak_rss() - base_rss)
    threads = None
    if impl.startswith("torch"):
        threads = torch.get_num_threads()
    else:
        try:
            import threadpoolctl
            threads = [lib.get("num_threads") for lib in threadpoolctl.threadpool_info()]
        except ImportError:
            pass
    out = {"impl": impl, "size": size, "seconds_per_step": statistics.median(per_step), "per_step": per_step,
           "threads": threads,
           "warmup_seconds": times[0], "peak_bytes": peak, "numpy_traced_peak_bytes": traced, "objective_first": values[0],
           "objective_last": values[-1]}
    print("RESULT " + json.dumps(out))
    return 0


def run_one(impl, size, steps, timeout=1800, threads=None):
    return run_worker("benchmarks.bench_deep_dream", [impl, size, steps], f"{impl} at {size}px",
                      timeout, threads)


def table(results, skipped, sizes):
    from benchmarks.common import markdown_table
    by = {(r["impl"], r["size"]): r for r in results}
    rows = []
    for size in sizes:
        for mine, ref in PAIRS:
            a, b = by.get((mine, size)), by.get((ref, size))
            if a is None or b is None:
                reason = skipped.get(mine) or skipped.get(ref) or "did not run"
                rows.append([f"{size}x{size}", f"{mine} / {ref}", "skipped", "", "", "", "", "", reason])
                continue
            spread = max(a["per_step"]) / min(a["per_step"]) - 1 if a["per_step"] else 0.0
            traced = a.get("numpy_traced_peak_bytes")
            note = f"minicnn spread {100 * spread:.0f}%" + (f", NumPy buffers {mib(traced)} MiB" if traced else "")
            rows.append([f"{size}x{size}", f"{mine} / {ref}", f"{a['seconds_per_step']:.3f}",
                         f"{b['seconds_per_step']:.3f}", f"{a['seconds_per_step'] / b['seconds_per_step']:.2f}x",
                         mib(a["peak_bytes"]), mib(b["peak_bytes"]),
                         f"{a['peak_bytes'] / b['peak_bytes']:.2f}x" if b["peak_bytes"] else "-",
                         note])
    headers = ["size", "minicnn / twin", "minicnn s/step", "twin s/step", "time ratio", "minicnn peak MiB",
               "twin peak MiB", "memory ratio", "note"]
    return markdown_table(headers, rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--steps", type=int, default=3, help="timed steps (after 1 warm-up)")
    ap.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run each implementation this many times, alternating them, and keep each one's "
                         "fastest round")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per subprocess")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for NumPy's BLAS and torch in every worker (default: their own defaults)")
    ap.add_argument("--worker", nargs=3, metavar=("IMPL", "SIZE", "STEPS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        impl, size, steps = args.worker
        return worker(impl, int(size), int(steps))

    from benchmarks.common import environment, write_results
    env = environment()
    skipped = skipped_impls(args.impls)
    results = best_of_rounds(args.impls, args.sizes, args.rounds, skipped,
                             lambda impl, size: run_one(impl, size, args.steps, args.timeout, args.threads),
                             "seconds_per_step", "step")
    tab = table(results, skipped, args.sizes)
    try:
        load_end = os.getloadavg()
    except OSError:
        load_end = None
    text = (f"{tab}\n\ndeep dream step (VGG19 to relu4_2, float32), median of {args.steps} steps after 1 "
            f"warm-up, best of {args.rounds} round(s); load average at start {env.get('loadavg_at_start')}, "
            f"at end {load_end}; threads per worker: "
            + ", ".join(f"{r['impl']} {r.get('threads')}" for r in results if r["size"] == args.sizes[0]))
    print(text)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M")
    name = f"deep_dream-{platform.node() or 'machine'}-{stamp}"
    path = write_results(name, {"benchmark": "deep_dream", "steps": args.steps, "rounds": args.rounds,
                                "threads": args.threads,
                                "sizes": args.sizes, "environment": env, "load_average_end": load_end,
                                "results": results, "skipped": skipped}, text)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main() or 0)
