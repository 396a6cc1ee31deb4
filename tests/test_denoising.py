"""Denoising pipeline: data, tiled/self-ensemble inference vs the torch twin, training, resume, shipped
weights, CLI errors and evaluation."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from algorithms import denoising as D
from algorithms.cli import main as cli_main
from algorithms.common.metrics import psnr
from reference import denoising as R
from reference.models.rednet import REDNet as THREDNet
from tests.harness import train_losses


def small_model(depth=4, channels=1, features=6, seed=0, dtype="float64"):
    return D.build_model(depth, channels, features, residual=True, seed=seed, dtype=dtype)


def torch_twin(m):
    t = THREDNet(depth=m.depth, channels=m.channels, features=m.features, residual=m.residual,
                 dtype=torch.float64 if m.conv1.weight.dtype == np.float64 else torch.float32)
    t.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in m.state_dict().items()})
    return t


def synthetic_images(n=4, size=64, seed=0):
    """Piecewise-smooth images: a few flat rectangles and discs on a gentle gradient."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    out = []
    for _ in range(n):
        img = 0.3 + 0.3 * (rng.random() * yy + rng.random() * xx)
        for _ in range(6):
            if rng.random() < 0.5:
                y0, x0 = rng.integers(0, size - 8, 2)
                h, w = rng.integers(6, size // 2, 2)
                img[y0:y0 + h, x0:x0 + w] = rng.random()
            else:
                cy, cx, r = rng.random(), rng.random(), 0.05 + 0.2 * rng.random()
                img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.random()
        out.append(np.clip(img, 0, 1))
    return out


# --- data ---------------------------------------------------------------------------------------------

def test_patch_sampler_shapes_noise_and_determinism():
    imgs = synthetic_images(2, 48)
    s = D.PatchSampler(imgs, channels=1, patch=24, batch=64, sigma=25, dtype="float64")
    noisy, clean = s.draw_numpy(np.random.default_rng(5))
    assert noisy.shape == clean.shape == (64, 1, 24, 24) and noisy.dtype == np.float64
    assert abs((noisy - clean).std() * 255 - 25) < 0.5
    n2, c2 = s.draw_numpy(np.random.default_rng(5))
    assert np.array_equal(n2, noisy) and np.array_equal(c2, clean)
    # every clean patch is a flip/rotation of a window of one of the images
    patch = clean[0, 0]
    views = [np.rot90(patch, -k) for k in range(4)] + [np.rot90(patch[:, ::-1], -k) for k in range(4)]
    win = [np.lib.stride_tricks.sliding_window_view(im, (24, 24)) for im in imgs]
    assert any((np.abs(w - v).max(axis=(2, 3)) < 1e-12).any() for w in win for v in views)
    blind = D.PatchSampler(imgs, channels=3, patch=16, batch=200, sigma=None, blind_range=(0, 55))
    nb, cb = blind.draw_numpy(np.random.default_rng(0))
    stds = (nb - cb).reshape(200, -1).std(axis=1) * 255
    assert nb.shape == (200, 3, 16, 16) and stds.min() < 8 and stds.max() > 45 and stds.max() < 58
    with pytest.raises(ValueError, match="at least 100 x 100"):
        D.PatchSampler(imgs, patch=100)


def test_named_images_and_sigma_checks():
    cam = D.sample_image("camera")
    assert cam.shape == (512, 512) and 0 <= cam.min() and cam.max() <= 1
    assert D.sample_image("motorcycle").ndim == 3
    assert not set(D.TRAIN_IMAGES) & set(D.TEST_GRAY + D.TEST_COLOR + D.VAL_IMAGES)
    with pytest.raises(ValueError, match="unknown sample image 'nope'"):
        D.sample_image("nope")
    for bad in (-1, float("nan"), 300, "x"):
        with pytest.raises(ValueError, match="--sigma"):
            D.check_sigma(bad)


# --- inference ------------------------------------------------------------------------------------------

def test_tiled_equals_untiled_and_matches_torch_twin():
    m = small_model(depth=4, features=6, seed=1)
    rng = np.random.default_rng(0)
    x = rng.random((1, 1, 37, 45))
    whole = D.denoise_planes(m, x, tile=0)
    for tile in (8, 16, 30):
        tiled = D.denoise_planes(m, x, tile=tile)
        assert np.abs(tiled - whole).max() <= 1e-12, tile
    t = torch_twin(m)
    ref = R.denoise_planes(t, torch.from_numpy(x), tile=16).numpy()
    assert np.abs(ref - whole).max() <= 1e-9
    ens = D.denoise_planes(m, x, tile=16, self_ensemble=True)
    ref_ens = R.denoise_planes(t, torch.from_numpy(x), tile=0, self_ensemble=True).numpy()
    assert np.abs(ens - ref_ens).max() <= 1e-9
    assert np.abs(ens - whole).max() > 1e-6          # the 8 views really differ


def test_float32_inference_matches_torch():
    m = small_model(depth=6, channels=3, features=5, seed=2, dtype="float32")
    x = np.random.default_rng(1).random((1, 3, 20, 23)).astype(np.float32)
    ours = D.denoise_planes(m, x, tile=9, self_ensemble=True)
    ref = R.denoise_planes(torch_twin(m), torch.from_numpy(x), tile=0, self_ensemble=True).numpy()
    assert np.abs(ours - ref).max() <= 1e-4


def test_gray_and_colour_images_with_either_model():
    gray_m, col_m = small_model(channels=1, seed=3), small_model(channels=3, seed=4)
    rng = np.random.default_rng(0)
    g, c = rng.random((19, 21)), rng.random((19, 21, 3))
    out = D.denoise_array(gray_m, c, clip=False)         # a gray model works channel by channel
    assert out.shape == c.shape
    assert np.abs(out[..., 1] - D.denoise_array(gray_m, c[..., 1], clip=False)).max() < 1e-12
    assert D.denoise_array(col_m, g).shape == g.shape and D.denoise_array(col_m, c).shape == c.shape
    o = D.denoise_array(col_m, c, tile=8)
    assert 0 <= o.min() and o.max() <= 1
    with pytest.raises(ValueError, match="expected a"):
        D.denoise_array(gray_m, rng.random((4, 4, 2)))


def test_init_from_refuses_other_architectures(tmp_path):
    D.save_weights(small_model(channels=1, seed=1), tmp_path / "g.npz", sigma=25.0)
    m = small_model(channels=1, seed=2)
    D.init_from(m, tmp_path / "g.npz")
    g, _ = D.load_weights(tmp_path / "g.npz", dtype="float64")
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(m.state_dict().values(),
                                                                     g.state_dict().values()))
    for other in (small_model(depth=6), small_model(channels=3)):
        with pytest.raises(ValueError, match="do not fit"):
            D.init_from(other, tmp_path / "g.npz")


