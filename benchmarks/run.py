"""The backend benchmark suite: the same work on minicnn (NumPy, CuPy) and torch (CPU, CUDA) in one run.

    python -m benchmarks.run --quick          # every case family at small sizes (< 5 min on 2 cores)
    python -m benchmarks.run --full           # the sizes of the issue (VGG layers at 256, VGG19 at 512 ...)
    python -m benchmarks.run --quick --only conv2d,vgg19 --threads 1

Writes benchmarks/results/<machine>-<date>[-quick].json, the same name .md (the table) and
PNG plots (-time, -ratio, -gflops, -memory); see benchmarks/README.md for how to read them.

How each number is taken (in this process, case after case):

* every backend's call is built on the same inputs and weights; each runs ``warmup`` untimed
  calls (the first torch-cpu call counts the FLOPs with torch.utils.flop_counter where the
  case has no analytic count), then one call measuring the peak memory, then the timed calls,
  minicnn and its torch rival TAKING TURNS call by call (``time_turns``: ``common.time_interleaved``
  reading two clocks), so both see the same drift of a machine shared with other work;
* two clocks are read around every call: the wall clock and the process's CPU time. The table,
  ratios and plots use the wall clock, or with ``--clock cpu`` (only with ``--threads 1``) the
  CPU time, which on a busy machine is the steadier estimate of the idle-machine wall time;
  both are in the JSON. GPU cases and the subprocess cases always use the wall clock; the
  subprocess cases run ``rounds`` times per backend, the backends alternating (``merge_rounds``);
* the number of timed calls is ``repeats``, fewer (not under ``min_repeats``) when a call is
  slow enough that ``repeats`` would exceed the per-case ``budget`` seconds, more (up to
  ``max_repeats``) when a call is so fast that the extra calls take under ``EXTRA_SECONDS``:
  a call of a few milliseconds is the one a stray interruption distorts most;
* median, min, max and spread = (max - min) / median are reported; ratios are of medians, and
  where both sides took turns also paired (``paired_ratio``: the median over turns of the
  ratio of the two calls of a turn), which cancels load that drifts over a case;
* GPU backends: the device is synchronised (``minicnn.backend.synchronize`` / 
  ``torch.cuda.synchronize``) after every call, before the clock is read;
* peak memory, CPU backends: the growth of the process's peak resident set over its size just
  before the call (Linux: the peak is reset through /proc/self/clear_refs and read from VmHWM,
  after ``gc.collect()`` and glibc ``malloc_trim(0)`` so memory freed by earlier calls is not
  silently reused). The same measure for NumPy and torch, so the two compare; it includes
  everything the call touches (temporaries, gradients, workspace, allocator overhead).
  GPU backends: the device allocator's growth (CuPy's memory pool after ``free_all_blocks``,
  ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``);
* GFLOP/s = FLOPs / median time, and as a share of the float32 NumPy matmul rate measured in
  the same run (``common.matmul_peak_gflops``, best of its repeats, measured at the start and
  at the end; the better of the two is the reference);
* cases where minicnn-numpy is slower than ``--profile-over`` (1.5) x torch-cpu get one
  extra minicnn call under cProfile; its top functions go into the JSON and the Markdown.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: on some machines these are set and make NumPy's GEMMs
slow; the runner re-executes itself without them (``--keep-openblas-env`` to keep them) and
records what it removed and which BLAS kernel actually ran (threadpoolctl).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
import time

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_REMOVED_ENV = "MINICNN_BENCH_REMOVED_ENV"
SCHEMA = 1
EXTRA_SECONDS = 2.0     # per backend and case: the most that the extra calls of fast cases may take


# --- the environment -------------------------------------------------------------------------------

def reexec_without_openblas_vars(argv):
    """Re-run this module without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (BLAS reads them at load time)."""
    found = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    if not found or "--keep-openblas-env" in argv or "-h" in argv or "--help" in argv:
        return
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    env[_REMOVED_ENV] = json.dumps(found)
    print(f"benchmarks.run: re-running without {', '.join(f'{k}={v}' for k, v in found.items())} "
          "(--keep-openblas-env keeps them)", file=sys.stderr, flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks.run", *argv], env)


def machine_name():
    """<hostname>-<N>cpu[-<gpu>]: where the numbers were taken, safe as a file name."""
    name = platform.node() or "machine"
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 0
    name += f"-{cpus}cpu"
    try:
        import torch
        if torch.cuda.is_available():
            name += "-" + torch.cuda.get_device_name(0).split()[-1]
    except Exception:  # noqa: BLE001 - a name is best effort
        pass
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "machine"


def _meminfo_total():
    try:
        import psutil
        return psutil.virtual_memory().total
    except ImportError:
        return None


# --- peak memory -----------------------------------------------------------------------------------

class MemoryProbe:
    """Peak memory growth of one call on a backend (see the module docstring)."""

    def __init__(self):
        self.reason = None
        self._libc = None
        if not sys.platform.startswith("linux"):
            self.reason = "peak RSS reset needs Linux (/proc/self/clear_refs)"
            return
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._status("VmHWM")
        except (OSError, ValueError) as exc:
            self.reason = f"cannot reset the peak resident set ({exc})"
        try:
            import ctypes
            self._libc = ctypes.CDLL("libc.so.6")
            self._libc.malloc_trim
        except (OSError, AttributeError):
            self._libc = None

    @staticmethod
    def _status(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        raise ValueError(f"{key} not in /proc/self/status")

    def _settle(self):
        import gc
        gc.collect()
        if self._libc is not None:
            self._libc.malloc_trim(0)

    def measure(self, backend, fn, sync=None):
        """Bytes of peak growth during ``fn()``, or None when it cannot be measured here."""
        if backend == "minicnn-cupy":
            from minicnn import backend as be
            pool = be.get_backend("cupy").xp.get_default_memory_pool()
            be.synchronize("cupy")
            self._settle()
            pool.free_all_blocks()
            base = pool.total_bytes()
            fn()
            be.synchronize("cupy")
            return max(0, pool.total_bytes() - base)
        if backend == "torch-cuda":
            import torch
            torch.cuda.synchronize()
            self._settle()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            fn()
            torch.cuda.synchronize()
            return max(0, torch.cuda.max_memory_allocated() - base)
        if self.reason:
            fn()
            return None
        self._settle()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = self._status("VmRSS")
        fn()
        if sync:
            sync()
        return max(0, self._status("VmHWM") - base)


MEMORY_METHOD = ("CPU: growth of the process's peak resident set during one call (peak reset via "
                 "/proc/self/clear_refs, read from VmHWM, after gc.collect and malloc_trim); GPU: growth of the "
                 "device allocator (CuPy memory pool / torch.cuda.max_memory_allocated)")


# --- profiles ---------------------------------------------------------------------------------------

def _where(filename, line, func, root):
    if filename == "~":
        return func
    path = os.path.abspath(filename)
    if "site-packages" + os.sep in path:
        path = path.split("site-packages" + os.sep, 1)[1]
    elif path.startswith(root + os.sep):
        path = os.path.relpath(path, root)
    return f"{path}:{line}({func})"


def _summarize(stats, top=12):
    """Top functions of a pstats.Stats by own time, and minicnn's / algorithms' by cumulative time."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    total = stats.total_tt or 1e-12
    rows = list(stats.stats.items())
    entry = lambda k, v: {"function": _where(*k, root), "ncalls": v[1], "tottime": v[2], "cumtime": v[3],  # noqa: E731
                          "tottime_share": v[2] / total, "cumtime_share": v[3] / total}
    own = sorted(rows, key=lambda kv: -kv[1][2])[:top]
    ours = [kv for kv in rows if any(s in kv[0][0] for s in (os.sep + "minicnn" + os.sep,
                                                             os.sep + "algorithms" + os.sep))]
    cum = sorted(ours, key=lambda kv: -kv[1][3])[:top]
    return {"total_seconds": total, "by_own_time": [entry(*kv) for kv in own],
            "minicnn_by_cumulative_time": [entry(*kv) for kv in cum]}


