"""minicnn.save / minicnn.load: .npz round trips, torch .pth state_dicts, atomic writes, clear errors."""
from __future__ import annotations

import os
import sys
import zipfile

import numpy as np
import pytest
import torch

import minicnn
from minicnn import nn
from minicnn import serialization
from tests.test_backend import fakegpu  # noqa: F401  (stand-in device backend fixture)


def _model():
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(12, 2))


def test_npz_round_trip_keeps_keys_dtypes_and_values(tmp_path):
    minicnn.manual_seed(0)
    m = _model().double()
    m[1].running_mean.data[...] = [1.0, 2.0, 3.0]
    m[1].num_batches_tracked.data[...] = 7
    path = minicnn.save(m.state_dict(), tmp_path / "m.npz")
    assert path == str(tmp_path / "m.npz") and zipfile.is_zipfile(path)
    sd = minicnn.load(path)
    assert list(sd) == list(m.state_dict())
    assert all(isinstance(v, minicnn.Tensor) for v in sd.values())
    assert sd["0.weight"].dtype == np.float64 and sd["1.num_batches_tracked"].dtype == np.int64
    assert sd["1.num_batches_tracked"].shape == () and sd["1.num_batches_tracked"].item() == 7
    for k, v in m.state_dict().items():
        assert np.array_equal(sd[k].numpy(), v.numpy()), k
    fresh = _model()  # float32: values are cast on load
    fresh.load_state_dict(sd)
    assert fresh[0].weight.dtype == np.float32
    np.testing.assert_allclose(fresh[3].weight.detach().numpy(), m[3].weight.detach().numpy(), rtol=1e-7)
    # arrays, torch tensors and GPU-side tensors are accepted values too
    minicnn.save({"a": np.arange(3), "b": torch.ones(2), "c": minicnn.zeros(1)}, tmp_path / "mixed.npz")
    mixed = minicnn.load(tmp_path / "mixed.npz")
    assert mixed["a"].tolist() == [0, 1, 2] and mixed["b"].tolist() == [1.0, 1.0]


def test_saving_device_tensors_and_any_extension(tmp_path, fakegpu):
    lin = nn.Linear(2, 2).to("fakegpu")
    minicnn.save(lin.state_dict(), tmp_path / "weights.bin")  # npz content, whatever the name
    sd = minicnn.load(tmp_path / "weights.bin")
    assert sd["weight"].backend == "numpy"
    assert np.array_equal(sd["weight"].numpy(), lin.weight.detach().to("numpy").numpy())


def test_torch_pth_state_dicts_load(tmp_path):
    torch.manual_seed(0)
    th = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Flatten(),
                             torch.nn.Linear(12, 2))
    torch.save(th.state_dict(), tmp_path / "m.pth")
    sd = minicnn.load(tmp_path / "m.pth")
    assert list(sd) == list(th.state_dict())
    assert sd["1.num_batches_tracked"].dtype == np.int64
    m = _model()
    m.load_state_dict(sd)
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    m.eval(), th.eval()
    np.testing.assert_allclose(m(minicnn.tensor(x)).detach().numpy(), th(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # checkpoints that wrap the state_dict, and the legacy (non-zip) torch format
    torch.save({"state_dict": th.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    assert list(minicnn.load(tmp_path / "ckpt.pt")) == list(th.state_dict())
    torch.save(th.state_dict(), tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    assert np.array_equal(minicnn.load(tmp_path / "legacy.pth")["3.bias"].numpy(), th[3].bias.detach().numpy())


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        minicnn.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="is a folder"):
        minicnn.load(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt"):
        minicnn.load(tmp_path / "notes.txt")
    minicnn.save({"w": np.ones((100, 100))}, tmp_path / "w.npz")
    raw = (tmp_path / "w.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.npz"):
        minicnn.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="obj.npz"):
        minicnn.load(tmp_path / "obj.npz")
    torch.save([torch.ones(2)], tmp_path / "list.pth")
    with pytest.raises(ValueError, match=r"list.pth.*not a state_dict"):
        minicnn.load(tmp_path / "list.pth")
    torch.save(torch.nn.Linear(1, 1), tmp_path / "module.pth")  # a pickled module, not weights
    with pytest.raises(ValueError, match="module.pth"):
        minicnn.load(tmp_path / "module.pth")
    torch.save(torch.nn.Linear(1, 1).state_dict(), tmp_path / "ok.pth")
    raw = (tmp_path / "ok.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.pth"):
        minicnn.load(tmp_path / "cut.pth")


def test_torch_missing_gives_a_clear_import_error(tmp_path, monkeypatch):
    torch.save(torch.nn.Linear(1, 1).state_dict(), tmp_path / "w.pth")
    minicnn.save({"a": np.ones(2)}, tmp_path / "a.npz")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"w.pth.*needs PyTorch.*pip install torch.*convert-weights"):
        minicnn.load(tmp_path / "w.pth")
    assert minicnn.load(tmp_path / "a.npz")["a"].tolist() == [1.0, 1.0]  # .npz needs no torch


def test_save_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="pass model.state_dict"):
        minicnn.save(_model(), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="mapping"):
        minicnn.save([1, 2], tmp_path / "m.npz")
    with pytest.raises(TypeError, match="'w' is a str"):
        minicnn.save({"w": "text"}, tmp_path / "m.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        minicnn.save({"w": np.ones(1)}, tmp_path / "no" / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "w.npz"
    minicnn.save({"w": np.zeros(3)}, target)
    before = target.read_bytes()
    real = np.savez

    def half_then_fail(f, **arrays):
        real(f, **arrays)
        raise OSError("disk full")

    monkeypatch.setattr(serialization._np, "savez", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        minicnn.save({"w": np.ones(3)}, target)
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["w.npz"]
    monkeypatch.setattr(serialization._np, "savez", real)
    minicnn.save({"w": np.ones(3)}, target)
    assert minicnn.load(target)["w"].tolist() == [1.0, 1.0, 1.0]
