"""Image quality metrics on numpy arrays in [0, data_range]: PSNR and SSIM.

SSIM follows Wang et al. (2004) as scikit-image computes it with
``gaussian_weights=True``: an 11x11 Gaussian window (sigma 1.5, truncated at
3.5 sigma), population covariances, K1 = 0.01, K2 = 0.03, symmetric padding,
and the mean taken over the map with a 5-pixel border cropped.
"""
from __future__ import annotations

import numpy as np


def _shave(a, n):
    return a[..., n:a.shape[-2] - n, n:a.shape[-1] - n] if n else a


def _planes(a):
    """(H, W), (H, W, C) or (C, H, W)-like arrays as a stack of 2-D float64 planes."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        return a[None]
    if a.ndim == 3 and a.shape[-1] in (1, 3, 4) and a.shape[0] not in (1, 3):
        return np.moveaxis(a, -1, 0)
    return a.reshape((-1,) + a.shape[-2:])


def psnr(a, b, data_range=1.0, shave=0):
    """Peak signal-to-noise ratio in dB, 10 log10(R^2 / MSE), after cropping ``shave`` border pixels."""
    a, b = _planes(a), _planes(b)
    if a.shape != b.shape:
        raise ValueError(f"psnr: images have different shapes {a.shape} and {b.shape}")
    mse = float(np.mean((_shave(a, shave) - _shave(b, shave)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range ** 2 / mse)


def _gaussian_filter(planes, sigma=1.5, truncate=3.5):
    r = int(truncate * sigma + 0.5)
    x = np.arange(-r, r + 1)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    p = np.pad(planes, ((0, 0), (r, r), (r, r)), mode="symmetric")
    w = np.lib.stride_tricks.sliding_window_view(p, 2 * r + 1, axis=1) @ k
    return np.lib.stride_tricks.sliding_window_view(w, 2 * r + 1, axis=2) @ k


def ssim(a, b, data_range=1.0, shave=0):
    """Mean structural similarity over all planes (channels averaged), as scikit-image's gaussian SSIM."""
    a, b = _shave(_planes(a), shave), _shave(_planes(b), shave)
    if a.shape != b.shape:
        raise ValueError(f"ssim: images have different shapes {a.shape} and {b.shape}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    f = _gaussian_filter
    mu_a, mu_b = f(a), f(b)
    va = f(a * a) - mu_a ** 2
    vb = f(b * b) - mu_b ** 2
    cov = f(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2))
    pad = 5
    return float(s[:, pad:-pad, pad:-pad].mean())
