"""Style transfer: minicnn and its torch twin compute the same losses, gradients and images;
the algorithm lowers its loss; inputs are converted; bad inputs fail early with one line."""
from __future__ import annotations

import inspect
import os
import signal

import numpy as np
import pytest
from PIL import Image

from algorithms import cli
from algorithms.style.options import StyleOptions, estimate_memory, vgg_layers
from algorithms.style.prepare import RGB_TO_YCBCR, prepare
from algorithms.style_transfer import MinicnnEngine
from algorithms.style_transfer import style_transfer as mc_style_transfer
from reference.style_transfer import TorchEngine
from reference.style_transfer import style_transfer as th_style_transfer

# A VGG19 truncated at relu3_1 and images of 32-40 px keep every twin check fast.
SMALL = dict(content_layers=("relu2_2",), style_layers=("relu1_1", "relu2_1", "relu3_1"),
             weights=False, progress=False)


def _images(seed=0):
    rng = np.random.default_rng(seed)
    smooth = lambda h, w: np.clip(  # noqa: E731  (smooth random colours, like a photo)
        np.cumsum(np.cumsum(rng.standard_normal((h, w, 3)), 0), 1) / 40 + 0.5, 0, 1)
    return smooth(40, 32), smooth(36, 36), smooth(30, 40)


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def _num(v):
    return float(v.detach()) if hasattr(v, "detach") else float(v)


def test_twin_has_the_same_signature():
    assert inspect.signature(mc_style_transfer) == inspect.signature(th_style_transfer)


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_losses_and_image_gradient_match_torch(pooling):
    content, style1, style2 = _images()
    opts = StyleOptions.from_kwargs(size=40, dtype="float64", pooling=pooling, style_blend_weights=(1, 3),
                                    **SMALL)
    plan = prepare(content, [style1, style2], opts)
    scale = plan.scales[0]
    x0 = np.clip(scale.content + 0.1 * np.random.default_rng(1).standard_normal(scale.content.shape), 0, 1)
    out = {}
    for name, engine in (("mc", MinicnnEngine(opts)), ("th", TorchEngine(opts))):
        targets = engine.targets(scale.content, scale.styles, plan.blend)
        x = engine.new_image(x0)
        parts = engine.losses(x, targets)
        parts[0].backward()
        out[name] = [_num(p) for p in parts], np.asarray(engine.grad_copy(x).cpu() if name == "th"
                                                         else engine.grad_copy(x))
    (mc_losses, mc_grad), (th_losses, th_grad) = out["mc"], out["th"]
    assert all(v > 0 for v in th_losses), th_losses     # every term is exercised
    for what, a, b in zip(("total", "content", "style", "tv"), mc_losses, th_losses):
        assert abs(a - b) <= 1e-8 * abs(b), f"{what} loss: minicnn {a!r} vs torch {b!r}"
    assert mc_grad.shape == (1, 3, 40, 32)
    assert _rel(mc_grad, th_grad) <= 1e-8
    # total = sum of the weighted terms; Gram matrices normalised by C*H*W (checked by hand)
    assert abs(mc_losses[0] - sum(mc_losses[1:])) <= 1e-12 * mc_losses[0]


def test_gram_normalisation_is_c_h_w():
    import minicnn
    from minicnn import functional as F
    f = np.random.default_rng(2).standard_normal((1, 4, 3, 5))
    g = F.gram_matrix(minicnn.tensor(f, dtype="float64")).numpy()
    flat = f.reshape(4, 15)
    np.testing.assert_allclose(g[0], flat @ flat.T / (4 * 3 * 5), rtol=1e-12)


def test_ten_lbfgs_iterations_give_the_same_image_as_torch():
    content, style1, _ = _images()
    kw = dict(size=32, dtype="float64", iters=10, **SMALL)
    a = mc_style_transfer(content, style1, **kw)
    b = th_style_transfer(content, style1, **kw)
    assert len(a.history["total"]) == 11 and a.evaluations == b.evaluations == 11
    assert _rel(a.history["total"], b.history["total"]) <= 1e-8
    assert np.abs(a.last_image - b.last_image).max() <= 1e-6
    assert np.abs(a.image - b.image).max() <= 1e-6
    assert a.history["total"][-1] < 0.5 * a.history["total"][0]


@pytest.mark.parametrize("extra", [
    dict(line_search="strong_wolfe", scales=2, size=40, original_colors=True, init="random",
         pooling="avg", style_blend_weights=(2, 1), iters=2),
    dict(optimizer="adam", iters=3, tv_weight=0.0, style_scale=0.8, size=32),
], ids=["lbfgs-wolfe-2scales-colors-random", "adam"])
def test_every_option_path_matches_torch(extra):
    content, style1, style2 = _images(3)
    kw = dict(dict(size=40, dtype="float64", **SMALL), **extra)
    a = mc_style_transfer(content, [style1, style2], **kw)
    b = th_style_transfer(content, [style1, style2], **kw)
    assert a.evaluations == b.evaluations and a.sizes == b.sizes
    assert _rel(a.history["total"], b.history["total"]) <= 1e-8
    assert np.abs(a.image - b.image).max() <= 1e-6
    assert a.best_loss == min(t for t, s in zip(a.history["total"], a.history["scale"])
                              if s == a.history["scale"][-1])


