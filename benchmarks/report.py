"""Results of ``benchmarks.run`` (JSON) -> a Markdown table and PNG plots.

    python -m benchmarks.report benchmarks/results/vm-2cpu-2025-01-01.json            # rewrite .md and .png
    python -m benchmarks.report RESULT.json --readme benchmarks/README.md             # and README's table

Plots (next to the JSON, same stem):

* ``-time.png``    median time per call against the size of the work, one panel per family
                   (x: FLOPs where counted, else input elements; whiskers: min..max), log-log;
* ``-ratio.png``   minicnn time / torch time per case (1 = as fast; lines at 1.2x and 1.5x);
* ``-gflops.png``  achieved GFLOP/s per case and backend, with the machine's measured float32
                   NumPy matmul rate (and 60 % of it) drawn as vertical lines;
* ``-memory.png``  peak memory growth per call, per case and backend.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib

BACKENDS = ("minicnn-numpy", "torch-cpu", "minicnn-cupy", "torch-cuda")
PAIRS = (("minicnn-numpy", "torch-cpu"), ("minicnn-cupy", "torch-cuda"))
COLORS = {"minicnn-numpy": "#1f77b4", "torch-cpu": "#ff7f0e", "minicnn-cupy": "#2ca02c", "torch-cuda": "#d62728"}
SLOW = 1.5
README_START, README_END = "<!-- latest-cpu-results:start -->", "<!-- latest-cpu-results:end -->"


# --- formatting ---------------------------------------------------------------------------------

def fmt_ms(seconds):
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:,.0f}".replace(",", " ")
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def fmt_time(r, clock=None):
    if r is None:
        return "-"
    if "median" in r:
        mark = " †" if clock and r.get("clock", clock) != clock else ""
        return f"{fmt_ms(r['median'])} ±{100 * r.get('spread', 0):.0f}%{mark}"
    if "error" in r:
        return "error"
    return "skipped"


def fmt_mib(r):
    b = (r or {}).get("peak_bytes")
    if b is None:
        return "-"
    mib = b / 2 ** 20
    return f"{mib:.0f}" if mib >= 10 else f"{mib:.1f}"


def fmt_gflops(r, with_share=True):
    g = (r or {}).get("gflops")
    if g is None:
        return "-"
    s = f"{g:.1f}" if g < 10 else f"{g:.0f}"
    share = r.get("share_of_matmul_peak")
    if with_share and share is not None:
        s += f" ({100 * share:.0f}%)"
    return s


def _table(headers, rows):
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def ran(data, backend):
    """Whether ``backend`` produced at least one timing in this run."""
    return any("median" in c["results"].get(backend, {}) for c in data["cases"])


# --- Markdown --------------------------------------------------------------------------------------

def results_table(data) -> str:
    pairs = [p for p in PAIRS if ran(data, p[0]) or ran(data, p[1])] or [PAIRS[0]]
    short = {"minicnn-numpy": "numpy", "torch-cpu": "torch", "minicnn-cupy": "cupy", "torch-cuda": "cuda"}
    headers = ["case"]
    for mine, rival in pairs:
        headers += [f"{mine} ms", f"{rival} ms", f"{short[mine]} / {short[rival]}", "paired",
                    f"{short[mine]} GFLOP/s (% of peak)", f"{short[rival]} GFLOP/s",
                    f"{short[mine]} MiB", f"{short[rival]} MiB"]
    clock = data.get("config", {}).get("clock", "wall")
    rows = []
    for c in data["cases"]:
        row = [c["name"]]
        for mine, rival in pairs:
            a, b = c["results"].get(mine), c["results"].get(rival)
            ratio = c.get("ratios", {}).get(f"{mine}/{rival}")
            flag = " **!**" if ratio and ratio["median"] > SLOW and mine == "minicnn-numpy" else ""
            paired = ratio.get("paired") if ratio else None
            row += [fmt_time(a, clock), fmt_time(b, clock), f"{ratio['median']:.2f}x{flag}" if ratio else "-",
                    f"{paired:.2f}x" if paired is not None else "-",
                    fmt_gflops(a), fmt_gflops(b, False), fmt_mib(a), fmt_mib(b)]
        rows.append(row)
    return _table(headers, rows)


def _blas_line(env):
    parts = []
    for b in env.get("blas", []):
        if "internal_api" in b:
            parts.append(f"{b.get('internal_api')} {b.get('version')} (kernel {b.get('architecture')}, "
                         f"{b.get('num_threads')} threads)")
        else:
            parts.append(str(b))
    return "; ".join(parts) or "unknown"


def summary_lines(data) -> list[str]:
    env, peak = data["environment"], data["matmul_peak"]
    after = data.get("matmul_peak_after")
    load0, load1 = env.get("loadavg_at_start"), env.get("loadavg_at_end")
    fl = lambda v: "/".join(f"{x:.1f}" for x in v) if v else "?"  # noqa: E731
    removed = env.get("openblas_env_removed") or {}
    kept = env.get("openblas_env_kept") or {}
    openblas = ("removed for this run: " + ", ".join(f"{k}={v}" for k, v in removed.items()) if removed
                else "kept: " + ", ".join(f"{k}={v}" for k, v in kept.items()) if kept else "not set")
    skipped = [f"{b} ({r})" for b, r in data["backends"].items() if r]
    used = [b for b in BACKENDS if not data["backends"].get(b)]
    cfg = data.get("config", {})
    lines = [
        f"- machine: {data['machine']}, {env.get('cpu')}, {env.get('cpus_usable')} usable CPUs; "
        f"load average (1/5/15 min) {fl(load0)} at the start, {fl(load1)} at the end",
        f"- NumPy {env.get('numpy')} BLAS: {_blas_line(env)}; torch {env.get('torch_version')} with "
        f"{env.get('torch_threads')} threads; Python {env.get('python')}",
        f"- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: {openblas}",
        f"- float32 NumPy matmul peak (n={peak['n']}): {peak['gflops_best']:.0f} GFLOP/s at the start"
        + (f", {after['gflops_best']:.0f} at the end" if after else "")
        + f" (the % of peak column uses {data.get('matmul_peak_reference_gflops', peak['gflops_best']):.0f})",
        f"- backends run: {', '.join(used)}" + (f"; skipped: {'; '.join(skipped)}" if skipped else ""),
        f"- timing: {cfg.get('warmup')} warm-up call(s), then "
        f"{cfg.get('repeats') if cfg.get('min_repeats') == cfg.get('repeats') else str(cfg.get('min_repeats')) + '-' + str(cfg.get('repeats'))} timed "
        f"calls per backend (fewer for slow cases, within {cfg.get('budget')} s"
        + (f"; up to {cfg['max_repeats']} for fast ones" if cfg.get("max_repeats", 0) > (cfg.get("repeats") or 0)
           else "") + "), minicnn and torch taking turns; "
        "median ±spread, spread = (max - min) / median; `numpy / torch` is the ratio of the medians, "
        "`paired` the median over turns of the ratio of the two calls of a turn (load that drifts over a "
        "case cancels in it)",
        ("- clock: the process's CPU time (`--clock cpu`, one thread per library: what a call takes when it has "
         "a core to itself, steadier than the wall clock on a busy machine; wall-clock medians are in the JSON); "
         "† marks wall-clock times (the subprocess cases, GPU cases)" if cfg.get("clock") == "cpu"
         else "- clock: wall (elapsed) time"),
        f"- peak memory: {data.get('memory_method')}",
    ]
    if data.get("runtime_seconds") is not None:
        lines.append(f"- preset {data['preset']}, {len(data['cases'])} cases, "
                     f"run took {data['runtime_seconds']:.0f} s")
    if not data.get("complete", True):
        lines.append("- **incomplete run** (stopped before the last case)")
    return lines


def _paired_or_median(ratio):
    return ratio.get("paired", ratio["median"])


def goal_lines(data) -> list[str]:
    """The issue's goals: VGG-layer and algorithm cases within 1.5x (1.2x), conv layers above 60 % of peak."""
    lines = []
    key = "minicnn-numpy/torch-cpu"
    vgg = [c for c in data["cases"] if c.get("vgg") and key in c.get("ratios", {})]
    if vgg:
        r = [c["ratios"][key]["median"] for c in vgg]
        worst = max(vgg, key=lambda c: c["ratios"][key]["median"])
        lines.append(f"- VGG-layer and VGG-based algorithm cases within 1.5x of torch-cpu: "
                     f"{sum(x <= 1.5 for x in r)}/{len(r)} (within 1.2x: {sum(x <= 1.2 for x in r)}/{len(r)}; "
                     f"worst {worst['ratios'][key]['median']:.2f}x, {worst['name']})")
        p = [_paired_or_median(c["ratios"][key]) for c in vgg]
        if any("paired" in c["ratios"][key] for c in vgg):
            worst = max(vgg, key=lambda c: _paired_or_median(c["ratios"][key]))
            lines.append(f"- the same by the paired ratio (the median ratio where a case has no turns): "
                         f"{sum(x <= 1.5 for x in p)}/{len(p)} within 1.5x, {sum(x <= 1.2 for x in p)}/{len(p)} "
                         f"within 1.2x; worst {_paired_or_median(worst['ratios'][key]):.2f}x, {worst['name']}")
    conv = [c for c in data["cases"] if c.get("family") == "conv2d" and c.get("vgg")
            and c["results"].get("minicnn-numpy", {}).get("share_of_matmul_peak") is not None]
    if conv:
        s = [c["results"]["minicnn-numpy"]["share_of_matmul_peak"] for c in conv]
        lines.append(f"- VGG conv layers above 60% of the matmul peak (minicnn-numpy): "
                     f"{sum(x >= 0.6 for x in s)}/{len(s)} (median {100 * sorted(s)[len(s) // 2]:.0f}%)")
    allr = [c["ratios"][key]["median"] for c in data["cases"] if key in c.get("ratios", {})]
    if allr:
        geo = math.exp(sum(math.log(x) for x in allr) / len(allr))
        lines.append(f"- all cases: minicnn-numpy / torch-cpu geometric mean {geo:.2f}x, "
                     f"{sum(x > SLOW for x in allr)} of {len(allr)} slower than {SLOW}x")
    return lines