def profile_call(fn, top=12):
    """One call of ``fn`` under cProfile, summarised (see ``_summarize``)."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    return _summarize(pstats.Stats(prof), top)


def profile_worker(module, args, timeout=1800, top=12):
    """A benchmark script's worker run (``python -m MODULE --worker minicnn-numpy ARGS``) under cProfile.

    Used for the cases timed in subprocesses (style transfer, deep dream): the profile covers
    the whole worker, model building and the warm-up step or iteration included.
    """
    import pstats
    import subprocess
    import tempfile
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "worker.prof")
        cmd = [sys.executable, "-m", "cProfile", "-o", out, "-m", module, "--worker", "minicnn-numpy", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=root)
        if p.returncode or not os.path.exists(out):
            raise RuntimeError(f"{' '.join(cmd[1:])} failed (exit {p.returncode}): {p.stderr[-300:]}")
        summary = _summarize(pstats.Stats(out), top)
    summary["command"] = "python " + " ".join(cmd[1:4] + ["WORKER.prof"] + cmd[5:])
    return summary


# --- measuring one case ---------------------------------------------------------------------------

CLOCKS = ("wall", "cpu")


def time_turns(fns: dict, repeats: int, sync=None) -> dict:
    """``common.time_interleaved`` reading two clocks per call: {name: {'wall': Timing, 'cpu': Timing,
    'samples': {'wall': [...], 'cpu': [...]}}}, the samples in turn order (for paired ratios).

    'wall' is ``time.perf_counter``; 'cpu' is ``time.process_time``, the CPU time the process
    used. With one thread per library (``--threads 1``) the CPU time is the wall time the call
    would take on an idle machine, and it does not grow when other work takes the CPU away,
    which makes it the steadier clock on a shared machine. With several threads it adds up
    the threads' time and is not comparable with the wall clock. GPU work needs the wall clock.
    """
    import statistics
    from benchmarks.common import Timing
    samples = {name: {"wall": [], "cpu": []} for name in fns}
    for _ in range(max(1, repeats)):
        for name, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            if sync:
                sync()
            t1, c1 = time.perf_counter(), time.process_time()
            samples[name]["wall"].append(t1 - t0)
            samples[name]["cpu"].append(max(c1 - c0, 1e-9))
    out = {name: {k: Timing(statistics.median(v), min(v), max(v), len(v)) for k, v in clocks.items()}
           for name, clocks in samples.items()}
    for name in out:
        out[name]["samples"] = samples[name]
    return out


def _count_flops(fn):
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def _err(exc):
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:400]


def measure_case(case, usable, cfg, probe, peak_gflops):
    """Run ``case`` on the ``usable`` backends; return its JSON record."""
    from benchmarks.cases import BACKENDS, PAIRS, sync_for
    rec = {k: getattr(case, k) for k in ("name", "family", "group", "shape", "batch", "mode", "size", "flops",
                                         "vgg", "notes")}
    results = {b: {"skipped": reason} for b, reason in usable.items() if reason}
    rec["results"] = results
    if case.skipped:
        for b in BACKENDS:
            results[b] = {"skipped": case.skipped}
        return rec
    run_on = [b for b in BACKENDS if usable.get(b) is None]
    if case.external is not None:
        rounds = {b: [] for b in run_on}
        for _ in range(cfg.rounds):
            for b in run_on:
                if "error" in results.get(b, {}):
                    continue
                try:
                    rounds[b].append(case.external(b, {"threads": cfg.threads, "clock": cfg.clock}))
                except Exception as exc:  # noqa: BLE001 - one failed backend must not end the run
                    results[b] = {"error": _err(exc)}
        for b, rs in rounds.items():
            if rs and "error" not in results.get(b, {}):
                results[b] = merge_rounds(rs)
        _finish(rec, peak_gflops)
        worker = case.meta.get("worker")
        ratio = rec["ratios"].get("minicnn-numpy/torch-cpu")
        if cfg.profile_over and worker and ratio and ratio["median"] > cfg.profile_over:
            try:
                rec["profile"] = profile_worker(worker[0], worker[1:])
            except Exception as exc:  # noqa: BLE001
                rec["profile"] = {"error": _err(exc)}
        return rec

    fns = {}
    for b in run_on:
        try:
            fns[b] = case.build(b)
        except Exception as exc:  # noqa: BLE001
            results[b] = {"error": _err(exc)}
    counted = None
    for pair in PAIRS:
        group = {b: fns[b] for b in pair if b in fns}
        if not group:
            continue
        sync = sync_for(group)
        slowest = 0.0
        for b in list(group):
            fn = group[b]
            try:
                for i in range(cfg.warmup):
                    t0 = time.perf_counter()
                    if i == 0 and case.flops is None and counted is None and b.startswith("torch"):
                        counted = _count_flops(fn)
                    else:
                        fn()
                    if sync:
                        sync()
                    slowest = max(slowest, time.perf_counter() - t0)
                results[b] = {}
                if cfg.memory:
                    t0 = time.perf_counter()
                    results[b]["peak_bytes"] = probe.measure(b, fn, sync)
                    slowest = max(slowest, time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001
                results[b] = {"error": _err(exc)}
                del group[b]
        if not group:
            continue
        repeats = timed_calls(cfg, slowest)
        try:
            timings = time_turns(group, repeats=repeats, sync=sync)
        except Exception as exc:  # noqa: BLE001
            for b in group:
                results[b] = {"error": _err(exc)}
            continue
        clock = "wall" if sync else cfg.clock        # GPU work is timed by the wall clock only
        for b, t in timings.items():
            results[b].update(t[clock].as_dict())
            results[b]["clock"] = clock
            for k in CLOCKS:
                results[b][k] = t[k].as_dict()
            results[b]["samples"] = [round(v, 7) for v in t["samples"][clock]]
    if case.flops is None and counted:
        rec["flops"] = counted
        rec["flops_source"] = "torch.utils.flop_counter on the torch twin"
    elif case.flops:
        rec["flops_source"] = "analytic (benchmarks/bench_ops.py)"
    _finish(rec, peak_gflops)
    ratio = rec["ratios"].get("minicnn-numpy/torch-cpu")
    if cfg.profile_over and ratio and ratio["median"] > cfg.profile_over and "minicnn-numpy" in fns:
        try:
            rec["profile"] = profile_call(fns["minicnn-numpy"])
        except Exception as exc:  # noqa: BLE001
            rec["profile"] = {"error": _err(exc)}
    return rec


def merge_rounds(rounds):
    """One record from the rounds of a subprocess case: the median, min and max over all their
    timed steps, the largest peak memory, and each round's median (``rounds``, in run order)."""
    import statistics
    steps = [v for r in rounds for v in r["samples"]]
    med = statistics.median(steps)
    out = {**rounds[0], "median": med, "min": min(steps), "max": max(steps), "repeats": len(steps),
           "spread": (max(steps) - min(steps)) / med if med > 0 else 0.0,
           "peak_bytes": max((r["peak_bytes"] for r in rounds if r.get("peak_bytes") is not None), default=None),
           "samples": steps, "rounds": [r["median"] for r in rounds]}
    return out