def test_a_torchvision_weights_file_is_loaded_by_both_twins(tmp_path):
    """A .pth in torchvision's layout (here only the layers up to relu3_1) is used, not random weights."""
    import torch
    from algorithms.style.options import expected_shapes_upto
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(*shape, generator=gen, dtype=torch.float64) * (0.3 if k.endswith("weight") else 0.05)
             for k, shape in expected_shapes_upto("vgg19", "relu3_1").items()}
    torch.save(state, tmp_path / "vgg19-part.pth")
    content, style1, _ = _images(7)
    kw = dict(dict(SMALL, weights=str(tmp_path / "vgg19-part.pth")), size=32, dtype="float64", iters=2)
    a, b = mc_style_transfer(content, style1, **kw), th_style_transfer(content, style1, **kw)
    assert a.pretrained and b.pretrained
    random = mc_style_transfer(content, style1, **dict(kw, weights=False))
    assert abs(random.first_loss - a.first_loss) > 1e-3 * a.first_loss   # the file's weights were used
    assert _rel(a.history["total"], b.history["total"]) <= 1e-8
    assert np.abs(a.image - b.image).max() <= 1e-6


def _end_to_end(**layers):
    from skimage import data
    r = mc_style_transfer(data.astronaut(), data.coffee(), size=64, iters=30, weights=False,
                          progress=False, **layers)
    assert r.image.shape == (64, 64, 3) and r.image.dtype == np.float32
    assert 0.0 <= r.image.min() and r.image.max() <= 1.0
    assert r.first_loss / r.best_loss >= 10.0, (r.first_loss, r.best_loss)
    assert r.history["style"][-1] < 0.1 * r.history["style"][0]
    assert len(r.history["total"]) == 31 and not r.pretrained


@pytest.mark.slow
def test_end_to_end_64px_30_iterations_lowers_the_loss_10x():
    """The default layers (content relu4_2; style relu1_1..relu5_1) of VGG19, random weights, float32."""
    _end_to_end()


def test_end_to_end_64px_30_iterations_lowers_the_loss_10x_fast():
    """The same run on VGG19 cut at relu3_1 (about 3x cheaper), for the default test suite."""
    _end_to_end(content_layers=("relu2_2",), style_layers=("relu1_1", "relu2_1", "relu3_1"))


def test_original_colors_keeps_the_content_chroma():
    content, style1, _ = _images(4)
    opts = StyleOptions.from_kwargs(size=40, dtype="float64", original_colors=True, **SMALL)
    plan = prepare(content, style1, opts)
    engine = MinicnnEngine(opts)
    chw = plan.scales[0].content
    stylised = np.clip(0.5 + 0.2 * np.random.default_rng(5).standard_normal(chw.shape), 0, 1)
    out = engine.to_image(stylised[None], chw)
    ycc = lambda img: np.einsum("ij,jhw->ihw", RGB_TO_YCBCR, img)  # noqa: E731
    got, want_y, want_c = ycc(out.transpose(2, 0, 1)), ycc(stylised), ycc(chw)
    inside = (out > 1e-9).all(-1) & (out < 1 - 1e-9).all(-1)   # not clipped
    assert inside.mean() > 0.5
    np.testing.assert_allclose(got[0][inside], want_y[0][inside], atol=1e-9)
    np.testing.assert_allclose(got[1:][:, inside], want_c[1:][:, inside], atol=1e-9)


def test_ctrl_c_stops_and_saves_the_best_image(tmp_path):
    import threading
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGINT handlers can only be installed from the main thread")
    content, style1, _ = _images()
    out = tmp_path / "out.png"

    def press_ctrl_c(losses, get_image):
        if losses["iteration"] == 2:
            os.kill(os.getpid(), signal.SIGINT)

    r = mc_style_transfer(content, style1, size=40, iters=20, output=str(out), callback=press_ctrl_c,
                          **SMALL)
    assert r.interrupted and len(r.history["total"]) == 3      # x_0, x_1, x_2: stopped after step 2
    assert r.best_loss == min(r.history["total"])
    saved = np.asarray(Image.open(out), dtype=np.float64) / 255
    assert saved.shape == (40, 32, 3) and np.abs(saved - r.image).max() <= 0.5 / 255 + 1e-6
    assert sorted(os.listdir(tmp_path)) == ["out.png"]           # no temporary files left