def slow_section(data, top=8) -> str:
    slow = [c for c in data["cases"] if c.get("ratios", {}).get("minicnn-numpy/torch-cpu", {}).get("median", 0) > SLOW]
    if not slow:
        return f"No case where minicnn-numpy is slower than {SLOW}x torch-cpu."
    out = [f"### Cases where minicnn-numpy is slower than {SLOW}x torch-cpu", ""]
    for c in slow:
        r = c["ratios"]["minicnn-numpy/torch-cpu"]
        paired = f", paired {r['paired']:.2f}x" if "paired" in r else ""
        out.append(f"**{c['name']}**: {r['median']:.2f}x (best calls {r['best']:.2f}x{paired})")
        prof = c.get("profile")
        if not prof:
            out.append("")
            continue
        if "error" in prof:
            out += [f"profile failed: {prof['error']}", ""]
            continue
        out.append(f"cProfile of one call ({prof['total_seconds'] * 1e3:.0f} ms under the profiler), "
                   "functions by own time:")
        out.append("")
        rows = [[p["function"], p["ncalls"], f"{p['tottime'] * 1e3:.1f}", f"{100 * p['tottime_share']:.0f}%",
                 f"{p['cumtime'] * 1e3:.1f}"] for p in prof["by_own_time"][:top]]
        out += [_table(["function", "calls", "own ms", "own %", "cumulative ms"], rows), ""]
        mine = prof.get("minicnn_by_cumulative_time", [])[:top]
        if mine:
            out.append("minicnn functions by cumulative time:")
            out.append("")
            rows = [[p["function"], p["ncalls"], f"{p['cumtime'] * 1e3:.1f}", f"{100 * p['cumtime_share']:.0f}%"]
                    for p in mine]
            out += [_table(["function", "calls", "cumulative ms", "cumulative %"], rows), ""]
    return "\n".join(out)


