"""minicnn.nn against torch.nn: registration and naming, state_dict round trips and errors,
train/eval behaviour, default initialisation, ``to()``, and every layer's forward and
backward with the same state_dict (float64)."""
from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
from minicnn import nn
from tests.harness import assert_close
from tests.test_backend import fakegpu  # noqa: F401  (the stand-in device backend fixture)


# --- Module infrastructure ----------------------------------------------------------

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Linear(3, 4)
        self.scale = nn.Parameter(minicnn.ones(4))
        self.register_buffer("count", minicnn.zeros(1))
        self.register_buffer("scratch", minicnn.zeros(2), persistent=False)
        self.plain = 5

    def forward(self, x):
        return self.conv(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        self.heads = nn.ModuleList([nn.Linear(2, 1), nn.Linear(2, 1)])
        self.shared = self.body[0]  # the same module under two names

    def forward(self, x):
        y = self.body(self.a(x))
        return sum(h(y) for h in self.heads)


def test_registration_names_and_counts():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["a.scale", "a.conv.weight", "a.conv.bias", "body.0.weight", "body.0.bias",
                     "body.2.weight", "body.2.bias", "heads.0.weight", "heads.0.bias",
                     "heads.1.weight", "heads.1.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == 4 + 16 + 20 + 10 + 6
    # state_dict keeps torch's names, persistent buffers, and shared modules under both names
    keys = list(net.state_dict())
    assert "a.count" in keys and "a.scratch" not in keys
    assert "shared.weight" in keys and "body.0.weight" in keys
    assert [n for n, _ in net.named_buffers()] == ["a.count", "a.scratch"]
    assert [n for n, _ in net.named_children()] == ["a", "body", "heads", "shared"]
    assert [n for n, _ in net.named_modules()] == ["", "a", "a.conv", "body", "body.0", "body.1", "body.2",
                                                   "heads", "heads.0", "heads.1"]  # body.0 once
    assert net.get_submodule("body.2") is net.body[2]
    assert net.a.plain == 5 and "plain" not in net.a._parameters
    assert "conv" in dir(net.a)


def test_assignment_rules_and_errors():
    blk = Block()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        blk.scale = minicnn.ones(4)
    blk.scale = None
    assert "a" not in [n for n, _ in blk.named_parameters()] and blk.scale is None
    with pytest.raises(TypeError, match="buffer 'count'"):
        blk.count = 3
    blk.count = minicnn.ones(1)
    assert blk.state_dict()["count"].item() == 1.0

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(minicnn.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        blk.nope
    del blk.conv
    assert "conv" not in blk._modules
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_sequential_and_module_list_behave_like_torch():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.Sigmoid)
    part = seq[1:3]
    assert isinstance(part, nn.Sequential) and len(part) == 2
    assert list(part.state_dict()) == ["2.weight", "2.bias"]  # slicing keeps torch's keys
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    seq.append(nn.Identity())
    assert len(seq) == 5 and list(seq._modules)[-1] == "4"
    with pytest.raises(IndexError, match="out of range"):
        seq[7]
    x = minicnn.randn(5, 2)
    y = seq(x)
    ref = seq[3](seq[2](seq[1](seq[0](x))))
    assert np.array_equal(y.detach().numpy(), ref.detach().numpy())
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.Tanh()))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named[1] is named.act

    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    ml += [nn.Linear(2, 2)]
    assert len(ml) == 3 and [n for n, _ in ml.named_parameters()][-1] == "2.bias"
    assert isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 2
    del ml[0]
    assert list(ml._modules) == ["0", "1"] and ml[0].out_features == 2
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    assert "x" in md and list(md.state_dict()) == ["x.weight", "x.bias"]


