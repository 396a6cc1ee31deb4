"""Super-resolution: SRCNN/ESPCN vs their torch twins, the data protocol, tiled inference, training and
exact resume, the shipped weights against bicubic, and the CLI's errors and outputs.

(The PSNR/SSIM helpers are checked against scikit-image in tests/test_metrics.py; imresize in
tests/test_imresize.py.)
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio

import minicnn
from algorithms import super_resolution as sr
from algorithms.cli import main as cli_main
from reference import super_resolution as R
from tests.harness import assert_close, train_losses

TOL = {"float64": (1e-9, 1e-12), "float32": (1e-4, 1e-5)}


def small(kind, scale, dtype="float64", residual=True, seed=0, perturb=True):
    """A model with random weights everywhere (conv3 too, so the residual path is really exercised)."""
    minicnn.manual_seed(seed)
    m = sr.build_model(kind, scale, residual=residual, dtype=dtype)
    if perturb:
        rng = np.random.default_rng(seed)
        m.conv3.weight.data[...] = rng.normal(0, 0.05, m.conv3.weight.shape)
        m.conv3.bias.data[...] = rng.normal(0, 0.05, m.conv3.bias.shape)
    return m


def twin(m, kind, scale, dtype="float64", residual=True):
    return R.load_state(R.build_model(kind, scale, residual=residual, dtype=dtype), m.state_dict())


def smooth_image(h, w, colour=True, seed=0):
    """A smooth random image in [0, 1] with some edges (bicubic-friendly, not constant)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w] / max(h, w)
    chans = []
    for _ in range(3 if colour else 1):
        a, b, c = rng.random(3)
        img = 0.5 + 0.3 * np.sin(6 * a * yy + 5 * b * xx + 3 * c) * np.cos(4 * b * yy - 3 * a * xx)
        img[(yy - rng.random()) ** 2 + (xx - rng.random()) ** 2 < 0.05] += 0.2
        chans.append(img)
    out = np.clip(np.stack(chans, -1), 0, 1)
    return out if colour else out[..., 0]


# --- models vs twins -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind, scale, residual", [("srcnn", 3, True), ("srcnn", 2, False),
                                                   ("espcn", 3, True), ("espcn", 2, False),
                                                   ("espcn", 4, True)])
def test_models_match_torch_twin(kind, scale, residual, dtype):
    m = small(kind, scale, dtype, residual)
    t = twin(m, kind, scale, dtype, residual)
    rng = np.random.default_rng(1)
    x = rng.random((2, 1, 11, 13))
    xm = minicnn.tensor(x, dtype=dtype, requires_grad=True)
    xt = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    ym, yt = m(xm), t(xt)
    f = scale if kind == "espcn" else 1
    assert ym.shape == (2, 1, 11 * f, 13 * f)
    assert_close(ym, yt, dtype, f"{kind} x{scale} forward", TOL[dtype])
    v = rng.standard_normal(ym.shape)
    (ym * minicnn.tensor(v, dtype=dtype)).sum().backward()
    (yt * torch.tensor(v, dtype=getattr(torch, dtype))).sum().backward()
    assert_close(xm.grad, xt.grad, dtype, f"{kind} input gradient", TOL[dtype])
    for (name, p), (_, q) in zip(m.named_parameters(), t.named_parameters()):
        assert_close(p.grad, q.grad, dtype, f"{kind} grad of {name}", TOL[dtype])


def test_untrained_residual_models_start_at_interpolation():
    minicnn.manual_seed(0)
    lr = smooth_image(10, 12, colour=False)
    s = sr.build_model("srcnn", 3, dtype="float64")
    e = sr.build_model("espcn", 3, dtype="float64")
    bic = sr.upscale(lr, 3)
    assert np.abs(sr.forward_plane(s, bic) - bic).max() < 0.01       # conv3 ~ N(0, 1e-3): ~bicubic
    near = np.kron(lr, np.ones((3, 3)))
    assert np.abs(sr.forward_plane(e, lr) - near).max() < 0.01        # ~nearest neighbour
    assert s.radius == 8 and e.radius == 4