def markdown(data, title=True) -> str:
    parts = []
    if title:
        parts += [f"# minicnn backend benchmarks: {data['machine']}, {data['date']} ({data['preset']})", ""]
    parts += summary_lines(data) + [""] + [results_table(data), ""]
    goals = goal_lines(data)
    if goals:
        parts += goals + [""]
    notes = list(dict.fromkeys(f"- {c['family']} {c['mode']}: {c['notes']}" for c in data["cases"]
                               if c.get("notes")))
    if notes:
        parts += ["Case notes:", ""] + notes + [""]
    errors = [f"- {c['name']} on {b}: {r['error']}" for c in data["cases"] for b, r in c["results"].items()
              if "error" in r]
    if errors:
        parts += ["Errors:", ""] + errors + [""]
    parts.append(slow_section(data))
    return "\n".join(parts).rstrip() + "\n"


# --- plots ------------------------------------------------------------------------------------------

def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _timed(c, b):
    return "median" in c["results"].get(b, {})


def _decade_limits(ax):
    """Pad both log axes to span at least a decade around the data, so each has labelled powers of 10."""
    from matplotlib.ticker import NullFormatter
    for get, set_, axis in ((ax.get_xlim, ax.set_xlim, ax.xaxis), (ax.get_ylim, ax.set_ylim, ax.yaxis)):
        lo, hi = get()
        if lo > 0 and hi > 0 and hi / lo < 10:
            mid = math.sqrt(lo * hi)
            set_(mid / 3.2, mid * 3.2)
        axis.set_minor_formatter(NullFormatter())