def paired_ratio(mine, rival):
    """Median over turns of (minicnn call / the torch call of the same turn), or None without
    per-turn samples (cases timed in subprocesses). The two calls of a turn run seconds apart,
    so load that comes and goes over a run hits both and cancels in their ratio; the ratio of
    the two medians mixes calls from different moments."""
    if not mine or not rival or len(mine) != len(rival) or min(rival) <= 0:
        return None
    import statistics
    return statistics.median(a / b for a, b in zip(mine, rival))


def _finish(rec, peak_gflops):
    from benchmarks.cases import PAIRS
    flops = rec.get("flops")
    for r in rec["results"].values():
        if "median" in r and flops:
            r["gflops"] = flops / r["median"] / 1e9
            r["share_of_matmul_peak"] = r["gflops"] / peak_gflops if peak_gflops else None
    ratios = {}
    for mine, rival in PAIRS:
        a, b = rec["results"].get(mine, {}), rec["results"].get(rival, {})
        if "median" in a and "median" in b and b["median"] > 0 and b["min"] > 0:
            ratios[f"{mine}/{rival}"] = {"median": a["median"] / b["median"], "best": a["min"] / b["min"]}
            # subprocess cases pair their alternating rounds, the others their turns
            turns = "rounds" if "rounds" in a and "rounds" in b else "samples"
            paired = paired_ratio(a.get(turns), b.get(turns))
            if paired is not None:
                ratios[f"{mine}/{rival}"]["paired"] = paired
            if a.get("peak_bytes") and b.get("peak_bytes"):
                ratios[f"{mine}/{rival}"]["memory"] = a["peak_bytes"] / b["peak_bytes"]
    rec["ratios"] = ratios


