"""PSNR and SSIM agree with scikit-image's implementations."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from algorithms.common.metrics import psnr, ssim


@pytest.mark.parametrize("shape", [(40, 37), (33, 48, 3)])
def test_psnr_and_ssim_match_skimage(shape):
    rng = np.random.default_rng(0)
    clean = rng.random(shape)
    noisy = np.clip(clean + 0.1 * rng.standard_normal(shape), 0, 1)
    assert psnr(noisy, clean) == pytest.approx(peak_signal_noise_ratio(clean, noisy, data_range=1.0), abs=1e-9)
    ch = -1 if len(shape) == 3 else None
    ref = structural_similarity(clean, noisy, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, channel_axis=ch)
    assert ssim(noisy, clean) == pytest.approx(ref, abs=1e-9)


def test_psnr_shave_and_errors():
    a = np.zeros((10, 10))
    b = a.copy()
    b[0, :] = 1.0                       # only the border differs
    assert psnr(a, b, shave=1) == float("inf")
    assert psnr(a, b) == pytest.approx(10 * np.log10(1 / 0.1))
    with pytest.raises(ValueError, match="different shapes"):
        psnr(a, np.zeros((9, 10)))