def test_repr_matches_torch_for_a_small_model():
    mc = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
                       nn.BatchNorm2d(8), nn.Flatten(), nn.Dropout(0.25), nn.Linear(8, 2, bias=False),
                       nn.LeakyReLU(0.2), nn.Upsample(scale_factor=2, mode="bilinear"),
                       nn.ReflectionPad2d(1), nn.PixelShuffle(2), nn.AdaptiveAvgPool2d(7),
                       nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, groups=2),
                       nn.InstanceNorm2d(3, affine=True), nn.Softmax(dim=1), nn.Identity())
    th = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(inplace=True),
                             torch.nn.MaxPool2d(2, 2), torch.nn.BatchNorm2d(8), torch.nn.Flatten(),
                             torch.nn.Dropout(0.25), torch.nn.Linear(8, 2, bias=False),
                             torch.nn.LeakyReLU(0.2), torch.nn.Upsample(scale_factor=2, mode="bilinear"),
                             torch.nn.ReflectionPad2d(1), torch.nn.PixelShuffle(2),
                             torch.nn.AdaptiveAvgPool2d(7),
                             torch.nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, groups=2),
                             torch.nn.InstanceNorm2d(3, affine=True), torch.nn.Softmax(dim=1),
                             torch.nn.Identity())
    assert repr(mc) == repr(th)
    assert repr(nn.Parameter(minicnn.zeros(2))).startswith("Parameter containing:")


def test_train_eval_requires_grad_zero_grad_apply():
    net = Net()
    assert net.training and net.body[1].training
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="bool"):
        net.train("no")
    loss = net(minicnn.randn(2, 3)).sum()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(np.abs(p.grad.detach().numpy()).max()) == 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear" and seen.count("Linear") == 6  # body.0 twice (also "shared"), as torch


def test_nn_functional_is_minicnn_functional():
    import minicnn.nn.functional as F
    assert F is minicnn.functional and nn.functional is minicnn.functional and F.conv2d


def test_forward_hooks_run_and_can_be_removed():
    lin = nn.Linear(2, 2)
    outs = []
    h = lin.register_forward_hook(lambda m, i, o: outs.append(o.shape))
    lin(minicnn.randn(3, 2))
    h.remove()
    lin(minicnn.randn(3, 2))
    assert outs == [(3, 2)]
    lin.register_forward_pre_hook(lambda m, i: (i[0] * 0,))
    assert np.allclose(lin(minicnn.randn(1, 2)).detach().numpy(), lin.bias.detach().numpy()[None])


def test_to_double_float_move_params_and_buffers_in_place(fakegpu):
    bn = nn.BatchNorm2d(3)
    w = bn.weight
    assert bn.to("float64") is bn and bn.weight is w
    assert bn.weight.dtype == np.float64 and bn.running_var.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype, as torch
    bn.float()
    assert bn.weight.dtype == np.float32
    bn.double()
    assert bn.running_mean.dtype == np.float64
    lin = nn.Linear(2, 3)
    lin(minicnn.randn(4, 2)).sum().backward()
    lin.to("fakegpu")
    assert lin.weight.backend == "fakegpu" and lin.weight.grad.backend == "fakegpu"
    x = minicnn.randn(4, 2).to("fakegpu")
    assert lin(x).backend == "fakegpu"
    lin.to(device="numpy", dtype="float64")
    assert lin.weight.backend == "numpy" and lin.bias.dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        lin.to("int32")
    with pytest.raises(ValueError, match="'tpu' is neither a backend"):
        lin.to("tpu")


def test_load_state_dict_errors_list_missing_unexpected_and_mismatched_keys():
    net = Net()
    sd = net.state_dict()
    good = {k: v.detach().numpy() * 0 + 1 for k, v in sd.items()}
    assert net.load_state_dict(good) == ([], [])
    assert np.all(net.body[2].weight.detach().numpy() == 1)

    bad = dict(good)
    del bad["body.2.bias"]
    bad["extra.weight"] = np.zeros(3)
    bad["heads.0.weight"] = np.zeros((5, 5))
    before = net.body[2].weight.detach().numpy().copy()
    bad["body.2.weight"] = np.full((2, 4), 7.0)
    with pytest.raises(nn.StateDictError) as err:
        net.load_state_dict(bad)
    msg = str(err.value)
    assert "body.2.bias" in msg and "extra.weight" in msg
    assert "first bad key 'body.2.bias': expected shape (2,), found no such key" in msg
    assert "'heads.0.weight': expected (1, 2), found (5, 5)" in msg
    assert err.value.missing_keys == ["body.2.bias"] and err.value.unexpected_keys == ["extra.weight"]
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, ValueError)
    assert np.array_equal(net.body[2].weight.detach().numpy(), before)  # nothing copied on failure

    # strict=False tolerates missing/unexpected keys but never a shape mismatch
    del bad["heads.0.weight"]
    res = net.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["body.2.bias", "heads.0.weight"] and res.unexpected_keys == ["extra.weight"]
    assert np.all(net.body[2].weight.detach().numpy() == 7)
    bad["heads.1.bias"] = np.zeros(3)
    with pytest.raises(RuntimeError, match=r"first bad key 'heads.1.bias': expected shape \(1,\), found shape \(3,\)"):
        net.load_state_dict(bad, strict=False)
    with pytest.raises(TypeError, match="mapping"):
        net.load_state_dict([1, 2])