def test_stop_object_intermediate_images_and_plot(tmp_path):
    class Stop:
        requested = False

    content, style1, style2 = _images()
    out = tmp_path / "o.png"
    init = tmp_path / "start.png"
    Image.fromarray((style2 * 255).round().astype(np.uint8)).save(init)   # 30x40, resized to 40x32
    r = mc_style_transfer(content, style1, size=40, iters=4, output=str(out), save_every=2, plot=True,
                          stop=Stop(), init=str(init), **SMALL)
    assert not r.interrupted and len(r.history["total"]) == 5
    assert r.history["content"][0] > 0            # started from the init image, not the content
    assert sorted(os.listdir(tmp_path)) == ["o.png", "o_00002.png", "o_00004.png", "o_losses.png", "start.png"]
    with Image.open(tmp_path / "o_losses.png") as im:
        assert im.format == "PNG" and im.size[0] > 300


def test_grayscale_rgba_and_16bit_images_are_converted(tmp_path):
    rng = np.random.default_rng(6)
    gray = (rng.random((36, 30)) * 255).astype(np.uint8)
    rgba = (rng.random((36, 30, 4)) * 255).astype(np.uint8)
    deep = (rng.random((36, 30)) * 65535).astype(np.uint16)
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(deep).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as im:
        assert im.mode.startswith("I")                            # really a 16-bit file
    opts = StyleOptions.from_kwargs(size=36, **SMALL)
    plan = prepare(str(tmp_path / "gray.png"), [str(tmp_path / "rgba.png"), str(tmp_path / "deep.png")], opts)
    scale = plan.scales[0]
    assert scale.content.shape == (3, 36, 30) and len(scale.styles) == 2
    np.testing.assert_allclose(scale.content, np.repeat(gray[None] / 255.0, 3, 0), atol=1e-6)
    alpha = rgba[..., 3:] / 255.0
    want = rgba[..., :3] / 255.0 * alpha + (1 - alpha)           # composited onto white
    np.testing.assert_allclose(scale.styles[0], want.transpose(2, 0, 1), atol=2 / 255)
    np.testing.assert_allclose(scale.styles[1], np.repeat(deep[None] / 65535.0, 3, 0), atol=1e-6)


# --- bad inputs: one line, exit code 2, no output file -----------------------------------------

@pytest.fixture
def files(tmp_path):
    content, style1, _ = _images()
    Image.fromarray((content * 255).astype(np.uint8)).save(tmp_path / "c.png")
    Image.fromarray((style1 * 255).astype(np.uint8)).save(tmp_path / "s.png")
    (tmp_path / "notes.png").write_text("this is not an image")
    return tmp_path


BAD = [
    (["missing.png", "s.png"], "does not exist"),
    (["c.png", "s.png", "--style-blend-weights", "1", "2"], "2 values but there is 1 style image"),
    (["notes.png", "s.png"], "not a readable image"),
    (["c.png", "s.png", "--size", "0"], "size must be a positive"),
    (["c.png", "s.png", "--size", "200000"], "of memory"),
    (["c.png", "s.png", "--content-layers", "relu9_1"], "unknown layer 'relu9_1'"),
    (["c.png", "s.png", "--style-weight", "-1"], "style_weight must be >= 0"),
    (["c.png", "s.png", "s.png", "--style-blend-weights", "1", "-2"], "style_blend_weights must be >= 0"),
    (["c.png", "s.png", "--iters", "-3"], "iters must be >= 0"),
    (["c.png", "s.png", "--init", "nope.png"], "does not exist"),
    (["c.png", "s.png", "--weights", "nope.pth"], "does not exist"),
    (["c.png", "s.png", "--scales", "6", "--size", "64"], "too small for layer relu5_1"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[m for _, m in BAD])
def test_bad_inputs_fail_with_one_line_and_no_output(files, capsys, args, message):
    before = set(os.listdir(files))
    argv = ["--quiet", "style"] + [str(files / a) if a.endswith((".png", ".pth")) else a for a in args]
    code = cli.main(argv + ["-o", str(files / "out.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err, err
    assert set(os.listdir(files)) == before                      # nothing written


def test_output_must_be_an_image_file(files, capsys):
    code = cli.main(["style", str(files / "c.png"), str(files / "s.png"), "-o", str(files / "out.txt")])
    assert code == 2 and "must end in one of .png" in capsys.readouterr().err


def test_memory_estimate_grows_with_size_and_history():
    opts = StyleOptions().check(1)
    small, big = estimate_memory(opts, 512, 512), estimate_memory(opts, 1024, 1024)
    assert 3.5 < big / small < 4.2
    # measured (benchmark) at 512 px: ~0.5 GiB resident after 5 iterations, +0.6 GiB of full L-BFGS history
    assert 1.2 * 2 ** 30 < small < 2.0 * 2 ** 30
    opts.history_size = 5
    assert estimate_memory(opts, 512, 512) < small - 500 * 2 ** 20


def test_layer_table_matches_the_vgg_model():
    from minicnn.models.vgg import vgg_layer_names
    for arch in ("vgg16", "vgg19"):
        assert [l.name for l in vgg_layers(arch)] == vgg_layer_names(arch)
