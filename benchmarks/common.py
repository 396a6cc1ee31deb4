"""Timing utilities shared by the benchmarks.

* ``time_it``: warm-up calls, then repeated timed calls; median, min, max and spread.
  ``time_interleaved`` times several contenders taking turns (steadier ratios under load).
* ``matmul_peak_gflops``: the machine's own float32 NumPy matrix-multiply rate, measured in
  the same run, so achieved GFLOP/s can be read as a share of what the BLAS can do here.
* ``blas_info`` / ``thread_info``: which BLAS (and which kernel, e.g. OpenBLAS 'SkylakeX')
  runs NumPy's GEMMs with how many threads (threadpoolctl when installed, else the usual
  environment variables), and torch's intra-op thread count; ``limit_threads`` sets both.
* ``peak_memory``: peak bytes NumPy allocated while a function ran (tracemalloc sees NumPy's
  array buffers); run it separately from timing, tracing slows allocation down.
* ``markdown_table``, ``write_results``: a Markdown table and a JSON record under
  benchmarks/results/.

Benchmarks are scripts, not part of the library, so they may import numpy and torch directly.
"""
from __future__ import annotations

import json
import os
import pathlib
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass

import numpy as np

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"
ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
            "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE")


@dataclass
class Timing:
    """Seconds per call over ``repeats`` timed calls after ``warmup`` untimed ones."""
    median: float
    min: float
    max: float
    repeats: int

    @property
    def spread(self) -> float:
        """(max - min) / median: how noisy the samples were (0.1 = 10 %)."""
        return (self.max - self.min) / self.median if self.median > 0 else 0.0

    def as_dict(self):
        return {**asdict(self), "spread": self.spread}


def time_it(fn, warmup: int = 1, repeats: int = 5, sync=None) -> Timing:
    """Call ``fn()`` ``warmup`` times, then time ``repeats`` calls (``sync()`` after each, for GPUs)."""
    for _ in range(warmup):
        fn()
        if sync:
            sync()
    samples = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        samples.append(time.perf_counter() - t0)
    return Timing(statistics.median(samples), min(samples), max(samples), len(samples))


def time_interleaved(fns: dict, warmup: int = 1, repeats: int = 5, sync=None) -> dict:
    """Time several functions taking turns call by call: {name: Timing}.

    On a machine shared with other work the load drifts during a run; alternating the
    contenders exposes them to the same drift, so their ratio is far steadier than
    timing one after the other.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
            if sync:
                sync()
    samples = {name: [] for name in fns}
    for _ in range(max(1, repeats)):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            if sync:
                sync()
            samples[name].append(time.perf_counter() - t0)
    return {name: Timing(statistics.median(v), min(v), max(v), len(v)) for name, v in samples.items()}


def matmul_peak_gflops(n: int = 2048, repeats: int = 5, dtype=np.float32) -> dict:
    """Best and median GFLOP/s of an n x n float32 NumPy matmul (2 n^3 flops) in this process."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    t = time_it(lambda: np.matmul(a, b, out=out), warmup=1, repeats=repeats)
    flops = 2.0 * n ** 3
    return {"n": n, "dtype": np.dtype(dtype).name, "gflops_best": flops / t.min / 1e9,
            "gflops_median": flops / t.median / 1e9}


def blas_info() -> list[dict]:
    """NumPy's BLAS libraries: API, implementation, kernel architecture, threads, version."""
    try:
        import threadpoolctl
    except ImportError:
        return [{"source": "environment (threadpoolctl not installed)",
                 **{k: os.environ.get(k) for k in ENV_VARS}}]
    keep = ("user_api", "internal_api", "architecture", "num_threads", "threading_layer", "version",
            "prefix")
    return [{k: lib.get(k) for k in keep} for lib in threadpoolctl.threadpool_info()]


def thread_info() -> dict:
    """Thread counts: NumPy's BLAS (per library), torch intra-op threads, usable CPUs."""
    info = {"blas": blas_info(), "cpus_usable": _usable_cpus()}
    try:
        import torch
        info["torch_threads"] = torch.get_num_threads()
        info["torch_version"] = torch.__version__
    except ImportError:
        info["torch_threads"] = None
    return info


_limiters = []