def test_state_dict_round_trips_with_torch_names_and_values():
    torch.manual_seed(0)
    th = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
                             torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5)).double()
    th.train()
    th(torch.randn(4, 2, 6, 6, dtype=torch.float64))  # move the running statistics
    mc = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 5))
    mc.double().load_state_dict(th.state_dict())
    assert list(mc.state_dict()) == list(th.state_dict())
    for k, v in th.state_dict().items():
        assert np.array_equal(mc.state_dict()[k].detach().numpy(), v.detach().numpy()), k
    assert mc[1].num_batches_tracked.item() == 1
    # and back into torch
    th2 = copy.deepcopy(th)
    for p in th2.parameters():
        torch.nn.init.zeros_(p)
    th2.load_state_dict({k: torch.from_numpy(v.detach().numpy()) for k, v in mc.state_dict().items()})
    assert all(torch.equal(a, b) for a, b in zip(th.state_dict().values(), th2.state_dict().values()))
    # state_dict shares memory; deepcopy and pickle give independent copies
    clone = copy.deepcopy(mc)
    clone[0].weight.data[...] = 0
    assert np.abs(mc[0].weight.detach().numpy()).max() > 0
    again = pickle.loads(pickle.dumps(mc))
    assert np.array_equal(again[4].weight.detach().numpy(), mc[4].weight.detach().numpy())
    assert isinstance(again[4].weight, nn.Parameter)


# --- initialisation -----------------------------------------------------------------

@pytest.mark.parametrize("make_mc, make_th, fan_in", [
    (lambda: nn.Conv2d(16, 32, 3), lambda: torch.nn.Conv2d(16, 32, 3), 16 * 9),
    (lambda: nn.Conv2d(8, 32, (3, 5), groups=4), lambda: torch.nn.Conv2d(8, 32, (3, 5), groups=4), 2 * 15),
    (lambda: nn.ConvTranspose2d(32, 16, 4), lambda: torch.nn.ConvTranspose2d(32, 16, 4), 16 * 16),
    (lambda: nn.Linear(300, 200), lambda: torch.nn.Linear(300, 200), 300),
])
def test_default_init_follows_torch_bounds_and_statistics(make_mc, make_th, fan_in):
    minicnn.manual_seed(1)
    mc, th = make_mc(), make_th()
    bound = 1 / math.sqrt(fan_in)
    for name in ("weight", "bias"):
        m = getattr(mc, name).detach().numpy().astype(np.float64)
        t = getattr(th, name).detach().numpy().astype(np.float64)
        assert m.shape == t.shape
        assert np.abs(m).max() <= bound * (1 + 1e-6) and np.abs(t).max() <= bound * (1 + 1e-6)
        assert np.abs(m).max() > 0.9 * bound  # really spread over the whole interval
        if m.size > 1000:  # U(-b, b): mean 0, std b / sqrt(3), like torch's draw
            assert abs(m.mean()) < 0.05 * bound
            assert abs(m.std() - bound / math.sqrt(3)) < 0.03 * bound
            assert abs(m.std() - t.std()) < 0.05 * bound
    minicnn.manual_seed(1)
    assert np.array_equal(make_mc().weight.detach().numpy(), mc.weight.detach().numpy())  # seedable
    assert mc.weight.dtype == np.float32
    assert not np.array_equal(make_mc().weight.detach().numpy(), mc.weight.detach().numpy())  # the generator moved on


