"""minicnn's VGG16/VGG19 against the torch twin (reference/models/vgg.py) with shared weights,
torchvision key layout, weight files (.pth via torch, .npz), their errors, and the
random-weights fallback."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import minicnn
from minicnn import models, nn
from minicnn.models import vgg as mvgg
from reference.models import vgg as rvgg
from tests.harness import assert_close

# torchvision's vgg16 / vgg19 features indices holding a conv layer
TV_CONV = {"vgg16": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
           "vgg19": [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]}


@pytest.fixture(autouse=True)
def no_default_weights(monkeypatch, tmp_path):
    """Point every default weights location at an empty folder, so a user's cache cannot leak in."""
    for var in ("MINICNN_VGG16_WEIGHTS", "MINICNN_VGG19_WEIGHTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture(scope="module")
def twins64():
    """A torch VGG19 (random torchvision init) and a minicnn VGG19 holding its weights, float64."""
    torch.manual_seed(0)
    th = rvgg.vgg19().double().eval()
    mc = models.vgg19(weights=False, dtype="float64")
    mc.load_state_dict(th.state_dict())
    return mc, th


def _image(shape=(1, 3, 32, 32), seed=0):
    return np.random.default_rng(seed).uniform(0, 1, shape)


def test_layer_names_and_keys_are_torchvision_s():
    for arch in ("vgg16", "vgg19"):
        names = mvgg.vgg_layer_names(arch)
        assert names == rvgg.vgg_layer_names(arch)
        assert [i for i, n in enumerate(names) if n.startswith("conv")] == TV_CONV[arch]
        assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"] and names[-1] == "pool5"
        assert len(names) == {"vgg16": 31, "vgg19": 37}[arch]
        shapes = mvgg.expected_shapes(arch)
        assert [k for k in shapes if k.startswith("features")] == [
            f"features.{i}.{w}" for i in TV_CONV[arch] for w in ("weight", "bias")]
        assert list(shapes)[-6:] == ["classifier.0.weight", "classifier.0.bias", "classifier.3.weight",
                                     "classifier.3.bias", "classifier.6.weight", "classifier.6.bias"]
        assert shapes["classifier.0.weight"] == (4096, 25088)
    mc = models.vgg19(weights=False, pool="avg")
    th = rvgg.VGG("vgg19", pool="avg")
    assert {k: v.shape for k, v in mc.state_dict().items()} == {k: tuple(v.shape) for k, v in th.state_dict().items()}
    assert list(mc.state_dict()) == list(mvgg.expected_shapes("vgg19", include_top=False))
    assert isinstance(mc.features[4], nn.AvgPool2d) and isinstance(mc.features[36], nn.AvgPool2d)
    assert mc.layer_index["relu4_2"] == 22 and mc.pretrained is False
    assert "mean" not in mc.state_dict()  # normalisation constants are non-persistent buffers


def test_every_named_activation_and_input_gradient_match_torch_float64(twins64):
    mc, th = twins64
    x = _image()
    names = mc.layer_names
    xm = minicnn.tensor(x, dtype="float64", requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    am, at = mc.extract(xm, names), th.extract(xt, names)
    assert list(am) == names
    for n in names:
        assert_close(am[n], at[n], np.float64, f"vgg19 {n}", tol=(1e-9, 1e-12))
    # a style-transfer-like feature loss: content at relu4_2 + Gram matrices at relu{1..5}_1
    def loss(acts, lib):
        total = (acts["relu4_2"] ** 2).mean()
        for k in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"):
            f = acts[k].reshape(acts[k].shape[1], -1)
            total = total + (f @ f.T).sum() / f.shape[1] ** 2
        return total
    lm, lt = loss(am, minicnn), loss(at, torch)
    assert_close(lm, lt, np.float64, "feature loss", tol=(1e-9, 1e-12))
    lm.backward()
    lt.backward()
    assert float(np.abs(xt.grad.numpy()).max()) > 0
    assert_close(xm.grad, xt.grad, np.float64, "input gradient", tol=(1e-9, 1e-12))
    # forward() with no top is the features output
    assert_close(mc(minicnn.tensor(x, dtype="float64")), th(torch.tensor(x)), np.float64, "forward",
                 tol=(1e-9, 1e-12))


def test_float32_vgg16_avg_pool_normalize_matches_torch():
    torch.manual_seed(1)
    th = rvgg.vgg16(pool="avg", normalize=True).eval()
    mc = models.vgg16(weights=False, pool="avg", normalize=True)
    mc.load_state_dict(th.state_dict())
    x = _image((1, 3, 32, 36), seed=1)
    xm = minicnn.tensor(x, dtype="float32", requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    am, at = mc.extract(xm, mc.layer_names), th.extract(xt, th.layer_names)
    for n in mc.layer_names:
        assert am[n].dtype == np.float32
        assert_close(am[n], at[n], np.float32, f"vgg16 float32 {n}")
    (am["relu3_3"].sum() + am["pool5"].sum()).backward()
    (at["relu3_3"].sum() + at["pool5"].sum()).backward()
    assert_close(xm.grad, xt.grad, np.float32, "float32 input gradient")
    # normalize=True really applies ImageNet mean/std: same as feeding the normalised image
    plain = models.vgg16(weights=False, pool="avg", upto="conv1_1")
    plain.load_state_dict(mc.truncate("conv1_1").state_dict())
    xn = (x - np.array(mvgg.IMAGENET_MEAN)[:, None, None]) / np.array(mvgg.IMAGENET_STD)[:, None, None]
    assert_close(plain(minicnn.tensor(xn, dtype="float32")), am["conv1_1"], np.float32, "normalize")


def test_classifier_top_matches_torch():
    torch.manual_seed(2)
    th = rvgg.VGG("vgg16", include_top=True, num_classes=10).eval()
    with nn.init.skip_init():  # the weights come from torch: skip drawing 138M random ones
        mc = mvgg.VGG("vgg16", include_top=True, num_classes=10).eval()
    assert list(mc.state_dict()) == list(th.state_dict())
    mc.load_state_dict(th.state_dict())
    x = _image((1, 3, 32, 32), seed=2)
    assert_close(mc(minicnn.tensor(x, dtype="float32")), th(torch.tensor(x, dtype=torch.float32)),
                 np.float32, "logits")
    assert repr(mc.avgpool) == "AdaptiveAvgPool2d(output_size=(7, 7))"
    with pytest.raises(ValueError, match="include_top=True needs every feature layer"):
        mvgg.VGG("vgg16", include_top=True, upto="relu3_1")


def test_extract_stops_at_the_deepest_layer_and_names_are_checked(twins64):
    mc, _ = twins64
    calls = []
    hooks = [layer.register_forward_hook(lambda m, i, o, k=k: calls.append(k))
             for k, layer in enumerate(mc.features)]
    try:
        out = mc.extract(minicnn.tensor(_image(), dtype="float64"), ["relu2_1", "relu1_1"])
    finally:
        for h in hooks:
            h.remove()
    assert list(out) == ["relu2_1", "relu1_1"] and calls == list(range(mc.layer_index["relu2_1"] + 1))
    assert out["relu1_1"].shape == (1, 64, 32, 32) and out["relu2_1"].shape == (1, 128, 16, 16)
    assert list(mc.extract(minicnn.tensor(_image(), dtype="float64"), "pool1")) == ["pool1"]
    with pytest.raises(ValueError, match="unknown layer 'relu6_1'; available: conv1_1, relu1_1"):
        mc.extract(minicnn.tensor(_image(), dtype="float64"), ["relu6_1"])
    short = mc.truncate("relu3_1")
    with pytest.raises(ValueError, match="'relu4_2' comes after this model's last layer 'relu3_1'"):
        short.extract(minicnn.tensor(_image(), dtype="float64"), ["relu4_2"])
    with pytest.raises(ValueError, match=r"expected an input of shape \(N, 3, H, W\)"):
        mc.extract(minicnn.zeros(1, 1, 8, 8, dtype="float64"), "relu1_1")


def test_truncate_and_upto_give_shorter_models_sharing_weights(twins64):
    mc, th = twins64
    short = mc.truncate("relu3_1")
    assert len(short.features) == 12 and short.layer_names[-1] == "relu3_1" and len(mc.features) == 37
    assert short.features[10].weight is mc.features[10].weight  # shared, not copied
    assert list(short.state_dict())[-1] == "features.10.bias"
    x = minicnn.tensor(_image(), dtype="float64")
    assert_close(short(x), mc.extract(x, "relu3_1")["relu3_1"], np.float64, "truncate")
    built = models.vgg19(weights=False, upto="relu3_1", dtype="float64")
    assert len(built.features) == 12 and list(built.state_dict()) == list(short.state_dict())
    assert_close(th.truncate("relu3_1")(torch.tensor(_image())), short(x), np.float64, "torch truncate")
    with pytest.raises(ValueError, match="unknown VGG layer 'relu9_9'"):
        models.vgg19(weights=False, upto="relu9_9")


def test_npz_round_trip_and_pth_loading(tmp_path, twins64):
    mc, th = twins64
    x = minicnn.tensor(_image(), dtype="float64")
    # minicnn -> .npz -> minicnn (a truncated model keeps the files small)
    short = mc.truncate("relu3_2")
    ref = short.extract(x, ["relu1_2", "relu3_2"])
    path = minicnn.save(short.state_dict(), tmp_path / "short.npz")
    back = models.vgg19(weights=path, dtype="float64", upto="relu3_2")
    assert back.pretrained and back.weights_path == str(tmp_path / "short.npz")
    got = back.extract(x, ["relu1_2", "relu3_2"])
    for k in ref:
        assert np.array_equal(got[k].detach().numpy(), ref[k].detach().numpy()), k
    # a torchvision-style float32 .pth written by torch: loaded into a truncated model, converted to .npz
    sd32 = {k: v.float() for k, v in th.state_dict().items()}
    pth = tmp_path / "vgg19-0123abcd.pth"
    torch.save(sd32, pth)
    early = models.vgg19(weights=str(pth), upto="relu2_1")
    assert early.pretrained and early.features[5].weight.dtype == np.float32
    assert_close(early(minicnn.tensor(_image(), dtype="float32")),
                 th.extract(torch.tensor(_image()), "relu2_1")["relu2_1"], np.float32, ".pth")
    info = models.convert_weights(pth, tmp_path / "conv.npz")
    assert info["arch"] == "vgg19" and info["tensors"] == 32 and info["parameters"] == 20024384
    npz = minicnn.load(tmp_path / "conv.npz")
    assert list(npz) == list(sd32) and npz["features.34.bias"].dtype == np.float32
    assert np.array_equal(npz["features.34.bias"].numpy(), sd32["features.34.bias"].numpy())
    full = models.load_vgg_weights(models.vgg19(weights=False), tmp_path / "conv.npz")
    assert full.pretrained and np.array_equal(full.features[34].weight.detach().numpy(),
                                              sd32["features.34.weight"].numpy())
    # torchvision files carry the classifier: a model without top skips it
    with_top = {"features.0.weight": sd32["features.0.weight"].numpy(), "features.0.bias": sd32["features.0.bias"].numpy(),
                "classifier.6.bias": np.zeros(1000, np.float32)}
    np.savez(tmp_path / "top.npz", **with_top)
    models.load_vgg_weights(models.vgg19(weights=False, upto="conv1_1"), tmp_path / "top.npz")


def test_wrong_or_truncated_weights_name_the_first_bad_key(tmp_path, twins64):
    mc, th = twins64
    sd = {k: v.float().numpy() for k, v in th.state_dict().items()}
    # VGG19 weights into VGG16 and VGG16 weights into VGG19
    np.savez(tmp_path / "v19.npz", **sd)
    with pytest.raises(models.VGGWeightsError) as err:
        models.vgg16(weights=str(tmp_path / "v19.npz"))
    msg = str(err.value)
    assert "first bad key 'features.17.weight': expected shape (512, 256, 3, 3), found no such key" in msg
    assert "it looks like vgg19 weights" in msg and str(tmp_path / "v19.npz") in msg
    v16 = {k: v.detach().numpy() for k, v in models.vgg16(weights=False).state_dict().items()}
    np.savez(tmp_path / "v16.npz", **v16)
    with pytest.raises(models.VGGWeightsError, match=r"first bad key 'features.16.weight': expected shape "
                                                     r"\(256, 256, 3, 3\), found no such key"):
        models.vgg19(weights=str(tmp_path / "v16.npz"))
    # a state_dict cut short (partial conversion) and one with a mis-shaped tensor
    cut = dict(list(sd.items())[:-4])
    np.savez(tmp_path / "cut.npz", **cut)
    with pytest.raises(models.VGGWeightsError) as err:
        models.vgg19(weights=str(tmp_path / "cut.npz"))
    assert "first bad key 'features.32.weight': expected shape (512, 512, 3, 3), found no such key" in str(err.value)
    assert err.value.missing_keys == ["features.32.weight", "features.32.bias", "features.34.weight",
                                      "features.34.bias"]
    bad = dict(sd, **{"features.5.bias": np.zeros(64, np.float32)})
    np.savez(tmp_path / "bad.npz", **bad)
    model = models.vgg19(weights=False)
    before = model.features[0].weight.detach().numpy().copy()
    with pytest.raises(ValueError, match=r"first bad key 'features.5.bias': expected shape \(128,\), "
                                         r"found shape \(64,\)"):
        models.load_vgg_weights(model, tmp_path / "bad.npz")
    assert np.array_equal(model.features[0].weight.detach().numpy(), before) and not model.pretrained
    # a file truncated on disk, a missing file, a file that is not weights at all
    raw = (tmp_path / "v19.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ValueError, match="trunc.npz"):
        models.vgg19(weights=str(tmp_path / "trunc.npz"))
    torch.save(th.state_dict(), tmp_path / "t.pth")
    raw = (tmp_path / "t.pth").read_bytes()
    (tmp_path / "trunc.pth").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="trunc.pth"):
        models.vgg19(weights=str(tmp_path / "trunc.pth"))
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        models.vgg19(weights=str(tmp_path / "nowhere.pth"))
    (tmp_path / "notes.txt").write_text("not weights")
    with pytest.raises(ValueError, match="notes.txt"):
        models.vgg19(weights=str(tmp_path / "notes.txt"))
    with pytest.raises(ValueError, match="does not look like VGG16/VGG19"):
        models.convert_weights(_write_other(tmp_path), tmp_path / "o.npz")
    assert not (tmp_path / "o.npz").exists()


def _write_other(tmp_path):
    p = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), p)
    return p


def test_random_weights_fallback_warns_once_and_is_seeded(monkeypatch):
    monkeypatch.setattr(mvgg, "_warned", [])
    minicnn.manual_seed(5)
    before = minicnn.randn(3).numpy()
    with pytest.warns(models.RandomWeightsWarning, match="RANDOM weights") as rec:
        a = models.vgg19(upto="relu2_1")
        b = models.vgg19(upto="relu2_1")
        c = models.vgg16(upto="relu2_1")
    assert len([w for w in rec if issubclass(w.category, models.RandomWeightsWarning)]) == 1
    msg = str(rec[0].message)
    assert "MINICNN_VGG19_WEIGHTS" in msg and "convert-weights" in msg and "weights=False" in msg
    assert not a.pretrained and a.weights_path is None
    assert np.array_equal(a.features[5].weight.detach().numpy(), b.features[5].weight.detach().numpy())
    assert c.features[0].weight.shape == (64, 3, 3, 3)
    # the build does not move minicnn's global generator
    minicnn.manual_seed(5)
    models.vgg19(weights=False, upto="relu1_1")
    assert np.array_equal(minicnn.randn(3).numpy(), before)
    # torchvision's init statistics: conv weights ~ N(0, 2 / fan_out), biases 0
    w = a.features[5].weight.detach().numpy()
    assert abs(w.std() / np.sqrt(2 / (128 * 9)) - 1) < 0.02 and np.all(a.features[5].bias.detach().numpy() == 0)
    monkeypatch.setattr(mvgg, "_warned", [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models.vgg19(weights=False, upto="relu1_1")  # explicit random weights: silent


def test_default_lookup_env_var_and_cache(tmp_path, monkeypatch, twins64):
    mc, th = twins64
    cache = tmp_path / "cache"
    cache.mkdir()
    minicnn.save(mc.truncate("relu1_1").state_dict(), cache / "vgg19.npz")
    m = models.vgg19(upto="relu1_1")
    assert m.pretrained and m.weights_path == str(cache / "vgg19.npz")
    assert models.default_weights_path("vgg16") is None
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "vgg16-397923af.pth").write_bytes(b"PK")  # only its existence matters here
    assert models.default_weights_path("vgg16") == str(hub / "vgg16-397923af.pth")
    monkeypatch.setenv("MINICNN_VGG19_WEIGHTS", str(tmp_path / "x.pth"))
    with pytest.raises(FileNotFoundError, match="MINICNN_VGG19_WEIGHTS is set to"):
        models.vgg19()
    monkeypatch.setenv("MINICNN_VGG19_WEIGHTS", str(cache / "vgg19.npz"))
    assert models.default_weights_path("vgg19") == str(cache / "vgg19.npz")
    with pytest.raises(TypeError, match="weights must be a path"):
        models.vgg19(weights=3)