# --- training --------------------------------------------------------------------------------------------

def tiny_config(tmp_path, steps, **kw):
    base = dict(depth=4, features=8, steps=steps, batch_size=8, patch=24, lr=3e-3, lr_min=1e-4, dtype="float64",
                checkpoint=str(tmp_path / "ck.npz"), checkpoint_every=2, validate_every=steps, val_crop=48)
    base.update(kw)
    return D.DenoiseConfig(**base)


def test_short_training_lowers_loss_and_beats_the_noisy_input(tmp_path):
    imgs = synthetic_images(4, 64, seed=0)
    val = synthetic_images(1, 64, seed=9)
    cfg = tiny_config(tmp_path, 60, features=16, checkpoint=None, dtype="float32",
                      plot=str(tmp_path / "curves.png"))
    model, result, noisy_val = D.train_denoiser(cfg, train_images=imgs, val_images=val)
    loss = result.history["loss"]
    assert np.mean(loss[-10:]) < 0.6 * np.mean(loss[:5])
    assert result.history["val_psnr"][-1] > noisy_val + 3.0
    assert (tmp_path / "curves.png").stat().st_size > 1000
    # and on a fresh noisy image
    clean = synthetic_images(1, 64, seed=11)[0]
    noisy = D.add_noise(clean, 25, np.random.default_rng(0))
    assert psnr(D.denoise_array(model, noisy), clean) > psnr(noisy, clean) + 3.0