def test_init_functions():
    g = np.random.default_rng(0)
    w = minicnn.zeros(256, 128, 3, 3)
    fan_in, fan_out = 128 * 9, 256 * 9
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=g)
    assert abs(w.detach().numpy().std() / math.sqrt(2 / fan_out) - 1) < 0.01
    nn.init.kaiming_uniform_(w, a=0, nonlinearity="relu", generator=g)
    assert np.abs(w.detach().numpy()).max() <= math.sqrt(6 / fan_in) * (1 + 1e-6)
    assert abs(w.detach().numpy().std() / math.sqrt(2 / fan_in) - 1) < 0.01
    nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh"))
    assert np.abs(w.detach().numpy()).max() <= 5 / 3 * math.sqrt(6 / (fan_in + fan_out)) * (1 + 1e-6)
    nn.init.xavier_normal_(w)
    assert abs(w.detach().numpy().std() / math.sqrt(2 / (fan_in + fan_out)) - 1) < 0.01
    nn.init.normal_(w, 2.0, 0.5)
    assert abs(w.detach().numpy().mean() - 2) < 0.01 and abs(w.detach().numpy().std() - 0.5) < 0.01
    nn.init.trunc_normal_(w, std=1.0, a=-1, b=1)
    assert np.abs(w.detach().numpy()).max() <= 1
    nn.init.uniform_(w, -3, -2)
    assert -3 <= w.detach().numpy().min() and w.detach().numpy().max() < -2
    nn.init.constant_(w, 0.25)
    assert np.all(w.detach().numpy() == 0.25)
    assert np.all(nn.init.ones_(minicnn.zeros(3)).detach().numpy() == 1)
    assert np.all(nn.init.zeros_(minicnn.ones(3)).detach().numpy() == 0)
    assert np.array_equal(nn.init.eye_(minicnn.zeros(2, 3)).detach().numpy(), np.eye(2, 3))
    for name, gain in [("relu", math.sqrt(2)), ("tanh", 5 / 3), ("sigmoid", 1.0), ("conv2d", 1.0),
                       ("selu", 0.75)]:
        assert nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.2))
    with pytest.raises(ValueError, match="fewer than 2"):
        nn.init.kaiming_uniform_(minicnn.zeros(3))
    with pytest.raises(ValueError, match="mode"):
        nn.init.kaiming_uniform_(w, mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


# --- layers vs torch ----------------------------------------------------------------

def _pair_layers(name, args, kwargs):
    torch.manual_seed(0)
    th = getattr(torch.nn, name)(*args, **kwargs).double()
    mc = getattr(nn, name)(*args, **kwargs).double()
    mc.load_state_dict(th.state_dict())
    return mc, th


def check_layer(name, args, kwargs, shape, train=True, seed=0, x_low=None, call_kw=None, what=None):
    """Forward + backward of nn.<name> vs torch.nn.<name> sharing one state_dict, float64.

    Compares the output, the input gradient, every parameter gradient and the buffers after the step.
    """
    what = what or f"{name}{args}{kwargs}"
    mc, th = _pair_layers(name, args, kwargs)
    mc.train(train)
    th.train(train)
    rng = np.random.default_rng(seed)
    x = rng.uniform(x_low, 1, shape) if x_low is not None else rng.standard_normal(shape)
    xm = minicnn.tensor(x, dtype="float64", requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ym, yt = mc(xm, **(call_kw or {})), th(xt, **(call_kw or {}))
    assert ym.dtype == np.float64, what
    assert_close(ym, yt, np.float64, f"{what}: forward")
    v = rng.standard_normal(yt.shape)
    (ym * minicnn.tensor(v, dtype="float64")).sum().backward()
    (yt * torch.tensor(v)).sum().backward()
    assert_close(xm.grad, xt.grad, np.float64, f"{what}: input gradient")
    th_params = dict(th.named_parameters())
    mc_params = dict(mc.named_parameters())
    assert list(mc_params) == list(th_params), what
    for k, p in mc_params.items():
        assert_close(p.grad, th_params[k].grad, np.float64, f"{what}: gradient of {k}")
    for (k, b), (k2, b2) in zip(mc.state_dict().items(), th.state_dict().items()):
        assert k == k2
        assert_close(b, b2, np.float64, f"{what}: state {k} after the step")
    return mc, th


LAYER_CASES = [
    ("Conv2d", (3, 4, 3), {}, (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2), (2, 4, 9, 8)),
    ("Conv2d", (3, 2, 3), dict(padding=1, bias=False, padding_mode="reflect"), (1, 3, 5, 6)),
    ("Conv2d", (3, 2, 3), dict(padding=2, padding_mode="replicate"), (1, 3, 5, 4)),
    ("Conv2d", (3, 2, 3), dict(padding=1, padding_mode="circular"), (1, 3, 5, 4)),
    ("Conv2d", (2, 3, 4), dict(padding="same", dilation=2), (2, 2, 7, 8)),
    ("Conv2d", (2, 3, 3), dict(padding="valid"), (1, 2, 5, 5)),
    ("Conv2d", (2, 3, (4, 3)), dict(padding="same"), (1, 2, 6, 5)),
    ("Conv2d", (2, 2, 2), dict(padding="same", padding_mode="reflect"), (1, 2, 4, 5)),
    ("ConvTranspose2d", (4, 3, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 4, 5)),
    ("ConvTranspose2d", (4, 6, (2, 3)), dict(stride=(1, 2), groups=2, dilation=2, bias=False), (1, 4, 3, 4)),
    ("MaxPool2d", (2,), {}, (2, 3, 6, 7)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (1, 2, 8, 7)),
    ("AvgPool2d", (2, 2), {}, (2, 3, 6, 6)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (1, 2, 7, 8)),
    ("AdaptiveAvgPool2d", (7,), {}, (1, 2, 5, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (1, 2, 8, 5)),
    ("AdaptiveMaxPool2d", (3,), {}, (1, 2, 7, 8)),
    ("ReLU", (), {}, (3, 4)),
    ("LeakyReLU", (0.2,), {}, (3, 4, 2)),
    ("Sigmoid", (), {}, (3, 4)),
    ("Tanh", (), {}, (3, 4)),
    ("Softmax", (), dict(dim=1), (3, 4, 2)),
    ("LogSoftmax", (), dict(dim=-1), (3, 4)),
    ("ELU", (0.7,), {}, (3, 4)),
    ("GELU", (), {}, (3, 4)),
    ("Softplus", (2.0,), {}, (3, 4)),
    ("SiLU", (), {}, (3, 4)),
    ("BatchNorm2d", (3,), {}, (4, 3, 5, 4)),
    ("BatchNorm2d", (3,), dict(momentum=None, affine=False), (2, 3, 3, 3)),
    ("BatchNorm2d", (3,), dict(track_running_stats=False, bias=False), (2, 3, 3, 3)),
    ("InstanceNorm2d", (3,), {}, (2, 3, 5, 4)),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True), (2, 3, 4, 4)),
    ("Linear", (5, 3), {}, (4, 5)),
    ("Linear", (5, 3), dict(bias=False), (2, 4, 5)),
    ("Flatten", (), {}, (2, 3, 4)),
    ("Flatten", (0, 1), {}, (2, 3, 4)),
    ("Unflatten", (1, (2, 3)), {}, (2, 6, 4)),
    ("Identity", (), {}, (2, 3)),
    ("Dropout", (0.3,), {}, (2, 3)),  # run in eval mode below: identity
    ("Upsample", (), dict(scale_factor=2, mode="nearest"), (1, 2, 3, 4)),
    ("Upsample", (), dict(size=(5, 7), mode="bilinear", align_corners=False), (1, 2, 3, 4)),
    ("Upsample", (), dict(scale_factor=2, mode="bicubic", align_corners=True), (1, 1, 3, 4)),
    ("PixelShuffle", (2,), {}, (1, 8, 3, 2)),
    ("PixelUnshuffle", (2,), {}, (1, 2, 4, 6)),
    ("ReflectionPad2d", (2,), {}, (1, 2, 4, 5)),
    ("ReflectionPad2d", ((1, 0, 2, 3),), {}, (1, 2, 4, 5)),
    ("ReplicationPad2d", ((1, 2, 0, 3),), {}, (1, 2, 3, 4)),
    ("ZeroPad2d", (1,), {}, (1, 2, 3, 4)),
    ("ConstantPad2d", ((1, 0, 0, 2), 3.5), {}, (1, 2, 3, 4)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's own notice
@pytest.mark.parametrize("name, args, kwargs, shape", LAYER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYER_CASES)])
def test_layer_matches_torch_forward_and_backward(name, args, kwargs, shape):
    check_layer(name, args, kwargs, shape, train=name != "Dropout")


def test_conv_transpose_output_size_picks_the_output_padding():
    mc, th = check_layer("ConvTranspose2d", (2, 3, 3), dict(stride=3), (1, 2, 4, 4),
                         call_kw=dict(output_size=(13, 14)))
    with pytest.raises(ValueError, match="valid sizes"):
        mc(minicnn.randn(1, 2, 4, 4, dtype="float64"), output_size=(20, 20))


@settings(max_examples=8, deadline=None)
@given(cin=st.integers(1, 3), cout=st.integers(1, 3), k=st.integers(1, 3), stride=st.integers(1, 2),
       padding=st.integers(0, 2), mode=st.sampled_from(["zeros", "reflect", "replicate"]),
       seed=st.integers(0, 100))
def test_conv2d_layer_matches_torch_over_drawn_configurations(cin, cout, k, stride, padding, mode, seed):
    check_layer("Conv2d", (cin, cout, k), dict(stride=stride, padding=padding, padding_mode=mode),
                (2, cin, 5, 6), seed=seed)


def test_batchnorm_running_statistics_follow_torch_over_steps_then_eval():
    for momentum in (0.1, None):
        mc, th = _pair_layers("BatchNorm2d", (3,), dict(momentum=momentum))
        rng = np.random.default_rng(3)
        for _ in range(3):
            x = rng.standard_normal((4, 3, 2, 3)) * 2 + 1
            mc(minicnn.tensor(x, dtype="float64"))
            th(torch.tensor(x))
        assert mc.num_batches_tracked.item() == 3
        for k, v in th.state_dict().items():
            assert_close(mc.state_dict()[k], v, np.float64, f"momentum={momentum}: {k}")
        mc.eval(), th.eval()
        x = rng.standard_normal((2, 3, 2, 2))
        assert_close(mc(minicnn.tensor(x, dtype="float64")), th(torch.tensor(x)), np.float64, "eval")
        assert mc.num_batches_tracked.item() == 3  # eval mode does not count
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(minicnn.randn(3, 3))
    with pytest.raises(ValueError, match="expected 3 channels"):
        nn.BatchNorm2d(3)(minicnn.randn(2, 4, 2, 2))


def test_instance_norm_accepts_unbatched_input():
    mc, th = _pair_layers("InstanceNorm2d", (2,), dict(affine=True))
    x = np.random.default_rng(0).standard_normal((2, 4, 5))
    assert_close(mc(minicnn.tensor(x, dtype="float64")), th(torch.tensor(x)), np.float64, "unbatched")


def test_dropout_train_zeroes_and_rescales_eval_is_identity():
    minicnn.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = minicnn.ones(200, 100)
    y = drop(x).detach().numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    assert np.allclose(y[kept], 1 / 0.75)
    drop.eval()
    assert drop(x) is x or np.array_equal(drop(x).detach().numpy(), x.detach().numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout2d_drops_whole_channels():
    minicnn.manual_seed(0)
    drop = nn.Dropout2d(0.5)
    y = drop(minicnn.ones(40, 50, 3, 4)).detach().numpy()
    per_channel = y.reshape(40, 50, 12)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # a channel is all kept or all zero
    assert set(np.unique(y)) <= {0.0, 2.0} and abs((y != 0).mean() - 0.5) < 0.05
    assert drop.eval()(minicnn.ones(2, 3, 1, 1)).detach().numpy().min() == 1


def test_layer_argument_errors_name_the_layer_and_value():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding must be smaller"):
        nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="out_features must be positive"):
        nn.Linear(3, 0)
    with pytest.raises(ValueError, match="padding must be an int or a 4-tuple"):
        nn.ReflectionPad2d((1, 2))


def test_loss_layers_match_torch():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    tgt = np.array([0, 3, 1])
    for mc_l, th_l, target in [
        (nn.MSELoss(), torch.nn.MSELoss(), b), (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), b),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), b),
        (nn.HuberLoss(delta=0.3), torch.nn.HuberLoss(delta=0.3), b),
        (nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(label_smoothing=0.1), tgt),
        (nn.NLLLoss(), torch.nn.NLLLoss(), tgt)]:
        xm = minicnn.tensor(a, dtype="float64", requires_grad=True)
        xt = torch.tensor(a, requires_grad=True)
        tm = minicnn.tensor(target, dtype="float64" if target.dtype.kind == "f" else None)
        lm, lt = mc_l(xm, tm), th_l(xt, torch.tensor(target))
        assert_close(lm, lt, np.float64, type(mc_l).__name__)
        lm.backward(), lt.backward()
        assert_close(xm.grad, xt.grad, np.float64, type(mc_l).__name__ + " grad")