# --- the run ----------------------------------------------------------------------------------------

def timed_calls(cfg, slowest):
    """How many timed calls a case gets when its slowest untimed call took ``slowest`` seconds:
    ``repeats``; fewer (not under ``min_repeats``) to stay within ``budget``; more (up to
    ``max_repeats``) while the extra calls take under ``EXTRA_SECONDS``."""
    if slowest <= 0:
        return cfg.repeats
    n = max(cfg.min_repeats, min(cfg.repeats, int(cfg.budget / slowest)))
    return max(n, min(cfg.max_repeats, int(EXTRA_SECONDS / slowest)))


class Config:
    def __init__(self, preset, args):
        from benchmarks.cases import PRESETS
        p = PRESETS[preset]
        self.preset = preset
        self.repeats = args.repeats or p["repeats"]
        self.min_repeats = min(self.repeats, args.min_repeats or p["min_repeats"])
        # an explicit --repeats is the number of calls unless --max-repeats says otherwise
        self.max_repeats = max(self.repeats, args.max_repeats or (self.repeats if args.repeats else p["max_repeats"]))
        self.warmup = p["warmup"] if args.warmup is None else args.warmup
        self.budget = args.budget if args.budget is not None else p["budget"]
        self.peak_n = args.peak_n or p["peak_n"]
        self.memory = not args.no_memory
        self.profile_over = None if args.no_profile else args.profile_over
        self.clock = args.clock
        self.threads = args.threads
        self.rounds = args.rounds or p["rounds"]

    def as_dict(self):
        return dict(vars(self))


