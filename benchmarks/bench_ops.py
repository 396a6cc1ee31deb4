"""conv2d, conv_transpose2d and max_pool2d: minicnn (NumPy) vs torch (CPU) in the same run.

    python -m benchmarks.bench_ops            # VGG19 layer shapes of a 256x256 image
    python -m benchmarks.bench_ops --quick    # a 128x128 image, fewer repeats (smoke run)

For every case it times the forward pass (no graph) and forward+backward (gradients for the
input, the weight and the bias), minicnn and torch taking turns call by call, prints the time
ratio minicnn/torch (of the medians, and of the best calls), minicnn's GFLOP/s and
that rate as a share of a float32 NumPy matmul measured in the same run, the peak memory
NumPy allocated during one forward+backward, and writes benchmarks/results/bench_ops[_quick].json
and .md. Goal (issue 3): forward+backward within 1.5x of torch on every VGG layer.

Other processes on the machine make timings noisy; the spread column says how noisy.
On some CPUs OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set and slow NumPy down; for a
benchmark run (never for tests) start it with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np
import torch

import minicnn
import minicnn.functional as MF
from benchmarks.common import (environment, fmt_ms, limit_threads, markdown_table, matmul_peak_gflops,
                               peak_memory, time_interleaved, write_results)

# (in channels, out channels, spatial downscale) of VGG19's distinct conv layer shapes
VGG19_LAYERS = [(3, 64, 1), (64, 64, 1), (128, 128, 2), (256, 256, 4), (512, 512, 8)]


@dataclass
class Case:
    op: str
    shape: str
    flops: float                     # forward flops; forward+backward counts 3x for convs
    arrays: list                     # numpy inputs (float32)
    mc_fn: object                    # minicnn function of Tensors
    th_fn: object                    # torch function of tensors
    vgg: bool = False
    skipped: str | None = None
    results: dict = field(default_factory=dict)


def conv_flops(n, c_out, c_in_g, k, out_hw):
    return 2.0 * n * c_out * c_in_g * k[0] * k[1] * out_hw[0] * out_hw[1]


def _rand(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def build_cases(size: int) -> list[Case]:
    rng = np.random.default_rng(0)
    cases = []
    for cin, cout, down in VGG19_LAYERS:
        s = size // down
        arrays = [_rand(rng, (1, cin, s, s)), _rand(rng, (cout, cin, 3, 3), 0.05), _rand(rng, (cout,))]
        cases.append(Case("conv2d", f"{cin}->{cout} @{s}", conv_flops(1, cout, cin, (3, 3), (s, s)), arrays,
                          lambda x, w, b: MF.conv2d(x, w, b, padding=1),
                          lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1), vgg=True))
    # transposed convs: a x2 upsampling (k4 s2 p1) and a stride-1 decoder output layer
    s = size // 4
    arrays = [_rand(rng, (1, 128, s, s)), _rand(rng, (128, 64, 4, 4), 0.05), _rand(rng, (64,))]
    cases.append(Case("conv_transpose2d", f"128->64 @{s}->{2 * s} k4 s2",
                      conv_flops(1, 128, 64, (4, 4), (s, s)), arrays,
                      lambda x, w, b: MF.conv_transpose2d(x, w, b, stride=2, padding=1),
                      lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1)))
    s = size // 2
    arrays = [_rand(rng, (1, 64, s, s)), _rand(rng, (64, 3, 3, 3), 0.05), _rand(rng, (3,))]
    cases.append(Case("conv_transpose2d", f"64->3 @{s} k3 s1", conv_flops(1, 64, 3, (3, 3), (s, s)), arrays,
                      lambda x, w, b: MF.conv_transpose2d(x, w, b, padding=1),
                      lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, padding=1)))
    try:
        from minicnn.functional.pool import max_pool2d
        reason = None
    except ImportError as exc:
        max_pool2d, reason = None, f"minicnn.functional.pool.max_pool2d not available ({exc})"
    for c, down in ((64, 1), (512, 8)):
        s = size // down
        cases.append(Case("max_pool2d", f"{c} @{s} k2 s2", 0.0, [_rand(rng, (1, c, s, s))],
                          (lambda x: max_pool2d(x, 2)) if max_pool2d else None,
                          lambda x: torch.nn.functional.max_pool2d(x, 2), skipped=reason))
    return cases


def _runners(case: Case):
    """(minicnn fwd, minicnn fwd+bwd, torch fwd, torch fwd+bwd) closures on fixed inputs."""
    mc_in = [minicnn.tensor(a, requires_grad=True) for a in case.arrays]
    th_in = [torch.tensor(a, requires_grad=True) for a in case.arrays]
    with torch.no_grad():
        th_out_shape = case.th_fn(*th_in).shape
    g_np = np.ones(tuple(th_out_shape), dtype=np.float32)
    mc_g, th_g = minicnn.tensor(g_np), torch.from_numpy(g_np)

    def mc_fwd():
        with minicnn.no_grad():
            case.mc_fn(*mc_in)

    def mc_fb():
        for t in mc_in:
            t.grad = None
        case.mc_fn(*mc_in).backward(mc_g)

    def th_fwd():
        with torch.no_grad():
            case.th_fn(*th_in)

    def th_fb():
        for t in th_in:
            t.grad = None
        case.th_fn(*th_in).backward(th_g)

    return mc_fwd, mc_fb, th_fwd, th_fb


def run(size: int, repeats: int, warmup: int, memory: bool, only: str | None = None) -> dict:
    env = environment()
    peak = matmul_peak_gflops(repeats=repeats)
    cases = build_cases(size)
    if only:
        cases = [c for c in cases if only in f"{c.op} {c.shape}"]
    for case in cases:
        if case.skipped:
            continue
        mc_fwd, mc_fb, th_fwd, th_fb = _runners(case)
        for mode, mc, th, mult in (("fwd", mc_fwd, th_fwd, 1), ("fwd+bwd", mc_fb, th_fb, 3)):
            t = time_interleaved({"minicnn": mc, "torch": th}, warmup=warmup, repeats=repeats)
            t_mc, t_th = t["minicnn"], t["torch"]
            flops = case.flops * mult
            r = {"minicnn": t_mc, "torch": t_th, "ratio": t_mc.median / t_th.median,
                 "ratio_best": t_mc.min / t_th.min, "flops": flops}
            if flops:
                r["gflops_minicnn"] = flops / t_mc.median / 1e9
                r["gflops_torch"] = flops / t_th.median / 1e9
            if memory and mode == "fwd+bwd":
                r["peak_bytes_minicnn"] = peak_memory(mc)
            case.results[mode] = r
    peak_after = matmul_peak_gflops(repeats=repeats)
    # the BLAS's best rate seen in this run (measured before and after: load drifts)
    best_peak = max(peak["gflops_best"], peak_after["gflops_best"])
    for case in cases:
        for r in case.results.values():
            if r.get("gflops_minicnn"):
                r["share_of_matmul_peak"] = r["gflops_minicnn"] / best_peak
    return {"matmul_peak_gflops": best_peak, "size": size, "repeats": repeats, "warmup": warmup, "environment": env,
            "matmul_peak": peak, "matmul_peak_after": peak_after, "cases": cases}


def table(report: dict) -> str:
    headers = ["op", "shape (batch 1)", "mode", "minicnn ms", "torch ms", "ratio", "ratio best", "minicnn GFLOP/s",
               "% of matmul peak", "torch GFLOP/s", "minicnn peak MiB"]
    rows = []
    for c in report["cases"]:
        if c.skipped:
            rows.append([c.op, c.shape, "skipped", c.skipped, "", "", "", "", "", "", ""])
            continue
        for mode, r in c.results.items():
            gf = r.get("gflops_minicnn")
            mem = r.get("peak_bytes_minicnn")
            rows.append([c.op, c.shape, mode, fmt_ms(r["minicnn"]), fmt_ms(r["torch"]), f"{r['ratio']:.2f}x",
                         f"{r['ratio_best']:.2f}x",
                         f"{gf:.0f}" if gf else "-",
                         f"{100 * r['share_of_matmul_peak']:.0f}%" if gf else "-",
                         f"{r['gflops_torch']:.0f}" if gf else "-",
                         f"{mem / 2**20:.0f}" if mem is not None else "-"])
    return markdown_table(headers, rows)


def summary(report: dict) -> str:
    env, peak = report["environment"], report["matmul_peak"]
    blas = "; ".join(f"{b.get('internal_api')} {b.get('version')} kernel={b.get('architecture')} "
                     f"threads={b.get('num_threads')}" if "internal_api" in b else str(b) for b in env["blas"])
    lines = [f"numpy float32 matmul peak: {report['matmul_peak_gflops']:.0f} GFLOP/s (n={peak['n']}, best "
             f"call; {peak['gflops_best']:.0f} at the start, "
             f"{report['matmul_peak_after']['gflops_best']:.0f} at the end of the run)",
             f"numpy BLAS: {blas}", f"torch {env.get('torch_version')} threads={env.get('torch_threads')}, "
             f"usable CPUs={env.get('cpus_usable')}, load average at start={env.get('loadavg_at_start')}",
             f"env: {env['env'] or 'no OpenBLAS/OMP variables set'}"]
    vgg = [c for c in report["cases"] if c.vgg and "fwd+bwd" in c.results]
    if vgg:
        ratios = [c.results["fwd+bwd"]["ratio"] for c in vgg]
        ok = sum(r <= 1.5 for r in ratios)
        lines.append(f"VGG layers forward+backward within 1.5x of torch: {ok}/{len(vgg)} "
                     f"(worst {max(ratios):.2f}x, within 1.2x: {sum(r <= 1.2 for r in ratios)}/{len(vgg)})")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="128x128 image, 2 repeats (smoke run)")
    ap.add_argument("--size", type=int, default=None, help="image side (default 256, 128 with --quick)")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per measurement (default 5)")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc peak-memory runs")
    ap.add_argument("--only", default=None, help="run cases whose 'op shape' contains this text")
    ap.add_argument("--threads", type=int, default=None,
                    help="run NumPy's BLAS (via threadpoolctl) and torch with this many threads")
    args = ap.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    size = args.size or (128 if args.quick else 256)
    repeats = args.repeats or (2 if args.quick else 5)
    report = run(size, repeats, warmup=1, memory=not args.no_memory, only=args.only)
    tab = table(report)
    text = f"{tab}\n\n{summary(report)}"
    print(text)
    name = ("bench_ops_quick" if args.quick else "bench_ops") + (f"_threads{args.threads}" if args.threads else "")
    data = {**report, "cases": [{"op": c.op, "shape": c.shape, "flops_forward": c.flops, "vgg": c.vgg,
                                 "skipped": c.skipped, "results": c.results} for c in report["cases"]]}
    path = write_results(name, data, text)
    print(f"\nwrote {path} and {path.with_suffix('.md')}")
    return report


if __name__ == "__main__":
    main()