@pytest.mark.parametrize("kind", ["srcnn", "espcn"])
def test_upscale_image_matches_twin_in_colour_and_gray(kind):
    m = small(kind, 3)
    t = twin(m, kind, 3)
    img = smooth_image(14, 17)
    a = sr.upscale_image(img, 3, m, kind)
    b = R.upscale_image(img, 3, t, kind)
    assert a.shape == (42, 51, 3)
    assert np.abs(a - b).max() < 1e-9
    g = sr.upscale_image(img[..., 1], 3, m, kind)
    assert g.shape == (42, 51) and np.abs(g - R.upscale_image(img[..., 1], 3, t, kind)).max() < 1e-9


@pytest.mark.parametrize("kind, scale, tile", [("srcnn", 3, 7), ("espcn", 3, 9), ("espcn", 2, 5),
                                               ("srcnn", 4, 6)])
def test_tiled_equals_untiled(kind, scale, tile):
    m = small(kind, scale)
    lr = smooth_image(23, 19, colour=False)
    whole = sr.super_resolve_y(m, kind, lr, scale, tile=0)
    tiled = sr.super_resolve_y(m, kind, lr, scale, tile=tile)
    assert whole.shape == tiled.shape == (23 * scale, 19 * scale)
    assert np.abs(whole - tiled).max() < 1e-12
    # too little overlap would show: cut the tiles without the receptive-field margin
    naive = np.concatenate([sr.super_resolve_y(m, kind, lr[:12], scale), sr.super_resolve_y(m, kind, lr[12:], scale)])
    assert np.abs(whole - naive).max() > 1e-4
    m32 = small(kind, scale, dtype="float32")
    a, b = sr.super_resolve_y(m32, kind, lr, scale), sr.super_resolve_y(m32, kind, lr, scale, tile=tile)
    assert np.abs(a - b).max() < 1e-5


# --- data protocol -----------------------------------------------------------------------------------

def test_luminance_modcrop_and_pairs():
    rgb = (np.random.default_rng(0).integers(0, 256, (13, 17, 3))).astype(np.uint8)
    y = sr.luminance(rgb / 255.0)
    assert np.array_equal(np.round(y * 255), np.round(rgb2ycbcr(rgb)[..., 0]))   # MATLAB rgb2ycbcr on uint8
    assert 16 / 255 - 1e-12 <= y.min() and y.max() <= 235 / 255 + 1e-12
    assert np.abs(sr.ycbcr_to_rgb(sr.rgb_to_ycbcr(rgb / 255.0)) - rgb / 255.0).max() < 1e-12
    lr, hr = sr.make_pair(rgb / 255.0, 3)
    assert hr.shape == (12, 15) and lr.shape == (4, 5)
    assert np.array_equal(hr, y[:12, :15])
    assert np.array_equal(sr.luminance(rgb), y)                            # uint8 and [0, 1] agree
    assert np.array_equal(sr.make_pair(rgb, 3)[0], lr)
    gray = smooth_image(20, 20, colour=False)
    assert np.array_equal(sr.luminance(gray), gray)
    with pytest.raises(ValueError, match="multiple of scale"):
        sr.downscale(np.zeros((10, 9)), 3)


