"""The benchmark suite runner (benchmarks/run.py, cases.py, report.py) on its tiny case set.

Runs the real runner in-process on a few millisecond-sized cases and checks what it writes:
the JSON record (timings, ratios, FLOPs, GFLOP/s, peak memory, skipped backends with a
reason), the Markdown table and the four PNG plots; plus the memory probe against a known
allocation, the slow-case report and the OPENBLAS_* re-execution.
"""
from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

from benchmarks import report, run  # noqa: E402
from benchmarks.cases import BACKENDS, PAIRS, backend_status  # noqa: E402

TINY = ["conv2d 3->4 @12 b2 fwd", "conv2d 3->4 @12 b2 fwd+bwd", "max_pool2d 3 @12 k2 s2 b2 fwd",
        "denoiser RED4 @16 b2 train step"]


def _finite_positive(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    saved = {k: os.environ.get(k) for k in run.THREAD_VARS}
    try:
        data = run.main(["--preset", "tiny", "--out", str(out), "--name", "tiny", "--peak-n", "128",
                         "--repeats", "3", "--min-repeats", "2", "--budget", "0.5", "--threads", "1"])
        assert all(os.environ[k] == "1" for k in run.THREAD_VARS)     # what subprocess cases inherit
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out, data


def test_fast_cases_get_more_timed_calls_and_slow_ones_fewer():
    cfg = run.Config("full", run.parse_args(["--preset", "full"]))
    assert (cfg.repeats, cfg.min_repeats, cfg.max_repeats, cfg.budget) == (5, 3, 25, 30.0)
    assert run.timed_calls(cfg, 0.001) == 25          # capped at max_repeats
    assert run.timed_calls(cfg, 0.1) == 20            # 2 s of extra calls
    assert run.timed_calls(cfg, 1.0) == 5             # repeats
    assert run.timed_calls(cfg, 8.0) == 3             # 30 s budget
    assert run.timed_calls(cfg, 60.0) == 3            # never under min_repeats
    explicit = run.Config("full", run.parse_args(["--preset", "full", "--repeats", "4"]))
    assert run.timed_calls(explicit, 0.001) == 4      # an explicit --repeats is the count
    both = run.Config("full", run.parse_args(["--preset", "full", "--repeats", "4", "--max-repeats", "7"]))
    assert run.timed_calls(both, 0.001) == 7


def test_json_record(tiny_run):
    out, returned = tiny_run
    data = json.loads((out / "tiny.json").read_text())
    assert data["schema"] == run.SCHEMA and data["complete"] is True and data["preset"] == "tiny"
    assert [c["name"] for c in data["cases"]] == TINY
    assert data["runtime_seconds"] > 0
    env = data["environment"]
    assert env["blas"], "the BLAS libraries (threadpoolctl) must be recorded"
    assert isinstance(env["torch_threads"], int) and env["torch_threads"] >= 1
    assert _finite_positive(data["matmul_peak"]["gflops_best"])
    assert _finite_positive(data["matmul_peak_after"]["gflops_best"])
    status = backend_status()
    assert set(data["backends"]) == set(BACKENDS)
    assert data["backends"]["minicnn-numpy"] is None and data["backends"]["torch-cpu"] is None
    peak = max(data["matmul_peak"]["gflops_best"], data["matmul_peak_after"]["gflops_best"])
    assert data["matmul_peak_reference_gflops"] == peak
    for case in data["cases"]:
        for b in BACKENDS:
            r = case["results"][b]
            if status[b]:                                   # skipped, with the reason, never dropped
                assert r == {"skipped": status[b]} and len(status[b]) > 10
                continue
            assert 0 < r["min"] <= r["median"] <= r["max"], (case["name"], b, r)
            assert 2 <= r["repeats"] <= 3
            assert r["spread"] == pytest.approx((r["max"] - r["min"]) / r["median"])
            assert r["clock"] == "wall" and r["median"] == r["wall"]["median"] and r["cpu"]["median"] > 0
            assert len(r["samples"]) == r["repeats"] and min(r["samples"]) == pytest.approx(r["min"], abs=1e-6)
            assert isinstance(r["peak_bytes"], int) and 0 <= r["peak_bytes"] < 200 * 2 ** 20
            if case["flops"]:
                assert r["gflops"] == pytest.approx(case["flops"] / r["median"] / 1e9)
                assert r["share_of_matmul_peak"] == pytest.approx(r["gflops"] / peak)
        key = "minicnn-numpy/torch-cpu"
        ratio = case["ratios"][key]
        assert _finite_positive(ratio["median"]) and _finite_positive(ratio["best"])
        a, b = case["results"]["minicnn-numpy"], case["results"]["torch-cpu"]
        assert ratio["median"] == pytest.approx(a["median"] / b["median"])
        assert ratio["paired"] == pytest.approx(run.paired_ratio(a["samples"], b["samples"]))
        for mine, rival in PAIRS[1:]:
            if status[mine] or status[rival]:
                assert f"{mine}/{rival}" not in case["ratios"]
    assert returned["cases"][0]["name"] == TINY[0]


def test_flops(tiny_run):
    _, data = tiny_run
    by = {c["name"]: c for c in data["cases"]}
    fwd = 2.0 * 2 * 4 * 3 * 9 * 12 * 12            # N * Cout * Cin * k*k * H * W multiply-adds, x2
    assert by[TINY[0]]["flops"] == fwd and by[TINY[1]]["flops"] == 3 * fwd
    assert by[TINY[2]]["flops"] is None               # max pooling: no FLOPs, no GFLOP/s
    assert "gflops" not in by[TINY[2]]["results"]["minicnn-numpy"]
    # RED4 (1->8, 8->8 conv; 8->8, 8->1 transposed conv) at 16x16, batch 2, counted by torch's
    # flop counter: forward, then backward = input and weight gradients (none for the image)
    layer = 2.0 * 9 * 2 * 16 * 16
    forward = layer * (8 + 64 + 64 + 8)
    counted = by[TINY[3]]["flops"]
    assert 2.5 * forward < counted <= 3.0 * forward
    assert by[TINY[3]]["flops_source"].startswith("torch.utils.flop_counter")


def test_markdown_and_plots(tiny_run):
    out, data = tiny_run
    md = (out / "tiny.md").read_text()
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| case"))
    header = lines[start]
    assert "minicnn-numpy ms" in header and "torch-cpu ms" in header and "numpy / torch" in header
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    rows = lines[start + 2:end]
    assert [r.split("|")[1].strip() for r in rows] == TINY
    for row, case in zip(rows, data["cases"]):
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert cells[3] == f"{case['ratios']['minicnn-numpy/torch-cpu']['median']:.2f}x" or \
            cells[3].startswith(f"{case['ratios']['minicnn-numpy/torch-cpu']['median']:.2f}x")
        assert cells[1].endswith("%") and "±" in cells[1]
    for b, reason in data["backends"].items():
        if reason:
            assert f"{b} ({reason})" in md
    assert "float32 NumPy matmul peak" in md and "load average" in md and "kernel" in md
    import matplotlib.image as mpimg
    for key in report.PLOTS:
        png = out / f"tiny-{key}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(png)
        assert img.shape[0] > 150 and img.shape[1] > 300 and float(img[..., :3].std()) > 0.01
        assert f"tiny-{key}.png" in md


def test_backend_subset_is_listed_as_skipped(tmp_path):
    data = run.main(["--preset", "tiny", "--only", "max_pool2d", "--backends", "minicnn-numpy", "--out",
                     str(tmp_path), "--name", "one", "--peak-n", "64", "--repeats", "2", "--no-plots",
                     "--no-memory"])
    (case,) = data["cases"]
    assert case["results"]["torch-cpu"] == {"skipped": "not selected (--backends)"}
    assert case["results"]["minicnn-numpy"]["median"] > 0 and case["ratios"] == {}
    assert "peak_bytes" not in case["results"]["minicnn-numpy"]
    assert not list(tmp_path.glob("*.png"))
    with pytest.raises(SystemExit):
        run.main(["--preset", "tiny", "--backends", "numpy", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        run.parse_args(["--repeats", "0"])
    with pytest.raises(SystemExit):                 # CPU time adds up threads: only with one thread
        run.parse_args(["--clock", "cpu", "--threads", "2"])
    assert run.parse_args(["--clock", "cpu", "--threads", "1"]).clock == "cpu"


def test_memory_probe_sees_a_known_allocation():
    probe = run.MemoryProbe()
    if probe.reason:
        pytest.skip(probe.reason)
    n = 48 * 2 ** 20 // 4

    def alloc():
        a = np.ones(n, dtype=np.float32)           # 48 MiB, touched
        return float(a[::4096].sum())

    got = probe.measure("minicnn-numpy", alloc) / 2 ** 20
    assert 44 <= got <= 60, got
    assert probe.measure("minicnn-numpy", lambda: None) / 2 ** 20 < 4


def _fake(name, ratio, vgg=True, profile=None):
    rec = {"name": name, "family": "conv2d", "group": "op", "shape": "s", "batch": 1, "mode": "fwd", "size": 10.0,
           "flops": 2e9, "vgg": vgg, "notes": "",
           "results": {"minicnn-numpy": {"median": ratio, "min": ratio, "max": ratio, "repeats": 3, "spread": 0.0,
                                         "peak_bytes": 2 ** 20},
                       "torch-cpu": {"median": 1.0, "min": 1.0, "max": 1.0, "repeats": 3, "spread": 0.0,
                                     "peak_bytes": 2 ** 21},
                       "minicnn-cupy": {"skipped": "no GPU"}, "torch-cuda": {"skipped": "no GPU"}}}
    run._finish(rec, peak_gflops=4.0)
    if profile:
        rec["profile"] = profile
    return rec


def test_report_lists_slow_cases_with_their_profile(tmp_path):
    prof = run.profile_call(lambda: sorted(np.random.default_rng(0).random(20000).tolist()))
    assert prof["total_seconds"] > 0 and prof["by_own_time"]
    assert sum(p["tottime_share"] for p in prof["by_own_time"]) <= 1.0 + 1e-9
    assert any("sorted" in p["function"] for p in prof["by_own_time"])
    slow, fast = _fake("slow conv", 2.0, profile=prof), _fake("fast conv", 0.9)
    assert slow["ratios"]["minicnn-numpy/torch-cpu"] == {"median": 2.0, "best": 2.0, "memory": 0.5}
    assert slow["results"]["minicnn-numpy"]["gflops"] == pytest.approx(1.0)
    assert slow["results"]["minicnn-numpy"]["share_of_matmul_peak"] == pytest.approx(0.25)
    data = {"machine": "m", "date": "2020-01-01T00:00:00", "preset": "full", "cases": [slow, fast],
            "environment": {"blas": [], "cpu": "cpu", "cpus_usable": 2}, "matmul_peak": {"n": 8, "gflops_best": 4.0},
            "backends": {"minicnn-numpy": None, "torch-cpu": None, "minicnn-cupy": "no GPU", "torch-cuda": "no GPU"},
            "memory_method": "rss", "config": {}, "command": ["python", "-m", "benchmarks.run", "--full"]}
    md = report.markdown(data)
    section = md.split("slower than 1.5x torch-cpu", 1)[1]
    assert "**slow conv**: 2.00x" in section and "fast conv" not in section and "sorted" in section
    assert "2.00x **!**" in md and "0.90x" in md
    assert "within 1.5x of torch-cpu: 1/2" in md and "above 60% of the matmul peak (minicnn-numpy): 0/2" in md
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_START}\nold\n{report.README_END}\noutro\n")
    report.update_readme(data, readme, "m.json")
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro\n") and text.endswith("outro\n") and "| slow conv" in text


def test_reexec_drops_openblas_variables(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "execve", lambda exe, args, env: calls.append((exe, args, env)))
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    run.reexec_without_openblas_vars(["--quick"])
    (exe, args, env), = calls
    assert exe == sys.executable and args[1:] == ["-m", "benchmarks.run", "--quick"]
    assert "OPENBLAS_CORETYPE" not in env and json.loads(env[run._REMOVED_ENV]) == {"OPENBLAS_CORETYPE": "Haswell"}
    run.reexec_without_openblas_vars(["--quick", "--keep-openblas-env"])
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    run.reexec_without_openblas_vars(["--quick"])
    assert len(calls) == 1


def test_paired_ratio_is_the_median_of_per_turn_ratios():
    """A slow phase that hits both sides of a turn cancels in the paired ratio, not in the
    ratio of medians; cases without turns (subprocess cases) get none."""
    mine, rival = [1.0, 4.0, 4.0, 1.2, 1.1], [1.0, 4.0, 4.0, 1.0, 1.0]
    assert run.paired_ratio(mine, rival) == pytest.approx(1.0)
    assert run.paired_ratio([2.0, 3.0, 9.0], [1.0, 1.0, 1.0]) == pytest.approx(3.0)
    assert run.paired_ratio(None, rival) is None and run.paired_ratio(mine, rival[:3]) is None
    rec = _fake("drift", 1.0)
    rec["results"]["minicnn-numpy"].update(median=4.0, min=1.1, max=4.0, samples=mine)
    rec["results"]["torch-cpu"].update(samples=rival)
    run._finish(rec, peak_gflops=4.0)
    ratio = rec["ratios"]["minicnn-numpy/torch-cpu"]
    assert ratio["median"] == pytest.approx(4.0) and ratio["paired"] == pytest.approx(1.0)
    data = {"cases": [rec, _fake("plain", 1.3)]}
    lines = report.goal_lines(data)
    assert any("paired ratio" in l and "2/2 within 1.5x" in l for l in lines), lines
    assert any("1/2 (within" in l for l in lines), lines


def test_subprocess_cases_alternate_rounds_and_pair_them():
    """The deep-dream / style cases run ``rounds`` times per backend, backends alternating; the
    median is over every round's steps and the paired ratio pairs the rounds, not the steps."""
    from types import SimpleNamespace
    from benchmarks.cases import Case, _external_result
    calls = []
    # minicnn's rounds take 2, 6, 2 s per step, torch's 1, 3, 1: every round's ratio is 2
    per_step = {"minicnn-numpy": [2.0, 6.0, 2.0], "torch-cpu": [1.0, 3.0, 1.0]}

    def external(backend, opts):
        k = sum(b == backend for b in calls)
        calls.append(backend)
        t = per_step[backend][k]
        r = {"seconds_per_step": t, "per_step": [t * 0.9, t, t * 1.1], "peak_bytes": 100 + k}
        return _external_result(r, "seconds_per_step", {"wall": (), "cpu": (), "any": ("per_step",)}, "rss")

    case = Case("fake dream", "deep dream", "algorithm", "1x8x8", 1, "step", 64.0, external=external, vgg=True)
    usable = {"minicnn-numpy": None, "torch-cpu": None, "minicnn-cupy": "no GPU", "torch-cuda": "no GPU"}
    cfg = SimpleNamespace(rounds=3, threads=None, clock="wall", profile_over=None)
    rec = run.measure_case(case, usable, cfg, probe=None, peak_gflops=1.0)
    assert calls == ["minicnn-numpy", "torch-cpu"] * 3
    mc, th = rec["results"]["minicnn-numpy"], rec["results"]["torch-cpu"]
    assert mc["rounds"] == [2.0, 6.0, 2.0] and mc["repeats"] == 9 and mc["peak_bytes"] == 102
    assert mc["median"] == pytest.approx(2.2) and mc["min"] == pytest.approx(1.8) and mc["max"] == pytest.approx(6.6)
    ratio = rec["ratios"]["minicnn-numpy/torch-cpu"]
    assert ratio["paired"] == pytest.approx(2.0) and ratio["median"] == pytest.approx(mc["median"] / th["median"])
    assert rec["results"]["minicnn-cupy"] == {"skipped": "no GPU"}