def plot_time(data, path):
    plt = _plt()
    families = []
    for c in data["cases"]:
        if c["family"] not in families and any(_timed(c, b) for b in BACKENDS):
            families.append(c["family"])
    n = max(1, len(families))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    markers = {"fwd": "o", "fwd+bwd": "s", "inference": "^", "train step": "D", "step": "P", "iteration": "X"}
    for ax, fam in zip(axes.flat, families):
        cases = [c for c in data["cases"] if c["family"] == fam]
        use_flops = all(c.get("flops") for c in cases)
        for b in BACKENDS:
            for mode in dict.fromkeys(c["mode"] for c in cases):
                pts = sorted(((c["flops"] if use_flops else c["size"], c["results"][b]) for c in cases
                              if c["mode"] == mode and _timed(c, b)), key=lambda p: p[0])
                if not pts:
                    continue
                xs = [p[0] for p in pts]
                med = [p[1]["median"] for p in pts]
                lo = [p[1]["median"] - p[1]["min"] for p in pts]
                hi = [p[1]["max"] - p[1]["median"] for p in pts]
                ax.errorbar(xs, med, yerr=[lo, hi], color=COLORS[b], marker=markers.get(mode, "o"),
                            linestyle="-" if b.startswith("minicnn") else "--", capsize=2, markersize=5,
                            label=f"{b} {mode}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _decade_limits(ax)
        ax.set_title(fam)
        ax.set_xlabel("FLOPs per call" if use_flops else "input elements")
        ax.set_ylabel("seconds per call (median)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(families):]:
        ax.axis("off")
    fig.suptitle(f"time per call vs size: {data['machine']} {data['date'][:10]} ({data['preset']})")
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def _hbar_fig(n_rows):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.6 + 0.24 * n_rows)))
    return plt, fig, ax


