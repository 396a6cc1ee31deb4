"""Deep dream: minicnn vs its torch twin, ascent, exact tiling, Ctrl-C, CLI errors.

Runs use small images and VGG19 cut at a shallow layer (the model is built only up to
the deepest chosen layer) with random weights, so the file takes well under a minute.

Test images for twin comparisons are smooth random images, not photographs: in a
saturated region (pure white clipped to 255) neighbouring activations are equal, and
float32 rounding differs between minicnn's and torch's convolutions, so the two max-pools
may pick different winners of the tie and route the gradient to different pixels.
"""
from __future__ import annotations

import inspect
import os
import signal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from algorithms.common.progress import set_quiet
from algorithms.deep_dream import (DreamOptions, MinicnnDreamer, deep_dream, draw_shift, layer_geometry,
                                   octave_shapes, tile_plan)
from reference.deep_dream import TorchDreamer
from reference.deep_dream import deep_dream as th_deep_dream

SMALL = dict(weights=False, progress=False, layers=("relu2_1",))


@pytest.fixture(autouse=True)
def _quiet():
    set_quiet(True)
    yield
    set_quiet(False)


def _image(seed=0, hw=(36, 44)):
    """A smooth random RGB image in [0.1, 0.9] (no flat or saturated regions)."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(0.1, 0.9, (3, hw[0] // 4 + 2, hw[1] // 4 + 2))
    from minicnn.imresize import imresize
    img = imresize(low, output_shape=hw) + 0.05 * rng.standard_normal((3,) + hw)
    return np.clip(img, 0.1, 0.9).transpose(1, 2, 0)


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def test_twin_has_the_same_signature():
    assert inspect.signature(deep_dream) == inspect.signature(th_deep_dream)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-8), ("float32", 1e-4)])
@pytest.mark.parametrize("extra", [dict(), dict(objective="mean", channels=(3, 17, 40), jitter=5)],
                         ids=["l2", "mean-channels"])
def test_one_octave_gives_the_same_image_and_objectives_as_torch(dtype, tol, extra):
    kw = dict(dict(SMALL, size=None, octaves=1, steps=6, jitter=8, seed=1, dtype=dtype), **extra)
    a = deep_dream(_image(1), **kw)
    b = th_deep_dream(_image(1), **kw)
    assert len(a.history["objective"]) == 6 and a.image.dtype == np.dtype(dtype)
    assert _rel(a.history["objective"], b.history["objective"]) <= tol
    assert _rel(a.image, b.image) <= tol
    assert np.abs(a.image - _image(1)).max() > 10 * tol        # the image did change


def test_octaves_guide_and_tiles_give_the_same_image_as_torch():
    """Detail carried over two octaves, a guide image, two layers, tiled gradients (float64)."""
    kw = dict(SMALL, layers=("relu2_1", "pool2"), size=40, octaves=2, octave_scale=1.3, steps=2, jitter=6,
              seed=4, tile=24, guide=_image(9, (20, 24)), guide_size=24, dtype="float64")
    a = deep_dream(_image(2), **kw)
    b = th_deep_dream(_image(2), **kw)
    assert a.shapes == b.shapes == [(25, 31), (33, 40)]
    assert len(a.octave_images) == 2 and a.octave_images[0].shape[:2] == a.shapes[0]
    assert _rel(a.history["objective"], b.history["objective"]) <= 1e-8
    assert _rel(a.image, b.image) <= 1e-8
    for x, y in zip(a.octave_images, b.octave_images):
        assert _rel(x, y) <= 1e-8


def test_jitter_shifts_are_numpy_draws():
    rng, ref = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(5):
        assert draw_shift(rng, 32) == tuple(int(v) for v in ref.integers(-32, 33, size=2))
    assert draw_shift(rng, 0) == (0, 0)


def test_objective_rises_on_95_percent_of_steps():
    """Without jitter the recorded objective rises within every octave; with jitter each step
    raises the objective it climbs (same shift before and after the step)."""
    r = deep_dream(_image(3, (40, 48)), **dict(SMALL, layers=("relu3_1",), size=None, octaves=2, steps=6,
                                              jitter=0))
    same_octave = np.diff(r.history["octave"]) == 0
    rises = np.diff(r.history["objective"])[same_octave] > 0
    assert rises.mean() >= 0.95, np.diff(r.history["objective"])

    opts = DreamOptions(layers=("relu2_2",), weights=False, tile=None).check()
    engine = MinicnnDreamer(opts)
    x = engine.to_array(_image(5).transpose(2, 0, 1))
    rng, ups = np.random.default_rng(0), []
    for _ in range(8):
        ox, oy = draw_shift(rng, 16)
        before, x = engine.step(x, ox, oy)
        after, _ = engine.gradient(np.roll(x, (oy, ox), axis=(2, 3)))
        ups.append(after > before)
    assert np.mean(ups) >= 0.95


@pytest.mark.parametrize("layers,channels,tile", [(("relu2_1",), None, 16), (("relu3_1", "relu2_2"), (1, 5), 20),
                                                  (("pool2",), None, 16)])
def test_tiled_and_untiled_gradients_agree(layers, channels, tile):
    opts = DreamOptions(layers=layers, channels=channels, weights=False, dtype="float64", tile=None).check()
    engine = MinicnnDreamer(opts)
    x = engine.to_array(_image(6, (37, 51)).transpose(2, 0, 1))
    v0, g0 = engine.gradient(x)
    opts.tile = tile
    assert len(tile_plan(37, 51, opts.geometry, tile)) >= 4
    v1, g1 = engine.gradient(x)
    assert abs(v1 - v0) <= 1e-12 * abs(v0)
    assert _rel(g1, g0) <= 1e-10
    # the torch twin tiles the same way
    twin = TorchDreamer(opts)
    tv, tg = twin.gradient(twin.to_array(_image(6, (37, 51)).transpose(2, 0, 1)))
    assert abs(tv - v0) <= 1e-10 * abs(v0) and _rel(tg.numpy(), g0) <= 1e-10


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 300), w=st.integers(1, 300), tile=st.integers(1, 200),
       deep=st.sampled_from(["relu1_2", "pool1", "relu2_1", "relu3_1", "relu4_2", "pool4", "relu5_4"]))
def test_tile_cores_partition_every_layers_activations(h, w, tile, deep):
    """Each activation of each chosen layer is in exactly one core, and its receptive field
    lies inside that tile's pixels (or reaches the image border the same way)."""
    layers = sorted({deep, "relu1_1"})
    geom = layer_geometry("vgg19", layers)
    assert geom.halo % geom.stride == 0 and geom.halo >= geom.reach
    tiles = tile_plan(h, w, geom, tile)
    for name, s in geom.strides.items():
        count = np.zeros((h // s, w // s), dtype=int)
        for t in tiles:
            assert t.rows.start % geom.stride == 0 and t.cols.start % geom.stride == 0
            rows, cols = t.core[name]
            r0, c0 = t.rows.start // s, t.cols.start // s
            count[r0 + rows.start:r0 + rows.stop, c0 + cols.start:c0 + cols.stop] += 1
            if rows.stop > rows.start and cols.stop > cols.start:
                # receptive field of the core's activations: [a*s - reach, (a+1)*s - 1 + reach]
                lo, hi = (r0 + rows.start) * s - geom.reach, (r0 + rows.stop) * s - 1 + geom.reach
                assert t.rows.start <= max(lo, 0) and min(hi, h - 1) < t.rows.stop
        assert (count == 1).all()


def test_octave_shapes_follow_the_notebook():
    assert octave_shapes((512, 384), 4, 1.4) == [(187, 140), (261, 196), (366, 274), (512, 384)]
    assert octave_shapes((10, 20), 1, 1.4) == [(10, 20)]


def test_default_layer_and_schedule_are_the_notebooks():
    sig = inspect.signature(deep_dream).parameters
    assert sig["layers"].default == ("relu4_2",)
    assert (sig["octaves"].default, sig["octave_scale"].default, sig["steps"].default,
            sig["step_size"].default, sig["jitter"].default) == (4, 1.4, 10, 1.5, 32)
    geom = layer_geometry("vgg19", ["relu4_2"])
    # 1/8 grid; reach 38 px left (the convs) + 7 more right (the pools): receptive field 1 + 76 + 7 = 84
    assert (geom.stride, geom.reach, geom.halo) == (8, 45, 48)


def test_step_is_normalised_and_clipped():
    """x += step_size / mean|g| * g (mean change = step_size grey levels), then 0 <= x <= 255."""
    opts = DreamOptions(layers=("relu1_2",), weights=False, dtype="float64", step_size=2.0).check()
    engine = MinicnnDreamer(opts)
    x = engine.to_array(_image(8).transpose(2, 0, 1))
    _, g = engine.gradient(x)
    _, y = engine.step(x, 0, 0)
    inside = (y > 0) & (y < 255)
    np.testing.assert_allclose((y - x)[inside], (2.0 / np.abs(g).mean() * g)[inside], rtol=1e-12, atol=1e-9)
    x_hot = x.copy()
    x_hot[..., :4, :] = 255.0
    _, y_hot = engine.step(x_hot, 3, -2)
    assert y_hot.min() >= 0.0 and y_hot.max() <= 255.0 and (y_hot == 255.0).any()


def test_weights_file_is_used_and_random_weights_are_announced(tmp_path, capsys):
    """A torchvision-layout .pth (here the layers up to relu2_1) is loaded by both twins."""
    import torch
    from minicnn.models import vgg19
    net = vgg19(weights=False, upto="relu2_1", dtype="float64")
    state = {k: torch.from_numpy(v.numpy() * 0.7) for k, v in net.state_dict().items()}   # not the random ones
    torch.save(state, tmp_path / "vgg19-part.pth")
    kw = dict(SMALL, size=None, octaves=1, steps=2, dtype="float64", weights=str(tmp_path / "vgg19-part.pth"))
    set_quiet(False)
    a = deep_dream(_image(), **kw)
    b = th_deep_dream(_image(), **kw)
    assert a.pretrained and b.pretrained and "RANDOM" not in capsys.readouterr().err
    assert _rel(a.history["objective"], b.history["objective"]) <= 1e-8 and _rel(a.image, b.image) <= 1e-8
    r = deep_dream(_image(), **dict(kw, weights=False))
    assert not r.pretrained and "RANDOM weights" in capsys.readouterr().err
    assert abs(r.history["objective"][0] - a.history["objective"][0]) > 1e-3 * a.history["objective"][0]


def test_ctrl_c_saves_the_dream_so_far_at_full_size(tmp_path):
    out = tmp_path / "out.png"

    def press_ctrl_c(octave, step, value):
        if (octave, step) == (0, 1):
            os.kill(os.getpid(), signal.SIGINT)

    r = deep_dream(_image(), **dict(SMALL, size=None, octaves=2, steps=5, callback=press_ctrl_c,
                                    output=str(out)))
    assert r.interrupted and len(r.history["objective"]) == 2
    assert r.image.shape == (36, 44, 3) and len(r.octave_images) == 1
    saved = np.asarray(Image.open(out), dtype=np.float64) / 255
    assert saved.shape == (36, 44, 3) and np.abs(saved - r.image).max() <= 0.5 / 255 + 1e-6
    assert np.abs(r.image - _image()).max() > 1e-3                   # the detail so far is in it
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


def _cli(args):
    from algorithms.cli import main
    return main(["--quiet", "dream"] + args)


def test_cli_writes_the_image_and_each_octave(tmp_path):
    out = tmp_path / "dream.png"
    rc = _cli(["astronaut", "-o", str(out), "--size", "40", "--layer", "relu2_1", "--octaves", "2",
               "--steps", "1", "--weights", "random", "--save-octaves"])
    assert rc == 0
    assert sorted(os.listdir(tmp_path)) == ["dream.png", "dream_octave1.png", "dream_octave2.png"]
    with Image.open(out) as im, Image.open(tmp_path / "dream_octave1.png") as o1:
        assert im.size == (40, 40) and o1.size == (29, 29)


@pytest.mark.parametrize("args,message", [
    (["missing.png"], "does not exist"),
    (["astronaut", "--layer", "relu9_9"], "unknown layer 'relu9_9'"),
    (["astronaut", "--layer", "relu1_1", "--channels", "64"], "channel 64 is out of range for layer relu1_1"),
    (["NOTIMAGE"], "is not a readable image"),
    (["astronaut", "--octaves", "0"], "octaves must be >= 1"),
    (["astronaut", "--size", "16"], "image too small"),
    (["astronaut", "--guide", "missing.png"], "guide file"),
])
def test_cli_bad_input_is_one_line_exit_2_and_no_output(tmp_path, capsys, args, message):
    bad = tmp_path / "notimage.png"
    bad.write_text("this is not an image")
    args = [str(bad) if a == "NOTIMAGE" else a for a in args]
    out = tmp_path / "out.png"
    rc = _cli(args + ["-o", str(out), "--weights", "random"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and message in err and len(err.splitlines()) == 1, err
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["notimage.png"]


def test_python_api_errors_name_the_argument():
    with pytest.raises(ValueError, match="octave_scale must be > 1"):
        deep_dream(_image(), **dict(SMALL, octave_scale=1.0))
    with pytest.raises(TypeError, match="steps must be an integer"):
        deep_dream(_image(), **dict(SMALL, steps=2.5))
    with pytest.raises(ValueError, match="save_octaves must contain"):
        deep_dream(_image(), **dict(SMALL, save_octaves="x.png"))
    with pytest.raises(FileNotFoundError, match="weights file"):
        deep_dream(_image(), **dict(SMALL, weights="no/such/vgg19.pth"))
