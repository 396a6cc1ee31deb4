"""Backend logic, tested on the CPU with a stand-in device backend.

``FakeDeviceArray`` is a numpy subclass that, like a CuPy array, refuses to mix
with plain numpy arrays; the 'fakegpu' backend owns it. This exercises device
moves and the mixed-backend checks without a GPU.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

import minicnn
from minicnn import backend


class FakeDeviceArray(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(type(i) is np.ndarray for i in inputs):
            raise TypeError("FakeDeviceArray refuses to mix with numpy.ndarray (as cupy does)")
        plain = [i.view(np.ndarray) if isinstance(i, FakeDeviceArray) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) for o in kwargs["out"])
        out = getattr(ufunc, method)(*plain, **kwargs)
        if isinstance(out, np.ndarray):
            return out.view(FakeDeviceArray)
        if isinstance(out, tuple):
            return tuple(o.view(FakeDeviceArray) if isinstance(o, np.ndarray) else o for o in out)
        return np.asarray(out).view(FakeDeviceArray)


def _to_device(out):
    if isinstance(out, np.ndarray) and not isinstance(out, FakeDeviceArray):
        return out.view(FakeDeviceArray)
    if isinstance(out, tuple):
        return tuple(_to_device(o) for o in out)
    return out


def _device_fn(fn):
    def wrapped(*args, **kwargs):
        return _to_device(fn(*args, **kwargs))
    return wrapped


class FakeXP:
    """The stand-in's array module: numpy functions whose array results live on the 'device'."""

    def __getattr__(self, name):
        if name == "lib":
            return types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
                as_strided=_device_fn(np.lib.stride_tricks.as_strided)))
        obj = getattr(np, name)
        if callable(obj) and not isinstance(obj, (type, np.ufunc)):
            return _device_fn(obj)
        return obj


@pytest.fixture
def fakegpu():
    b = backend.register_backend(backend.Backend(
        "fakegpu", FakeXP(), FakeDeviceArray,
        from_numpy=lambda a: np.array(a).view(FakeDeviceArray),
        to_numpy=lambda a: np.array(a.view(np.ndarray))))
    yield b
    backend.unregister_backend("fakegpu")


def test_array_module_and_backend_of(fakegpu):
    a = np.ones(3)
    f = fakegpu.from_numpy(a)
    assert backend.array_module(a) is np and backend.array_module(f) is fakegpu.xp
    assert backend.backend_of(f) is fakegpu
    assert backend.backend_of(a).name == "numpy"


def test_tensor_moves_to_the_stand_in_and_back_with_gradients(fakegpu):
    x = minicnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to("fakegpu")
    assert y.backend == "fakegpu" and type(y.data) is FakeDeviceArray
    w = minicnn.tensor([0.5, 1.0, 2.0]).to("fakegpu")
    z = ((y * w).exp() + y).sum()
    assert z.backend == "fakegpu"
    z.backward()
    assert x.grad.backend == "numpy"
    expected = np.array([0.5, 1.0, 2.0]) * np.exp(np.array([1, 2, 3.]) * [0.5, 1, 2]) + 1
    assert np.allclose(x.grad.numpy(), expected, rtol=1e-6)
    assert np.allclose(y.detach().numpy(), [1, 2, 3]) and type(y.detach().numpy()) is np.ndarray


def test_mixing_two_backends_in_one_op_is_a_clear_error(fakegpu):
    a = minicnn.ones(3)
    b = minicnn.ones(3).to("fakegpu")
    for fn in (lambda: a + b, lambda: b * a, lambda: minicnn.cat([a, b]), lambda: a @ b):
        with pytest.raises(ValueError, match=r"two backends met \('numpy' and 'fakegpu'\)|"
                                             r"two backends met \('fakegpu' and 'numpy'\)"):
            fn()


def test_stand_in_really_refuses_raw_mixing(fakegpu):
    with pytest.raises(TypeError, match="refuses"):
        np.ones(2) + fakegpu.from_numpy(np.ones(2))


def test_cupy_request_without_gpu_is_a_clear_error():
    if backend.cupy_available():
        pytest.skip("a GPU is present; this test checks the message on machines without one")
    reason = backend.cupy_unavailable_reason()
    assert reason and ("cupy" in reason)
    with pytest.raises(RuntimeError, match=r"backend 'cupy' was requested but .*backend='numpy'"):
        minicnn.ones(2).to("cupy")
    with pytest.raises(RuntimeError, match="backend 'cupy'"):
        minicnn.zeros(2, device="cupy")
    assert "cupy" not in backend.available_backends()


def test_unknown_backend_and_bad_names():
    with pytest.raises(ValueError, match=r"unknown backend 'tpu'"):
        minicnn.ones(1).to("tpu")
    with pytest.raises(TypeError, match="backend must be a name"):
        backend.get_backend(3)


def test_scatter_add_accumulates_repeated_indices():
    t = np.zeros(4)
    backend.scatter_add(t, np.array([0, 1, 1, 3, 1]), np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert t.tolist() == [1.0, 10.0, 0.0, 4.0]


def test_only_backend_module_imports_numpy_or_cupy():
    import pathlib
    import re
    root = pathlib.Path(minicnn.__file__).parent
    offenders = []
    for p in root.rglob("*.py"):
        if p.name == "backend.py":
            continue
        if re.search(r"^\s*(import|from)\s+(numpy|cupy)\b", p.read_text(), re.M):
            offenders.append(str(p.relative_to(root)))
    assert offenders == []


def _graph(x, w):
    y = (x @ w).relu() * 2 - x.mean(dim=1, keepdim=True)
    y = minicnn.cat([y, y[:, :1].sigmoid()], dim=1)
    return (y.var(dim=0).sum() + y.amax() + (y ** 2).sqrt().max(dim=1).values.sum()
            + minicnn.stack([y, y]).tanh().abs().clamp(0.1, 0.9).sum())


def test_every_basic_op_stays_on_the_stand_in_and_matches_numpy(fakegpu):
    rng = np.random.default_rng(0)
    xa, wa = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    results = {}
    for name in ("numpy", "fakegpu"):
        x = minicnn.tensor(xa, dtype="float64", requires_grad=True)
        w = minicnn.tensor(wa, dtype="float64", requires_grad=True)
        loss = _graph(x.to(name), w.to(name))
        assert loss.backend == name
        loss.backward()
        results[name] = (loss.item(), x.grad.numpy(), w.grad.numpy())
    assert results["numpy"][0] == pytest.approx(results["fakegpu"][0], rel=1e-12)
    for a, b in zip(results["numpy"][1:], results["fakegpu"][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
