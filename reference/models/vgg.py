"""Torch twin of minicnn/models/vgg.py: VGG16/VGG19 in plain torch.nn with torchvision's layout.

torchvision is not needed: ``features`` is built by hand with torchvision's indices, so
``state_dict()`` keys (``features.0.weight`` ... ``classifier.6.bias``) are torchvision's
and its weight files load. Same constructor arguments, layer names, ``extract``,
``truncate``, ``normalize`` and ``pool='avg'`` as the minicnn model.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

CFGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_layer_names(arch="vgg19"):
    names, block, pos = [], 1, 1
    for v in CFGS[arch]:
        if v == "M":
            names.append(f"pool{block}")
            block, pos = block + 1, 1
        else:
            names += [f"conv{block}_{pos}", f"relu{block}_{pos}"]
            pos += 1
    return names


class VGG(nn.Module):
    def __init__(self, arch="vgg19", pool="max", include_top=False, num_classes=1000, normalize=False,
                 upto=None, dropout=0.5):
        super().__init__()
        all_names = vgg_layer_names(arch)
        last = len(all_names) - 1 if upto is None else (upto if isinstance(upto, int) else all_names.index(upto))
        layers, cin = [], 3
        for v in CFGS[arch]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2) if pool == "max" else nn.AvgPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers[:last + 1])
        if include_top:
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
                nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
                nn.Linear(4096, num_classes))
        self.arch, self.pool, self.include_top, self.normalize = arch, pool, include_top, normalize
        self.layer_names = all_names[:last + 1]
        self.layer_index = {n: i for i, n in enumerate(self.layer_names)}
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1), persistent=False)

    def init_random_weights(self):
        """torchvision's VGG initialisation (torch's generator)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)
        return self

    def _prepare(self, x):
        return (x - self.mean) / self.std if self.normalize else x

    def forward(self, x):
        x = self.features(self._prepare(x))
        if self.include_top:
            x = self.classifier(torch.flatten(self.avgpool(x), 1))
        return x

    def extract(self, x, names):
        names = [names] if isinstance(names, str) else list(names)
        wanted = {self.layer_index[n]: n for n in names}
        out, h = {}, self._prepare(x)
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in wanted:
                # the next ReLU(inplace=True) would overwrite a conv output kept here: keep a copy
                nxt = self.features[i + 1] if i + 1 < len(self.features) else None
                inplace = isinstance(nxt, nn.ReLU) and nxt.inplace
                out[wanted[i]] = h.clone() if inplace else h
            if i == max(wanted):
                break
        return {n: out[n] for n in names}

    def truncate(self, upto):
        last = upto if isinstance(upto, int) else self.layer_index[upto]
        new = copy.copy(self)
        new._modules = dict(self._modules)
        new._modules.pop("avgpool", None)
        new._modules.pop("classifier", None)
        new._modules["features"] = self.features[:last + 1]
        new.include_top = False
        new.layer_names = self.layer_names[:last + 1]
        new.layer_index = {n: i for i, n in enumerate(new.layer_names)}
        return new


def load_state_file(path):
    """A state_dict from a torch .pth or a minicnn .npz file."""
    if str(path).endswith(".npz"):
        import numpy as np
        with np.load(path) as z:
            return {k: torch.from_numpy(z[k].copy()) for k in z.files}
    return torch.load(path, map_location="cpu", weights_only=True)


def _build(arch, weights, include_top=False, **kw):
    model = VGG(arch, include_top=include_top, **kw)
    if weights:
        sd = load_state_file(weights)
        model.load_state_dict({k: sd[k] for k in model.state_dict()})
    else:
        model.init_random_weights()
    return model


def vgg16(weights=None, **kw):
    return _build("vgg16", weights, **kw)


def vgg19(weights=None, **kw):
    return _build("vgg19", weights, **kw)