def _progress(rec, i, n):
    parts = []
    for b, r in rec["results"].items():
        if "median" in r:
            parts.append(f"{b} {r['median'] * 1e3:.4g} ms")
        elif "error" in r:
            parts.append(f"{b} ERROR {r['error']}")
    for k, v in rec.get("ratios", {}).items():
        parts.append(f"{k} {v['median']:.2f}x")
    print(f"[{i}/{n}] {rec['name']}: " + ", ".join(parts), file=sys.stderr, flush=True)


def _write_json(path, data):
    from benchmarks.common import _json_default
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=_json_default))
    tmp.replace(path)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_const", const="quick", dest="preset",
                   help="every case family at small sizes, a smoke run (under 5 minutes on 2 cores)")
    g.add_argument("--full", action="store_const", const="full", dest="preset",
                   help="the sizes of the issue (the default)")
    g.add_argument("--preset", choices=("tiny", "quick", "full"), help="tiny: the runner's own test set")
    ap.add_argument("--only", help="run only cases whose name contains one of these comma-separated texts")
    ap.add_argument("--backends", help="comma-separated subset of minicnn-numpy,torch-cpu,minicnn-cupy,torch-cuda "
                                       "(the others are listed as skipped)")
    ap.add_argument("--threads", type=int, help="threads for NumPy's BLAS (threadpoolctl) and torch "
                                                "(default: their own defaults)")
    ap.add_argument("--repeats", type=int, help="timed calls per backend and case (default 3 quick, 5 full)")
    ap.add_argument("--min-repeats", type=int, help="never fewer timed calls than this (default 2 quick, 3 full)")
    ap.add_argument("--max-repeats", type=int, help="fast cases get up to this many timed calls while they take "
                                                    f"under {EXTRA_SECONDS:g} s (default 9 quick, 25 full)")
    ap.add_argument("--warmup", type=int, help="untimed calls first (default 1)")
    ap.add_argument("--rounds", type=int, help="the subprocess cases (deep dream, style transfer) run this many "
                    "times per backend, backends alternating (default 1 quick, 2 full)")
    ap.add_argument("--budget", type=float, help="seconds of timed calls per backend and case; slow cases get "
                                                  "fewer repeats (default 3 quick, 30 full)")
    ap.add_argument("--peak-n", type=int, help="matrix side of the float32 matmul peak measurement")
    ap.add_argument("--clock", choices=CLOCKS, default="wall",
                    help="what the table, ratios and plots use: wall = elapsed time (default); cpu = the "
                         "process's CPU time, steadier on a busy machine but only meaningful with --threads 1 "
                         "(both are always recorded; GPU cases and the subprocess cases use the wall clock)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory calls")
    ap.add_argument("--no-profile", action="store_true", help="do not profile slow minicnn-numpy cases")
    ap.add_argument("--profile-over", type=float, default=1.5,
                    help="profile minicnn-numpy where it is slower than this x torch-cpu (default 1.5)")
    ap.add_argument("--no-plots", action="store_true", help="write JSON and Markdown only")
    ap.add_argument("--out", help="folder for the results (default benchmarks/results)")
    ap.add_argument("--name", help="file stem (default <machine>-<date>, '-quick' added for --quick)")
    ap.add_argument("--machine", help="machine name in the file stem (default <hostname>-<N>cpu[-gpu])")
    ap.add_argument("--keep-openblas-env", action="store_true",
                    help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (by default the run re-executes without them)")
    args = ap.parse_args(argv)
    if args.clock == "cpu" and args.threads != 1:
        ap.error("--clock cpu needs --threads 1 (with several threads the CPU time adds up the threads' time)")
    for k in ("repeats", "min_repeats", "max_repeats", "threads", "peak_n", "rounds"):
        v = getattr(args, k)
        if v is not None and v < 1:
            ap.error(f"--{k.replace('_', '-')} must be a positive integer, got {v}")
    if args.warmup is not None and args.warmup < 0:
        ap.error(f"--warmup must be >= 0, got {args.warmup}")
    if args.budget is not None and args.budget < 0:
        ap.error(f"--budget must be >= 0, got {args.budget}")
    return args


def main(argv=None):
    args = parse_args(argv)
    preset = args.preset or "full"
    import pathlib
    from benchmarks import report
    from benchmarks.cases import BACKENDS, backend_status, build_cases
    from benchmarks.common import RESULTS_DIR, environment, limit_threads, matmul_peak_gflops
    cfg = Config(preset, args)
    t_start = time.perf_counter()
    if args.threads:
        limit_threads(args.threads)
        # the subprocess cases (style transfer, deep dream) read the thread count from the environment
        for k in THREAD_VARS:
            os.environ[k] = str(args.threads)
    status = backend_status()
    if args.backends:
        chosen = [b.strip() for b in args.backends.split(",") if b.strip()]
        bad = [b for b in chosen if b not in BACKENDS]
        if bad:
            raise SystemExit(f"benchmarks.run: unknown backend {bad[0]!r}; choose from {', '.join(BACKENDS)}")
        status = {b: (r if b in chosen else (r or "not selected (--backends)")) for b, r in status.items()}
    for b, r in status.items():
        if r:
            print(f"{b}: skipped ({r})", file=sys.stderr)
    env = environment()
    removed = os.environ.get(_REMOVED_ENV)
    env["openblas_env_removed"] = json.loads(removed) if removed else {}
    env["openblas_env_kept"] = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    env["memory_total_bytes"] = _meminfo_total()
    env["threads_requested"] = args.threads
    machine = args.machine or machine_name()
    date = datetime.date.today().isoformat()
    stem = args.name or f"{machine}-{date}" + ("" if preset == "full" else f"-{preset}")
    out = pathlib.Path(args.out) if args.out else RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{stem}.json"

    print(f"measuring the float32 matmul peak (n={cfg.peak_n}) ...", file=sys.stderr, flush=True)
    peak = matmul_peak_gflops(n=cfg.peak_n, repeats=3 if preset == "tiny" else 5)
    cases = build_cases(preset, args.only)
    data = {"schema": SCHEMA, "suite": "minicnn backend benchmarks", "preset": preset, "machine": machine,
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "command": ["python", "-m", "benchmarks.run",
                                                                                    *(argv if argv is not None
                                                                                      else sys.argv[1:])],
            "config": cfg.as_dict(), "environment": env, "backends": status, "memory_method": MEMORY_METHOD,
            "matmul_peak": peak, "cases": [], "complete": False}
    probe = MemoryProbe()
    if probe.reason:
        data["memory_method"] += f" -- CPU peaks not measured here: {probe.reason}"
    for i, case in enumerate(cases, 1):
        rec = measure_case(case, status, cfg, probe, peak["gflops_best"])
        data["cases"].append(rec)
        _progress(rec, i, len(cases))
        _write_json(json_path, data)
    data["matmul_peak_after"] = matmul_peak_gflops(n=cfg.peak_n, repeats=3 if preset == "tiny" else 5)
    # the machine's rate is the better of the two measurements (other work may have slowed one down)
    ref = max(peak["gflops_best"], data["matmul_peak_after"]["gflops_best"])
    data["matmul_peak_reference_gflops"] = ref
    for rec in data["cases"]:
        for r in rec["results"].values():
            if r.get("gflops") is not None:
                r["share_of_matmul_peak"] = r["gflops"] / ref
    try:
        data["environment"]["loadavg_at_end"] = os.getloadavg()
    except OSError:
        pass
    data["runtime_seconds"] = time.perf_counter() - t_start
    data["complete"] = True
    _write_json(json_path, data)
    paths = report.write_report(data, json_path, plots=not args.no_plots)
    print(report.markdown(data))
    print("\nwrote " + ", ".join(str(p) for p in [json_path, *paths]), file=sys.stderr)
    return data


if __name__ == "__main__":
    reexec_without_openblas_vars(sys.argv[1:])
    main()
