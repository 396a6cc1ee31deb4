"""RED-Net (Mao, Shen and Yang, 2016): a residual encoder-decoder for image denoising.

"Image Restoration Using Very Deep Convolutional Encoder-Decoder Networks with
Symmetric Skip Connections", NIPS 2016 (arXiv:1603.09056 / 1606.08921).

Layout, for ``depth = 2n`` layers (n = 5 for the default RED10)::

    e0 = x                                   the noisy image (C = 1 or 3 channels)
    e_k = relu(conv_k(e_{k-1}))              k = 1..n     encoder: 3x3 conv, stride 1, pad 1
                                                         (conv1: C -> 64, the others 64 -> 64)
    h_0 = e_n
    d_j = deconv_j(h_{j-1})                  j = 1..n     decoder: 3x3 transposed conv, stride 1,
                                                         pad 1 (64 -> 64, the last 64 -> C)
    h_j = relu(d_j + e_{n-j})   if n - j is even and j < n   (a symmetric skip)
    h_j = relu(d_j)             otherwise, j < n
    y   = d_n + x               residual=True  (the outermost skip: image -> output)
    y   = d_n                   residual=False

Deconvolution layer j mirrors convolution layer n - j + 1: it maps features of
the size of e_{n-j+1} back to the size of e_{n-j}. Skips run "every two layers"
from the image upwards: the encoder features e_0, e_2, e_4, ... are added to the
outputs of their mirrored deconvolutions, the sum is rectified and passed on, as
the paper's Fig. 1 and 2 draw it. e_0 is the image itself, so the outermost skip
is the residual connection; no ReLU follows it, so the output may be any value
(clip to [0, 1] when writing an image). For RED10 the skips are
conv4 -> deconv1 and conv2 -> deconv3 (plus image -> output); for RED20,
conv8 -> deconv2, conv6 -> deconv4, ..., conv2 -> deconv8; for RED30, conv14 ->
deconv1, conv12 -> deconv3, ..., conv2 -> deconv13.

With stride 1 and padding 1 every layer keeps the image size, so any H x W
works; the receptive field has radius ``depth`` pixels (``model.radius``), which
is the overlap tiled inference needs to match a single pass exactly.

Initialisation: He (Kaiming) normal for every layer, counting a transposed
convolution's fan-in over its input channels, zero biases; with ``residual``
the last layer is scaled by 0.1 so the untrained network is close to the
identity and training starts from the noisy image, not from zero.

State-dict keys: ``conv1.weight``, ``conv1.bias``, ..., ``deconv{n}.bias``; the
torch twin (``reference/models/rednet.py``) uses the same names.
"""
from __future__ import annotations

from minicnn import functional as F
from minicnn import nn
from minicnn.nn import init

__all__ = ["REDNet", "rednet10", "rednet20", "rednet30", "DEPTHS"]

DEPTHS = (10, 20, 30)


def skip_sources(depth):
    """{deconv index j: encoder index k} for the feature skips (k = 0, the image, is the residual)."""
    n = depth // 2
    return {j: n - j for j in range(1, n) if (n - j) % 2 == 0}


class REDNet(nn.Module):
    """``REDNet(depth=10, channels=1, features=64, residual=True)``.

    Input and output: (N, channels, H, W) of the same size. ``depth`` is the total
    number of layers, an even number >= 4 (10, 20 and 30 in the paper).
    """

    def __init__(self, depth=10, channels=1, features=64, residual=True, kernel_size=3, device=None,
                 dtype=None):
        super().__init__()
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 4 or depth % 2:
            raise ValueError(f"REDNet: depth must be an even integer >= 4 (10, 20 or 30 in the paper), "
                             f"got {depth!r}")
        if channels not in (1, 3):
            raise ValueError(f"REDNet: channels must be 1 (grayscale) or 3 (colour), got {channels!r}")
        if not isinstance(features, int) or features < 1:
            raise ValueError(f"REDNet: features must be a positive integer, got {features!r}")
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"REDNet: kernel_size must be an odd positive integer, got {kernel_size!r}")
        self.depth, self.channels, self.features = depth, channels, features
        self.residual, self.kernel_size = bool(residual), kernel_size
        self.n = n = depth // 2
        self.radius = depth * (kernel_size // 2)
        self.skips = skip_sources(depth)
        pad = kernel_size // 2
        for k in range(1, n + 1):
            cin = channels if k == 1 else features
            setattr(self, f"conv{k}", nn.Conv2d(cin, features, kernel_size, padding=pad, device=device,
                                                dtype=dtype))
        for j in range(1, n + 1):
            cout = channels if j == n else features
            setattr(self, f"deconv{j}", nn.ConvTranspose2d(features, cout, kernel_size, padding=pad,
                                                           device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self, generator=None):
        """He-normal weights, zero biases; the last layer scaled by 0.1 when residual.

        ``generator`` (a numpy Generator) makes the draw independent of minicnn's global seed.
        """
        for k in range(1, self.n + 1):
            conv = getattr(self, f"conv{k}")
            init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu", generator=generator)
            init.zeros_(conv.bias)
        for j in range(1, self.n + 1):
            deconv = getattr(self, f"deconv{j}")
            # A transposed conv weight is (in, out, k, k): its true fan-in (in * k * k) is torch's "fan_out".
            init.kaiming_normal_(deconv.weight, mode="fan_out", nonlinearity="relu", generator=generator)
            init.zeros_(deconv.bias)
        if self.residual:
            last = getattr(self, f"deconv{self.n}")
            last.weight.data *= 0.1

    def extra_repr(self):
        return (f"depth={self.depth}, channels={self.channels}, features={self.features}, "
                f"residual={self.residual}, skips={{deconv: conv}}={self.skips}")

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"REDNet: expected input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        kept = {}                                  # encoder features a skip will need
        h = x
        for k in range(1, self.n + 1):
            h = F.relu(getattr(self, f"conv{k}")(h))
            if k in self.skips.values():
                kept[k] = h
        for j in range(1, self.n + 1):
            d = getattr(self, f"deconv{j}")(h)
            if j == self.n:
                return d + x if self.residual else d
            h = F.relu(d + kept.pop(self.skips[j])) if j in self.skips else F.relu(d)
        raise AssertionError("unreachable")


def rednet10(**kwargs):
    return REDNet(depth=10, **kwargs)


def rednet20(**kwargs):
    return REDNet(depth=20, **kwargs)


def rednet30(**kwargs):
    return REDNet(depth=30, **kwargs)