def plot_ratio(data, path):
    series = [(f"{m}/{r}", m) for m, r in PAIRS]
    cases = [c for c in data["cases"] if any(k in c.get("ratios", {}) for k, _ in series)]
    plt, fig, ax = _hbar_fig(len(cases))
    present = [(k, m) for k, m in series if any(k in c["ratios"] for c in cases)]
    h = 0.8 / max(1, len(present))
    for j, (key, mine) in enumerate(present):
        ys = [i + (j - (len(present) - 1) / 2) * h for i in range(len(cases))]
        vals = [c["ratios"].get(key, {}).get("median", float("nan")) for c in cases]
        colors = [("#c0392b" if v > SLOW else COLORS[mine]) for v in vals]
        ax.barh(ys, vals, height=h, color=colors, label=key)
    for x, style, col in ((1.0, "-", "black"), (1.2, "--", "orange"), (SLOW, "--", "red")):
        ax.axvline(x, linestyle=style, color=col, linewidth=1)
    ax.set_xscale("log")
    finite = [c["ratios"][k]["median"] for c in cases for k, _ in present if k in c["ratios"]]
    if finite:
        ax.set_xlim(min(0.5, min(finite) / 1.3), max(2.0, max(finite) * 1.3))
    from matplotlib.ticker import FuncFormatter
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_yticks(range(len(cases)))
    ax.set_yticklabels([c["name"] for c in cases], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio minicnn / torch, log scale (median; < 1: minicnn faster; red: over 1.5x)")
    ax.set_title(f"ratio to torch: {data['machine']} {data['date'][:10]} ({data['preset']})")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def _grouped(data, path, value, xlabel, title, lines=(), log=False):
    backends = [b for b in BACKENDS if any(value(c["results"].get(b, {})) is not None for c in data["cases"])]
    cases = [c for c in data["cases"] if any(value(c["results"].get(b, {})) is not None for b in backends)]
    plt, fig, ax = _hbar_fig(len(cases))
    h = 0.8 / max(1, len(backends))
    for j, b in enumerate(backends):
        ys = [i + (j - (len(backends) - 1) / 2) * h for i in range(len(cases))]
        vals = [value(c["results"].get(b, {})) for c in cases]
        ax.barh(ys, [v if v is not None else 0 for v in vals], height=h, color=COLORS[b], label=b)
    for x, label, style in lines:
        ax.axvline(x, color="black", linestyle=style, linewidth=1, label=label)
    if log:
        ax.set_xscale("log")
    ax.set_yticks(range(len(cases)))
    ax.set_yticklabels([c["name"] for c in cases], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(f"{title}: {data['machine']} {data['date'][:10]} ({data['preset']})")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def plot_gflops(data, path):
    peak = data.get("matmul_peak_reference_gflops", data["matmul_peak"]["gflops_best"])
    _grouped(data, path, lambda r: r.get("gflops"), "GFLOP/s (FLOPs per call / median time)",
             "achieved GFLOP/s", lines=((peak, f"float32 matmul peak {peak:.0f}", "-"),
                                        (0.6 * peak, "60% of the peak", ":")))


def plot_memory(data, path):
    _grouped(data, path, lambda r: (r["peak_bytes"] / 2 ** 20 if r.get("peak_bytes") else None),
             "peak memory growth during one call, MiB (log scale)", "peak memory", log=True)


PLOTS = {"time": plot_time, "ratio": plot_ratio, "gflops": plot_gflops, "memory": plot_memory}


def write_report(data, json_path, plots=True) -> list[pathlib.Path]:
    """Write <stem>.md and, with ``plots``, <stem>-{time,ratio,gflops,memory}.png next to the JSON."""
    json_path = pathlib.Path(json_path)
    stem = json_path.with_suffix("")
    written = []
    md = stem.with_suffix(".md")
    text = markdown(data)
    if plots:
        text += "\nPlots: " + ", ".join(f"[{k}]({stem.name}-{k}.png)" for k in PLOTS) + "\n"
    md.write_text(text)
    written.append(md)
    if plots:
        for key, fn in PLOTS.items():
            p = stem.parent / f"{stem.name}-{key}.png"
            fn(data, p)
            written.append(p)
    return written


def update_readme(data, readme, json_name):
    """Replace the block between the README's markers with this run's summary and table."""
    readme = pathlib.Path(readme)
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} ... {README_END} block to replace")
    body = "\n".join([f"Run `{' '.join(data['command'])}` on {data['date']} "
                      f"(results/{json_name}; plots: "
                      + ", ".join(f"[{k}](results/{pathlib.Path(json_name).stem}-{k}.png)" for k in PLOTS) + ")", ""]
                     + summary_lines(data) + ["", results_table(data), ""] + goal_lines(data))
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{body}\n{README_END}{tail}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n")[0])
    ap.add_argument("json", help="a results file written by benchmarks.run")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--readme", help="also replace the latest-results block of this README")
    args = ap.parse_args(argv)
    path = pathlib.Path(args.json)
    data = json.loads(path.read_text())
    written = write_report(data, path, plots=not args.no_plots)
    if args.readme:
        update_readme(data, args.readme, path.name)
        written.append(pathlib.Path(args.readme))
    print("wrote " + ", ".join(str(p) for p in written))


if __name__ == "__main__":
    main()