def test_resume_after_interruption_gives_the_same_weights(tmp_path, monkeypatch):
    imgs, val = synthetic_images(2, 48, seed=1), synthetic_images(1, 48, seed=2)
    ref, _, _ = D.train_denoiser(tiny_config(tmp_path / "a", 5), train_images=imgs, val_images=val)

    calls = {"n": 0}
    original = D.PatchSampler.__call__

    def dies_at_step_4(self, gen):
        calls["n"] += 1
        if calls["n"] == 4:                   # killed while drawing step 4; last checkpoint: step 2
            raise KeyboardInterrupt
        return original(self, gen)
    monkeypatch.setattr(D.PatchSampler, "__call__", dies_at_step_4)
    with pytest.raises(KeyboardInterrupt):
        D.train_denoiser(tiny_config(tmp_path / "b", 5), train_images=imgs, val_images=val)
    monkeypatch.setattr(D.PatchSampler, "__call__", original)
    resumed, result, _ = D.train_denoiser(tiny_config(tmp_path / "b", 5, resume=True), train_images=imgs,
                                          val_images=val)
    assert result.step == 5 and result.history["step"] == [1, 2, 3, 4, 5]
    a, b = ref.state_dict(), resumed.state_dict()
    for k in a:
        assert np.abs(a[k].numpy() - b[k].numpy()).max() <= 1e-12, k


def test_training_matches_torch_for_a_few_steps():
    """Same batches: minicnn's Adam + cosine schedule and torch's give the same weights (float64)."""
    from minicnn.optim import Adam
    from minicnn.optim.lr_scheduler import CosineAnnealingLR
    m = small_model(depth=4, features=6, seed=5)
    t = torch_twin(m)
    s = D.PatchSampler(synthetic_images(2, 40), patch=16, batch=4, sigma=25, dtype="float64")
    gen = np.random.default_rng(0)
    batches = [s.draw_numpy(gen) for _ in range(4)]
    opt = Adam(m.parameters(), lr=1e-2)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=1e-4)
    ours = train_losses(m, D.mse_loss, batches, opt, sched)
    theirs = R.train_steps(t, [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches], lr=1e-2,
                           lr_min=1e-4)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    tp = dict(t.named_parameters())
    for k, p in m.named_parameters():
        assert np.abs(p.detach().numpy() - tp[k].detach().numpy()).max() <= 1e-9, k


# --- the shipped weights -------------------------------------------------------------------------------------

# The colour model's bound is 5 dB: the centre of motorcycle is its most detailed part (the engine);
# on the whole image it gains 7.8 dB (see minicnn/weights/README.md).
@pytest.mark.parametrize("color,sigma,image,bound", [(False, 25.0, "camera", 6.0), (False, None, "coins", 6.0),
                                                     (True, None, "motorcycle", 5.0)])
def test_shipped_weights_beat_the_noisy_input_by_6db(color, sigma, image, bound):
    path, _ = D.shipped_weights(color, sigma)
    model, meta = D.load_weights(path)
    assert meta["sigma"] == sigma and model.channels == (3 if color else 1)
    clean = D.central_crop(D.as_channels(D.sample_image(image), 3 if color else 1), 128)
    noisy = D.add_noise(clean, 25, np.random.default_rng(0))
    gain = psnr(D.denoise_array(model, noisy, tile=64), clean) - psnr(noisy, clean)
    assert gain >= bound, f"{path.name} on {image}: only {gain:.2f} dB better than the noisy input"


# --- command line ------------------------------------------------------------------------------------------

def run_cli(args, capsys):
    code = cli_main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def noisy_png(tmp_path):
    clean = D.central_crop(D.sample_image("camera"), 48)
    path = tmp_path / "noisy.png"
    D.write_image(path, np.clip(D.add_noise(clean, 25, np.random.default_rng(0)), 0, 1))
    return path, clean


