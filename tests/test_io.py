"""minicnn.io: every Pillow mode converted to [0, 1] floats, resizing, atomic saving, errors,
ImageNet and YCbCr conversions (against MATLAB's numbers / scikit-image), sample images."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

import minicnn
from minicnn import io

RNG = np.random.default_rng(0)


def _png(tmp_path, img, name="x.png", **kw):
    path = tmp_path / name
    img.save(path, **kw)
    return path


def test_rgb_png_loads_exactly_as_values_over_255(tmp_path):
    arr = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    x = io.load_image(_png(tmp_path, Image.fromarray(arr)))
    assert isinstance(x, minicnn.Tensor) and x.shape == (1, 3, 5, 7) and x.dtype == np.float32
    np.testing.assert_allclose(x.numpy()[0], arr.transpose(2, 0, 1) / 255.0, rtol=0, atol=1e-7)
    a = io.load_image(_png(tmp_path, Image.fromarray(arr)), as_tensor=False, dtype="float64")
    assert type(a) is np.ndarray and a.dtype == np.float64 and np.array_equal(a[0], arr.transpose(2, 0, 1) / 255.0)


def test_grayscale_becomes_three_equal_channels_or_stays_one(tmp_path):
    arr = RNG.integers(0, 256, (4, 6), dtype=np.uint8)
    path = _png(tmp_path, Image.fromarray(arr))
    rgb = io.load_image(path).numpy()[0]
    assert rgb.shape == (3, 4, 6) and np.array_equal(rgb[0], rgb[2])
    np.testing.assert_allclose(rgb[1], arr / 255.0, atol=1e-7)
    assert io.load_image(path, mode="L").shape == (1, 1, 4, 6)
    bits = Image.fromarray(arr > 128)  # mode '1'
    assert set(np.unique(io.to_tensor(bits).numpy())) <= {0.0, 1.0}


def test_colour_to_l_is_bt601_luma_like_pillow(tmp_path):
    arr = RNG.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    path = _png(tmp_path, Image.fromarray(arr))
    gray = io.load_image(path, mode="L", dtype="float64").numpy()[0, 0]
    expected = arr @ np.array([0.299, 0.587, 0.114]) / 255
    np.testing.assert_allclose(gray, expected, atol=1e-12)
    pil = np.asarray(Image.fromarray(arr).convert("L")) / 255.0
    assert np.abs(gray - pil).max() <= 1 / 255  # Pillow rounds to 8 bits


def test_rgba_and_la_are_composited_on_white_by_default(tmp_path):
    arr = np.zeros((2, 3, 4), dtype=np.uint8)
    arr[..., 0] = 200
    arr[0, :, 3] = 0      # fully transparent row
    arr[1, :, 3] = 255    # opaque row
    arr[1, 2, 3] = 102    # 40% opaque pixel
    path = _png(tmp_path, Image.fromarray(arr, "RGBA"))
    x = io.load_image(path, dtype="float64").numpy()[0]
    assert np.allclose(x[:, 0, :], 1.0)                              # transparent -> white
    assert np.allclose(x[:, 1, 0], [200 / 255, 0, 0])                # opaque -> colour
    a = 102 / 255
    assert np.allclose(x[:, 1, 2], [200 / 255 * a + 1 - a, 1 - a, 1 - a])
    assert np.allclose(io.load_image(path, alpha="black", dtype="float64").numpy()[0][:, 0, :], 0.0)
    assert np.allclose(io.load_image(path, alpha="drop", dtype="float64").numpy()[0][0, 0, :], 200 / 255)
    la = Image.fromarray(np.stack([np.full((2, 2), 50, np.uint8), np.array([[0, 255], [255, 255]], np.uint8)], -1), "LA")
    y = io.load_image(_png(tmp_path, la, "la.png"), mode="L", dtype="float64").numpy()[0, 0]
    assert y[0, 0] == 1.0 and np.isclose(y[0, 1], 50 / 255)
    with pytest.raises(ValueError, match="alpha must be one of"):
        io.load_image(path, alpha="grey")


def test_palette_images_with_and_without_transparency(tmp_path):
    arr = RNG.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    pal = Image.fromarray(arr).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    x = io.load_image(_png(tmp_path, pal), dtype="float64").numpy()[0]
    np.testing.assert_allclose(x, np.asarray(pal.convert("RGB")).transpose(2, 0, 1) / 255.0)
    index0 = np.asarray(pal) == 0
    y = io.load_image(_png(tmp_path, pal, "t.png", transparency=0), dtype="float64").numpy()[0]
    assert index0.any() and np.allclose(y[:, index0], 1.0)
    assert np.allclose(y[:, ~index0], x[:, ~index0])


def test_16_bit_png_keeps_its_precision(tmp_path):
    arr = (np.arange(20, dtype=np.uint16) * 3001).reshape(4, 5)  # values 8-bit would merge
    arr[0, 1] = 257 * 3 + 1
    img = Image.fromarray(arr)
    assert img.mode.startswith("I;16")
    path = _png(tmp_path, img)
    x = io.load_image(path, mode="L", dtype="float64").numpy()[0, 0]
    np.testing.assert_allclose(x, arr / 65535.0, atol=1e-12)
    assert len(np.unique(x)) == 20
    rgb = io.load_image(path).numpy()[0]
    assert rgb.shape == (3, 4, 5) and np.allclose(rgb[0], arr / 65535.0, atol=1e-7)
    # mode 'I' (32-bit ints, how some Pillow versions open 16-bit PNGs) and 'F'
    as_i = io.to_tensor(Image.fromarray(arr.astype(np.int32)), dtype="float64").numpy()[0, 0]
    np.testing.assert_allclose(as_i, arr / 65535.0, atol=1e-12)
    f = io.to_tensor(Image.fromarray(np.array([[-1.0, 0.25], [0.5, 3.0]], np.float32))).numpy()[0, 0]
    assert np.array_equal(f, np.array([[0, 0.25], [0.5, 1]], np.float32))


def test_cmyk_jpeg_and_other_modes_load(tmp_path):
    arr = RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    cmyk = Image.fromarray(arr).convert("CMYK")
    x = io.load_image(_png(tmp_path, cmyk, "c.jpg", quality=100))
    assert x.shape == (1, 3, 8, 8) and np.abs(x.numpy()[0] - arr.transpose(2, 0, 1) / 255).mean() < 0.05
    ycc = io.to_tensor(Image.fromarray(arr).convert("YCbCr"))
    assert np.abs(ycc.numpy()[0] - arr.transpose(2, 0, 1) / 255).max() < 0.03


def test_size_resizes_the_longest_side_and_rejects_bad_sizes(tmp_path):
    arr = np.full((40, 100, 3), 128, np.uint8)
    path = _png(tmp_path, Image.fromarray(arr))
    assert io.load_image(path, size=50).shape == (1, 3, 20, 50)
    assert io.load_image(path, size=200).shape == (1, 3, 80, 200)
    assert io.load_image(path, size=(7, 9)).shape == (1, 3, 7, 9)
    y = io.load_image(path, size=33).numpy()
    assert np.allclose(y, 128 / 255, atol=1e-5)  # a flat image stays flat
    grad = np.tile(np.linspace(0, 255, 100).astype(np.uint8), (40, 1))
    z = io.load_image(_png(tmp_path, Image.fromarray(grad), "g.png"), size=25, mode="L").numpy()
    assert 0 <= z.min() and z.max() <= 1 and np.all(np.diff(z[0, 0, 5]) > 0)
    for bad in (0, -3, 10 ** 6, (0, 5), (5, 10 ** 6), "big", 2.5, (1, 2, 3), True):
        with pytest.raises(ValueError, match="size"):
            io.load_image(path, size=bad)
    with pytest.raises(ValueError, match="mode must be 'RGB' or 'L'"):
        io.load_image(path, mode="RGBA")


def test_load_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match="nope.png"):
        io.load_image(missing)
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    with pytest.raises(ValueError, match="notes.png"):
        io.load_image(text)
    good = _png(tmp_path, Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "good.png")
    raw = good.read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.png"):
        io.load_image(tmp_path / "cut.png")
    with pytest.raises(ValueError, match="is a folder"):
        io.load_image(tmp_path)
    with pytest.raises(FileNotFoundError):
        io.load_image(missing, size=10)  # the size is fine: the missing file is the error


def test_save_image_round_trips_and_clips(tmp_path):
    arr = RNG.integers(0, 256, (1, 3, 6, 5)) / 255.0
    for layout, data in [("nchw", arr), ("chw", arr[0]), ("hwc", arr[0].transpose(1, 2, 0))]:
        p = io.save_image(data, tmp_path / f"{layout}.png")
        back = io.load_image(p, dtype="float64").numpy()
        np.testing.assert_allclose(back, arr, atol=1e-12, err_msg=layout)
    t = minicnn.tensor(arr, requires_grad=True) * 1.0  # a tensor in a graph saves fine
    io.save_image(t, tmp_path / "t.png")
    wild = np.array([[-0.5, 0.5], [2.0, np.nan]])
    io.save_image(wild, tmp_path / "wild.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "wild.png")), [[0, 128], [255, 0]])
    assert Image.open(tmp_path / "wild.png").mode == "L"
    io.save_image(arr, tmp_path / "x.jpg", quality=95)
    assert Image.open(tmp_path / "x.jpg").format == "JPEG"
    assert io.to_pil(np.zeros((4, 2, 2))).mode == "RGBA" and io.to_pil(np.zeros((2, 2, 3))).mode == "RGB"


def test_save_image_errors_leave_nothing_behind(tmp_path):
    img = np.zeros((3, 4, 4))
    with pytest.raises(ValueError, match="extension"):
        io.save_image(img, tmp_path / "x.unknown")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        io.save_image(img, tmp_path / "no" / "x.png")
    with pytest.raises(ValueError, match="batch of 2"):
        io.save_image(np.zeros((2, 3, 4, 4)), tmp_path / "b.png")
    with pytest.raises(ValueError, match="channel axis"):
        io.save_image(np.zeros((5, 6, 7)), tmp_path / "c.png")
    assert sorted(os.listdir(tmp_path)) == []


def test_save_image_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    io.save_image(np.full((4, 4), 0.25), target)
    before = target.read_bytes()
    real_save = Image.Image.save

    def failing_save(self, fp, *a, **kw):
        real_save(self, fp, *a, **kw)          # write the whole image to the temporary file ...
        raise OSError("disk full")             # ... and then fail, as a crash halfway would

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        io.save_image(np.full((4, 4), 0.75), target)
    with pytest.raises(OSError, match="disk full"):
        io.save_image(np.full((4, 4), 0.75), tmp_path / "new.png")
    assert target.read_bytes() == before                  # the old image is untouched
    assert sorted(os.listdir(tmp_path)) == ["out.png"]    # no partial new file, no temp file


def test_imagenet_normalize_round_trip_and_gradient():
    x = RNG.uniform(0, 1, (2, 3, 4, 5))
    mean, std = np.array(io.IMAGENET_MEAN)[:, None, None], np.array(io.IMAGENET_STD)[:, None, None]
    a = io.imagenet_normalize(x)
    np.testing.assert_allclose(a, (x - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(io.imagenet_denormalize(a), x, rtol=1e-12)
    t = minicnn.tensor(x, dtype="float32", requires_grad=True)
    y = io.imagenet_normalize(t)
    assert isinstance(y, minicnn.Tensor) and y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.broadcast_to(1 / std, x.shape), rtol=1e-6)
    np.testing.assert_allclose(io.imagenet_normalize(x[0]), (x[0] - mean) / std)
    with pytest.raises(ValueError, match=r"expected an RGB image of shape \(N, 3, H, W\)"):
        io.imagenet_normalize(np.zeros((1, 1, 4, 4)))


def test_ycbcr_matches_matlab_numbers_and_scikit_image():
    from skimage.color import rgb2ycbcr
    white, black, red = np.ones((3, 1, 1)), np.zeros((3, 1, 1)), np.array([1.0, 0, 0])[:, None, None]
    np.testing.assert_allclose(io.rgb_to_ycbcr(white).ravel() * 255, [235, 128, 128], atol=1e-9)
    np.testing.assert_allclose(io.rgb_to_ycbcr(black).ravel() * 255, [16, 128, 128], atol=1e-12)
    np.testing.assert_allclose(io.rgb_to_ycbcr(red).ravel() * 255, [81.481, 90.203, 240.0], atol=1e-9)
    x = RNG.uniform(0, 1, (2, 3, 5, 4))
    y = io.rgb_to_ycbcr(x)
    sk = np.stack([rgb2ycbcr(img.transpose(1, 2, 0)).transpose(2, 0, 1) for img in x]) / 255
    np.testing.assert_allclose(y, sk, atol=1e-12)
    assert y[:, 0].min() >= 16 / 255 - 1e-12 and y[:, 0].max() <= 235 / 255 + 1e-12
    assert y[:, 1:].min() >= 16 / 255 - 1e-12 and y[:, 1:].max() <= 240 / 255 + 1e-12
    np.testing.assert_allclose(io.ycbcr_to_rgb(y), x, atol=1e-12)
    np.testing.assert_allclose(io.rgb_to_y(x), y[:, :1], atol=1e-15)
    # on Tensors: same values and a differentiable graph (torch computes the same gradient)
    t = minicnn.tensor(x, dtype="float64", requires_grad=True)
    ty = io.rgb_to_ycbcr(t)
    np.testing.assert_allclose(ty.detach().numpy(), y, atol=1e-12)
    w = RNG.standard_normal(y.shape)
    (ty * minicnn.tensor(w, dtype="float64")).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    m = torch.tensor(io._YCC_M)
    (torch.einsum("ck,nkhw->nchw", m, xt) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    assert io.rgb_to_y(t).shape == (2, 1, 5, 4)


def test_to_tensor_from_arrays():
    u8 = RNG.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    np.testing.assert_allclose(io.to_tensor(u8).numpy()[0], u8.transpose(2, 0, 1) / 255, atol=1e-7)
    u16 = np.array([[0, 65535]], np.uint16)
    assert np.array_equal(io.to_tensor(u16).numpy(), [[[[0.0, 1.0]]]])
    assert io.to_tensor(np.array([[True, False]]), mode="RGB").shape == (1, 3, 1, 2)
    assert np.array_equal(io.to_tensor(np.array([[-1.0, 0.5]])).numpy(), [[[[0.0, 0.5]]]])
    rgba = np.zeros((1, 1, 4))
    assert np.array_equal(io.to_tensor(rgba).numpy().ravel(), [1.0, 1.0, 1.0])  # transparent -> white
    with pytest.raises(ValueError, match="expected an"):
        io.to_tensor(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="dtype"):
        io.to_tensor(np.zeros((2, 2), np.int64))


def test_sample_images_load_by_name():
    a = io.load_sample("astronaut", size=64)
    assert a.shape == (1, 3, 64, 64) and 0 <= a.numpy().min() and a.numpy().max() <= 1
    assert io.load_sample("chelsea", size=90).shape == (1, 3, 60, 90)
    assert io.load_sample("coffee", size=(20, 30), mode="L").shape == (1, 1, 20, 30)
    cam = io.load_sample("camera", mode="RGB", size=32)
    assert cam.shape == (1, 3, 32, 32) and np.array_equal(cam.numpy()[0, 0], cam.numpy()[0, 1])
    assert io.load_sample("logo", size=16).shape == (1, 3, 16, 16)   # RGBA
    assert io.load_sample("horse", size=16).shape[2:] == (13, 16)    # boolean mask
    assert "astronaut" in io.sample_names()
    with pytest.raises(ValueError, match="unknown sample image 'lena'; available: astronaut, brick"):
        io.load_sample("lena")