def test_patch_sampler_aligned_augmented_and_deterministic():
    img = smooth_image(60, 66, colour=False)
    for kind, f_in in (("srcnn", 3), ("espcn", 1)):
        s = sr.PatchSampler([img], kind, 3, patch=24, dtype="float64")
        x, y = s.draw_numpy(np.random.default_rng(3), 40)
        assert x.shape == (40, 8 * f_in, 8 * f_in) and y.shape == (40, 24, 24)
        x2, y2 = s.draw_numpy(np.random.default_rng(3), 40)
        assert np.array_equal(x, x2) and np.array_equal(y, y2)
        # each target patch is one of the 8 flips/rotations of an aligned window of the HR image
        lr, hr = sr.make_pair(img, 3)
        inp = sr.model_input(kind, lr, 3)
        for k in range(5):
            found = False
            for t in range(8):
                b = np.rot90(y[k], -(t % 4)) if t < 4 else np.rot90(y[k][:, ::-1], -(t % 4))
                a = np.rot90(x[k], -(t % 4)) if t < 4 else np.rot90(x[k][:, ::-1], -(t % 4))
                hits = np.argwhere(np.all(np.lib.stride_tricks.sliding_window_view(hr, (24, 24)) == b, axis=(2, 3)))
                for i, j in hits:
                    if i % 3 == 0 and j % 3 == 0 and np.array_equal(
                            inp[i * f_in // 3:i * f_in // 3 + 8 * f_in, j * f_in // 3:j * f_in // 3 + 8 * f_in], a):
                        found = True
            assert found, f"{kind}: patch {k} is not an aligned window of the pair"


def test_evaluate_scores_match_skimage_and_order_baselines():
    img = smooth_image(48, 60)
    rows, outputs = sr.evaluate([("smooth", img)], 3, {})
    got = {r["method"]: r["psnr"] for r in rows}
    lr, hr = sr.make_pair(img, 3)
    bic = sr.quantize(sr.upscale(lr, 3))
    ref = peak_signal_noise_ratio(hr[3:-3, 3:-3], bic[3:-3, 3:-3], data_range=1.0)
    assert abs(got["bicubic"] - ref) < 1e-9
    assert got["bicubic"] > got["bilinear"] > got["nearest"]
    table = sr.markdown_table(rows, 3)
    assert "| bicubic |" in table and "+0.00 dB" in table


# --- training ------------------------------------------------------------------------------------

def test_training_steps_match_twin_adam():
    imgs = [smooth_image(40, 44, colour=False, seed=s) for s in range(2)]
    for kind in ("srcnn", "espcn"):
        m = small(kind, 2, perturb=False)
        t = twin(m, kind, 2)
        sampler = sr.PatchSampler(imgs, kind, 2, patch=12, dtype="float64")
        gen = np.random.default_rng(0)
        batches = [tuple(a[:, None] for a in sampler.draw_numpy(gen, 3)) for _ in range(3)]
        opt = minicnn.optim.Adam(m.parameters(), lr=1e-3)
        losses = train_losses(m, sr.mse_loss, batches, opt)
        ref = R.train_steps(t, batches, lr=1e-3)
        np.testing.assert_allclose(losses, ref, rtol=1e-10)
        for (name, p), (_, q) in zip(m.named_parameters(), t.named_parameters()):
            assert_close(p, q, "float64", f"{kind} {name} after 3 Adam steps", TOL["float64"])


def test_rescaled_copies_follow_the_originals_at_each_factor():
    grey = sr.to_uint8(smooth_image(40, 50, colour=False))
    colour = sr.to_uint8(smooth_image(30, 20))
    out = sr.rescaled_copies([grey, colour], (0.8, 0.5))
    assert [o.shape for o in out] == [(40, 50), (30, 20, 3), (32, 40), (24, 16, 3), (20, 25), (15, 10, 3)]
    assert all(o.dtype == np.uint8 for o in out) and out[0] is grey
    ref = sr.to_uint8(sr.imresize(grey / 255.0, scale=0.5))
    assert np.array_equal(out[4], ref)
    # a smooth image keeps its mean brightness within one level
    assert abs(out[4].mean() - grey.mean()) < 1.0
    assert sr.rescaled_copies([grey], ()) == [grey]


def test_loss_border_leaves_the_patch_edges_out_of_the_loss():
    m = small("srcnn", 2, perturb=True)
    rng = np.random.default_rng(1)
    x = minicnn.tensor(rng.random((2, 1, 12, 12)))
    y = rng.random((2, 1, 12, 12))
    whole = float(sr.mse_loss(m, x, minicnn.tensor(y)).item())
    centre = float(sr.mse_loss(m, x, minicnn.tensor(y), border=3).item())
    with minicnn.no_grad():
        out = m(x).numpy()
    assert whole == pytest.approx(np.mean((out - y) ** 2), rel=1e-12)
    assert centre == pytest.approx(np.mean((out - y)[..., 3:-3, 3:-3] ** 2), rel=1e-12)
    y[..., :3, :] += 5.0                                  # a change in the border does not move it
    assert float(sr.mse_loss(m, x, minicnn.tensor(y), border=3).item()) == pytest.approx(centre, rel=1e-12)
    assert float(sr.mse_loss(m, x, minicnn.tensor(y)).item()) > whole + 1.0
    x.requires_grad = True
    sr.mse_loss(m, x, minicnn.tensor(y), border=3).backward()
    assert np.abs(x.grad.numpy()[..., 5, 5]).min() > 0        # the cropped loss still backpropagates


def _cfg(tmp_path, steps, resume=False):
    return sr.SRConfig(kind="espcn", scale=2, steps=steps, batch_size=2, patch=12, lr=1e-3, lr_decay_steps=3,
                       seed=4, dtype="float64", checkpoint=str(tmp_path / "ck.npz"), checkpoint_every=1,
                       validate_every=2, resume=resume, val_crop=24)


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    imgs = [smooth_image(36, 40, colour=False, seed=s) for s in range(2)]
    val = [smooth_image(30, 30, colour=False, seed=9)]
    full, res_full, _ = sr.train_sr(imgs, val, _cfg(tmp_path / "a", 5))
    sr.train_sr(imgs, val, _cfg(tmp_path / "b", 2))                       # "killed" after 2 steps
    resumed, res, _ = sr.train_sr(imgs, val, _cfg(tmp_path / "b", 5, resume=True))
    assert res.step == res_full.step == 5
    assert res.history["loss"] == res_full.history["loss"]
    for (name, p), (_, q) in zip(full.named_parameters(), resumed.named_parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy()), name


# --- shipped weights ----------------------------------------------------------------------------------

def _held_out_crop():
    """The 171x171 LR (513 -> 510 HR) camera image's central 240x240 HR crop: face, camera, tripod."""
    hr = sr.modcrop(sr.luminance(sr.sample_image("camera")), 3)
    hr = hr[60:300, 150:390]
    return sr.downscale(hr, 3), hr


@pytest.mark.parametrize("kind", ["srcnn", "espcn"])
def test_shipped_x3_weights_beat_bicubic_on_a_held_out_image(kind):
    assert "camera" in sr.TEST_IMAGES and "camera" not in sr.TRAIN_IMAGES
    model = sr.load_model(kind, 3)
    lr, hr = _held_out_crop()
    bic = sr.psnr(sr.quantize(sr.upscale(lr, 3)), hr, shave=3)
    net = sr.psnr(sr.quantize(sr.super_resolve_y(model, kind, lr, 3)), hr, shave=3)
    assert net - bic >= 0.5, f"{kind} x3: {net:.2f} dB vs bicubic {bic:.2f} dB"


@pytest.mark.parametrize("kind", ["srcnn", "espcn"])
def test_self_ensemble_is_the_mean_of_the_8_transformed_runs_and_helps(kind):
    """x8 self-ensemble on the held-out crop: equals the mean of the 8 undone outputs, and
    scores at least the single pass (measured +0.04-0.08 dB on the held-out images)."""
    model = sr.load_model(kind, 3)
    lr, hr = _held_out_crop()
    lr = lr[:40, :44]
    hr = hr[:120, :132]
    got = sr.super_resolve_y(model, kind, lr, 3, self_ensemble=True)
    runs = [np.rot90(sr.super_resolve_y(model, kind, np.ascontiguousarray(np.rot90(lr, k)), 3), -k)
            for k in range(4)]
    runs += [np.rot90(sr.super_resolve_y(model, kind, np.ascontiguousarray(np.rot90(lr, k)[:, ::-1]), 3)[:, ::-1], -k)
             for k in range(4)]
    assert np.abs(got - np.mean(runs, axis=0)).max() < 1e-6
    one = sr.psnr(sr.quantize(runs[0]), hr, shave=3)
    assert sr.psnr(sr.quantize(got), hr, shave=3) >= one - 0.01


@pytest.mark.parametrize("kind", ["srcnn", "espcn"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_every_shipped_weights_file_loads_for_its_scale_only(kind, scale):
    m = sr.load_model(kind, scale)
    assert m.residual and not m.training
    other = 2 if scale != 2 else 3
    with pytest.raises(ValueError, match=f"trained for scale {scale}, not {other}"):
        sr.load_weights(sr.default_weights(kind, scale), kind, other)
    with pytest.raises(ValueError, match="holds an"):
        sr.load_weights(sr.default_weights(kind, scale), "espcn" if kind == "srcnn" else "srcnn", scale)


# --- command line ----------------------------------------------------------------------------------

def _png(path, img):
    sr.write_image(path, img)
    return str(path)


def _run(capsys, argv):
    code = cli_main(["--quiet"] + argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("ensemble", [False, True])
def test_upscale_cli_writes_the_upscaled_image(tmp_path, capsys, ensemble):
    src = _png(tmp_path / "in.png", smooth_image(20, 26))
    m = small("espcn", 3, dtype="float32")
    w = sr.save_weights(m, tmp_path / "w.npz", "espcn", 3)
    out = tmp_path / "sub" / "out.png"
    code, stdout, _ = _run(capsys, ["upscale", src, "-o", str(out), "--scale", "3", "--model", "espcn",
                                    "--weights", str(w), "--tile", "8"] + (["--self-ensemble"] if ensemble else []))
    assert code == 0 and "wrote" in stdout
    got = sr.read_image(out)
    ref = sr.upscale_image(sr.read_image(src), 3, sr.load_weights(w, "espcn", 3), "espcn", self_ensemble=ensemble)
    assert got.dtype == ref.dtype == np.uint8 and got.shape == (60, 78, 3)
    assert np.array_equal(got, ref)
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.png"]      # no temporary files left


@pytest.mark.parametrize("argv, match", [
    (["upscale", "{missing}", "-o", "{out}"], "does not exist"),
    (["upscale", "{src}", "-o", "{out}", "--scale", "5"], "--scale must be 2, 3 or 4, got '5'"),
    (["upscale", "{src}", "-o", "{out}", "--scale", "x2"], "--scale must be 2, 3 or 4"),
    (["upscale", "{src}", "-o", "{out}", "--scale", "3", "--model", "espcn", "--weights", "{w2}"],
     "trained for scale 2, not 3"),
    (["upscale", "{src}", "-o", "{out}", "--scale", "2", "--model", "srcnn", "--weights", "{w2}"],
     "holds an ESPCN model, not SRCNN"),
    (["upscale", "{src}", "-o", "{out}", "--weights", "{missing}"], "does not exist"),
    (["upscale", "{src}", "-o", "{out}", "--tile", "-1"], "--tile must be"),
    (["eval-sr", "--dataset", "{missing}", "--out", "{dir}"], "does not exist"),
    (["eval-sr", "--scale", "1", "--out", "{dir}"], "--scale must be 2, 3 or 4"),
    (["train-sr", "--scale", "6", "--out", "{dir}/w.npz"], "--scale must be 2, 3 or 4"),
    (["train-sr", "--steps", "0", "--out", "{dir}/w.npz"], "--steps must be a positive integer"),
    (["train-sr", "--resume", "--out", "{dir}/w.npz"], "checkpoint .* does not exist"),
    (["train-sr", "--model", "espcn", "--scale", "3", "--init", "{w2}", "--out", "{dir}/w.npz"],
     "trained for scale 2, not 3"),
    (["train-sr", "--init", "{missing}", "--out", "{dir}/w.npz"], "does not exist"),
    (["train-sr", "--patch", "16", "--loss-border", "8", "--out", "{dir}/w.npz"],
     r"loss border must be an integer in \[0, 7\] for 16-pixel patches, got 8"),
    (["train-sr", "--loss-border", "-1", "--out", "{dir}/w.npz"], "loss border must be .* got -1"),
    (["train-sr", "--rescale", "0.8,1.5", "--out", "{dir}/w.npz"], r"rescale factors must be numbers in \[0.1, 1\), got 1.5"),
    (["train-sr", "--rescale", "half", "--out", "{dir}/w.npz"], "--rescale must be comma-separated numbers"),
])
def test_cli_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, argv, match):
    import re
    src = _png(tmp_path / "in.png", smooth_image(12, 12))
    w2 = sr.save_weights(small("espcn", 2, dtype="float32"), tmp_path / "w2.npz", "espcn", 2)
    subs = {"{missing}": str(tmp_path / "nope.png"), "{out}": str(tmp_path / "o.png"), "{src}": src,
            "{w2}": str(w2), "{dir}": str(tmp_path / "d")}
    argv = [subs.get(a, a.replace("{dir}", str(tmp_path / "d"))) for a in argv]
    code, out, err = _run(capsys, argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and re.search(match, lines[0]), err
    assert not (tmp_path / "o.png").exists()


def test_eval_sr_cli_writes_table_and_comparison(tmp_path, capsys):
    data = tmp_path / "set"
    data.mkdir()
    for i in range(2):
        _png(data / f"img{i}.png", smooth_image(36, 45, seed=i))
    ws = sr.save_weights(small("srcnn", 3, dtype="float32"), tmp_path / "s.npz", "srcnn", 3)
    we = sr.save_weights(small("espcn", 3, dtype="float32"), tmp_path / "e.npz", "espcn", 3)
    out = tmp_path / "eval"
    code, stdout, _ = _run(capsys, ["eval-sr", "--dataset", str(data), "--out", str(out), "--scale", "3",
                                    "--srcnn-weights", str(ws), "--espcn-weights", str(we), "--crop", "24",
                                    "--self-ensemble"])
    assert code == 0
    table = (out / "table.md").read_text()
    for m in ("nearest", "bilinear", "bicubic", "SRCNN", "ESPCN", "SRCNN x8", "ESPCN x8"):
        assert f"| {m} |" in table and f"| {m} |" in stdout
    rows, _ = sr.evaluate([(f"img{i}", sr.read_image(data / f"img{i}.png")) for i in range(2)], 3, {})
    bic = np.mean([r["psnr"] for r in rows if r["method"] == "bicubic"])
    assert "| bicubic | " in table and f"{bic:.2f} / " in table
    from PIL import Image
    with Image.open(out / "comparison.png") as im:
        assert im.size[0] > 400 and im.size[1] > 150


def test_train_sr_init_starts_from_the_given_weights(tmp_path, capsys):
    """--init loads the file (e.g. the shipped weights) instead of a fresh initialisation: with a
    tiny learning rate one step leaves the weights within 1e-4 of the file, while a fresh start
    differs by far more."""
    data = tmp_path / "train"
    data.mkdir()
    _png(data / "a.png", smooth_image(40, 44, seed=1))
    init = sr.save_weights(small("espcn", 2, dtype="float32", seed=5), tmp_path / "init.npz", "espcn", 2)
    runs = {}
    for name, extra in (("init", ["--init", str(init)]), ("fresh", [])):
        out = tmp_path / f"{name}.npz"
        code, _, err = _run(capsys, ["train-sr", "--model", "espcn", "--scale", "2", "--steps", "1",
                                     "--batch-size", "2", "--patch", "12", "--lr", "1e-7", "--data", str(data),
                                     "--val", "", "--out", str(out)] + extra)
        assert code == 0, err
        runs[name] = sr.load_weights(out, "espcn", 2).state_dict()
    start = sr.load_weights(init, "espcn", 2).state_dict()
    for k, v in start.items():
        assert np.abs(runs["init"][k].numpy() - v.numpy()).max() < 1e-4, k
    assert min(np.abs(runs["fresh"][k].numpy() - v.numpy()).max() for k, v in start.items()) > 1e-2