def test_cli_bad_inputs_give_one_line_errors(tmp_path, capsys, noisy_png):
    png, _ = noisy_png
    text = tmp_path / "not_an_image.png"
    text.write_text("hello")
    cases = [
        (["denoise", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png")], "does not exist"),
        (["denoise", str(text), "-o", str(tmp_path / "o.png")], "not a readable image"),
        (["denoise", str(png), "-o", str(tmp_path / "o.png"), "--sigma", "-5"], "--sigma"),
        (["denoise", str(png), "-o", str(tmp_path / "o.png"), "--sigma", "25", "--blind"], "not both"),
        (["denoise", str(png), "-o", str(tmp_path / "o.png"), "--tile", "-1"], "--tile"),
        (["denoise", str(png), "-o", str(tmp_path / "o.txt")], "must end in"),
        (["denoise", str(png), "-o", str(tmp_path / "o.png"), "--weights", str(text)], "cannot be read"),
        (["train-denoiser", "-o", str(tmp_path / "w.npz"), "--sigma", "25", "--blind"], "not both"),
        (["train-denoiser", "-o", str(tmp_path / "w.npz"), "--sigma", "-3"], "--sigma"),
        (["train-denoiser", "-o", str(tmp_path / "w.npz"), "--images", "nope"], "unknown sample image"),
        (["train-denoiser", "-o", str(tmp_path / "w.npz"), "--resume"], "does not exist"),
        (["eval-denoiser", "--out", str(tmp_path / "e"), "--sigmas", "25,-1"], "--sigmas"),
        (["eval-denoiser", "--out", str(tmp_path / "e"), "--methods", "magic"], "--methods"),
    ]
    for args, needle in cases:
        code, out, err = run_cli(args, capsys)
        assert code == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, err)
    assert not (tmp_path / "o.png").exists()


def test_cli_denoise_gray_and_colour(tmp_path, capsys, noisy_png):
    png, clean = noisy_png
    w = tmp_path / "tiny.npz"
    D.save_weights(small_model(channels=1, dtype="float32"), w, sigma=25.0)
    code, out, err = run_cli(["--quiet", "denoise", str(png), "-o", str(tmp_path / "a.png"), "--weights", str(w),
                              "--tile", "16"], capsys)
    assert code == 0, err
    a = D.read_image(tmp_path / "a.png")
    assert a.shape == clean.shape
    # the shipped grayscale sigma-25 model, with self-ensemble: clearly better than the input
    code, out, err = run_cli(["--quiet", "denoise", str(png), "-o", str(tmp_path / "b.png"), "--sigma", "25",
                              "--self-ensemble"], capsys)
    assert code == 0, err
    b = D.read_image(tmp_path / "b.png")
    assert psnr(b, clean) > psnr(D.read_image(png), clean) + 4.0
    rgb = tmp_path / "rgb.png"
    D.write_image(rgb, np.clip(D.add_noise(D.central_crop(D.sample_image("motorcycle"), 40), 25,
                                           np.random.default_rng(1)), 0, 1))
    code, out, err = run_cli(["--quiet", "denoise", str(rgb), "-o", str(tmp_path / "c.png"), "--blind"], capsys)
    assert code == 0, err
    assert D.read_image(tmp_path / "c.png").shape == (40, 40, 3)


def test_cli_eval_on_colour_images(tmp_path, capsys):
    """The colour rows (the default --color-images) run through the blind colour network."""
    out = tmp_path / "eval"
    code, stdout, err = run_cli(["--quiet", "eval-denoiser", "--out", str(out), "--crop", "40", "--images", "",
                                 "--color-images", "motorcycle", "--sigmas", "25", "--methods", "noisy,rednet-blind"],
                                capsys)
    assert code == 0, err
    rows = {r["method"]: r for r in json.loads((out / "results.json").read_text())}
    assert set(rows) == {"noisy", "rednet-blind"}
    assert rows["rednet-blind"]["psnr"] > rows["noisy"]["psnr"] + 4


def test_cli_eval_writes_table_and_png(tmp_path, capsys):
    out = tmp_path / "eval"
    code, stdout, err = run_cli(["--quiet", "eval-denoiser", "--out", str(out), "--crop", "40", "--images",
                                 "camera", "--color-images", "", "--sigmas", "25",
                                 "--methods", "noisy,gaussian,nlm,bm3d,rednet-s25"], capsys)
    assert code == 0, err
    table = (out / "results.md").read_text()
    assert "| 25 | camera |" in table and "rednet-s25" in table
    rows = {r["method"]: r for r in json.loads((out / "results.json").read_text())}
    assert set(rows) == {"noisy", "gaussian", "nlm", "bm3d", "rednet-s25"}
    assert rows["rednet-s25"]["psnr"] > rows["noisy"]["psnr"] + 4
    assert rows["bm3d"]["psnr"] > rows["noisy"]["psnr"] + 4
    assert (out / "side_by_side_sigma25.png").stat().st_size > 5000