def limit_threads(n: int) -> bool:
    """Use ``n`` threads in NumPy's BLAS (needs threadpoolctl) and in torch for the rest of the run.

    Returns whether the BLAS limit could be applied. With one thread each, timings on a
    machine shared with other work are far steadier (no thread waiting for a descheduled peer).
    """
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass
    try:
        import threadpoolctl
    except ImportError:
        return False
    _limiters.append(threadpoolctl.threadpool_limits(limits=n, user_api="blas"))
    return True


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def _cpu_model():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """Where the numbers come from: versions, CPU, threads, relevant env vars, load."""
    env = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "env": {k: os.environ.get(k) for k in ENV_VARS if os.environ.get(k) is not None},
        **thread_info(),
    }
    try:
        env["loadavg_at_start"] = os.getloadavg()
    except OSError:
        pass
    return env


def peak_memory(fn) -> int:
    """Peak bytes allocated (NumPy buffers included) while ``fn()`` runs, above the start level."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return max(0, peak - start)


def markdown_table(headers, rows) -> str:
    """A GitHub-flavoured Markdown table; numbers are expected pre-formatted as strings."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    fmt = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    lines = [fmt([str(h) for h in headers]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def write_results(name: str, data: dict, table: str | None = None) -> pathlib.Path:
    """Write benchmarks/results/<name>.json (and <name>.md with ``table``); return the JSON path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default))
    tmp.replace(path)
    if table is not None:
        md = RESULTS_DIR / f"{name}.md"
        md.write_text(table + "\n")
    return path


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Timing):
        return o.as_dict()
    return str(o)


def fmt_ms(t: Timing) -> str:
    """'12.3 ±4%' : median milliseconds and spread."""
    return f"{t.median * 1e3:.1f} ±{t.spread * 100:.0f}%"


# --- subprocess workers (one process per implementation, so peaks are not shared) ----------

def rss_now() -> int:
    """This process's resident set size in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    """This process's peak resident set in bytes: VmHWM, its own address space's high-water mark.

    Not ``ru_maxrss``: on Linux that survives fork + exec, so a worker started by a parent
    that had imported torch would report the parent's size as its own peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def gpu_reason(impl: str):
    """Why GPU implementation ``impl`` ('minicnn-cupy' or 'torch-cuda') cannot run here, or None."""
    if impl == "minicnn-cupy":
        from minicnn import backend as be
        return None if be.cupy_available() else be.cupy_unavailable_reason()
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    return None if torch.cuda.is_available() else "torch.cuda.is_available() is False (no CUDA GPU)"


def run_worker(module: str, args, what: str, timeout=1800, threads=None, env=None) -> dict:
    """Run ``python -m module --worker *args`` and return the JSON on its ``RESULT`` line."""
    import subprocess
    full_env = dict(os.environ, **(env or {}))
    if threads:
        full_env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
        full_env["BENCH_TORCH_THREADS"] = str(threads)
    p = subprocess.run([sys.executable, "-m", module, "--worker", *map(str, args)], capture_output=True,
                       text=True, timeout=timeout, env=full_env,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{what} failed (exit {p.returncode}):\n{p.stderr[-2000:]}")


def mib(n) -> str:
    return f"{n / 2 ** 20:.0f}"


def skipped_impls(impls) -> dict:
    """{impl: reason} for the GPU implementations among ``impls`` that cannot run here (each printed)."""
    skipped = {}
    for impl in impls:
        reason = gpu_reason(impl) if impl in ("minicnn-cupy", "torch-cuda") else None
        if reason:
            skipped[impl] = reason
            print(f"{impl}: skipped ({reason})", file=sys.stderr)
    return skipped


def best_of_rounds(impls, sizes, rounds, skipped, run, key, unit) -> list[dict]:
    """Run ``run(impl, size)`` ``rounds`` times per size, implementations taking turns, and keep
    each implementation's fastest result by ``key`` (the others' values go to ``rounds_<key>``)."""
    results = []
    for size in sizes:
        per_impl = {}
        for k in range(rounds):
            for impl in impls:
                if impl in skipped:
                    continue
                print(f"{impl} at {size}x{size} (round {k + 1}/{rounds}) ...", file=sys.stderr, flush=True)
                r = run(impl, size)
                print(f"  {r[key]:.3f} s/{unit}, peak {mib(r['peak_bytes'])} MiB", file=sys.stderr, flush=True)
                per_impl.setdefault(impl, []).append(r)
        for rs in per_impl.values():
            best = min(rs, key=lambda r: r[key])
            best[f"rounds_{key}"] = [r[key] for r in rs]
            best["rounds_peak_bytes"] = [r["peak_bytes"] for r in rs]
            results.append(best)
    return results
