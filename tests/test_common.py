"""Shared algorithm plumbing: checkpoints round-trip exactly, writes are atomic, Ctrl-C is a stop request."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from algorithms.common import dihedral
from algorithms.common.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from algorithms.common.files import atomic_path, check_input_file, check_output_path
from algorithms.common.interrupt import StopOnInterrupt
from algorithms.common.plots import plot_curves


def test_checkpoint_round_trip_is_exact(tmp_path):
    gen = np.random.default_rng(7)
    gen.random(3)
    state = {"model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3)},
             "opt": {"state": {0: {"step": 4, "m": np.full(3, 0.25)}}, "groups": [{"lr": 1e-3}]},
             "rng": rng_state(gen), "history": [1.5, 0.5], "pair": (1, "a"), "none": None}
    save_checkpoint(tmp_path / "c.npz", state)
    back = load_checkpoint(tmp_path / "c.npz")
    assert back["model"]["w"].dtype == np.float32 and np.array_equal(back["model"]["w"], state["model"]["w"])
    assert back["opt"]["state"][0]["step"] == 4 and np.array_equal(back["opt"]["state"][0]["m"], np.full(3, 0.25))
    assert back["pair"] == (1, "a") and back["none"] is None and back["history"] == [1.5, 0.5]
    other = set_rng_state(np.random.default_rng(0), back["rng"])
    assert np.array_equal(other.random(4), gen.random(4))


def test_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_checkpoint(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        load_checkpoint(bad)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("boom")
    assert not target.exists() and os.listdir(tmp_path) == []
    with atomic_path(target) as tmp:
        open(tmp, "w").write("whole")
    assert target.read_text() == "whole" and os.listdir(tmp_path) == ["out.png"]


def test_path_checks(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        check_input_file(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="is a folder"):
        check_output_path(tmp_path)
    assert check_output_path(tmp_path / "sub" / "o.png").parent.is_dir()


def test_ctrl_c_becomes_a_stop_request():
    with StopOnInterrupt("image") as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_plot_writes_a_png(tmp_path):
    p = plot_curves(tmp_path / "c.png", {"loss": [3.0, 2.0, 1.0], "val_psnr": [20.0, 21.0, 23.0]},
                    panels=[["loss"], ["val_psnr"]])
    data = open(p, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_atomic_writes_get_normal_permissions(tmp_path):
    import minicnn.io
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            open(tmp, "w").write("x")
        minicnn.io.save_image(np.zeros((4, 4, 3)), tmp_path / "b.png")
    finally:
        os.umask(old)
    for name in ("a.txt", "b.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644


def test_dihedral_transforms_are_the_8_distinct_symmetries_and_invert():
    a = np.arange(2 * 3 * 5 * 5, dtype=np.float64).reshape(2, 3, 5, 5)
    seen = set()
    for t in range(8):
        b = dihedral.transform(a, t)
        assert np.array_equal(dihedral.untransform(b, t), a)
        seen.add(b[0, 0].tobytes())
    assert len(seen) == 8
    assert np.array_equal(dihedral.transform(a, 1)[0, 0], np.rot90(a[0, 0]))
    assert np.array_equal(dihedral.transform(a, 4)[0, 0], a[0, 0, :, ::-1])
    t = np.array([3, 6])
    got = dihedral.per_item(a, t)
    for i in range(2):
        assert np.array_equal(got[i], dihedral.transform(a[i], t[i]))


def test_dihedral_ensemble_averages_the_undone_outputs():
    """An equivariant map passes unchanged; a map that is not (add a column ramp) gets averaged."""
    rng = np.random.default_rng(0)
    x = rng.random((6, 6))
    assert np.abs(dihedral.ensemble(lambda v: 2 * v, x) - 2 * x).max() < 1e-15
    ramp = np.arange(6.0)
    got = dihedral.ensemble(lambda v: v + ramp, x)
    # the ramp seen through the 8 transforms averages to its mean, the same everywhere
    assert np.abs(got - (x + ramp.mean())).max() < 1e-12


def test_dihedral_ensemble_reuses_a_given_first_pass():
    rng = np.random.default_rng(1)
    x = rng.random((5, 5))
    ramp = np.arange(5.0)
    calls = []

    def fn(v):
        calls.append(1)
        return v + ramp
    full = dihedral.ensemble(fn, x)
    assert len(calls) == 8
    reused = dihedral.ensemble(fn, x, first=x + ramp)
    assert len(calls) == 15                                   # 7 more: transform 0 was given
    assert np.abs(reused - full).max() < 1e-15


def test_comma_separated_option_values():
    from algorithms.commands._lists import comma_list, comma_numbers
    assert comma_list(" a, b,,c ,") == ("a", "b", "c")
    assert comma_list("") == () and comma_list(None) == ()
    assert comma_numbers("0.8, 0.6", "--rescale") == (0.8, 0.6)
    with pytest.raises(ValueError, match=r"--sigmas must be comma-separated numbers, got '15,x'"):
        comma_numbers("15,x", "--sigmas")


def test_names_separated_by_commas_or_spaces():
    """demo --only, style --content-layers/--style-layers and dream --layer/--channels share one parser."""
    from algorithms.commands._lists import word_list
    assert word_list("relu3_1, relu4_2") == ("relu3_1", "relu4_2")
    assert word_list(["relu3_1,relu4_2", "pool4"]) == ("relu3_1", "relu4_2", "pool4")
    assert word_list(" style,,dream\tupscale ") == ("style", "dream", "upscale") and word_list("") == ()
