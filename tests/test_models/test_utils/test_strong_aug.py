import math

import numpy as np
import pytest
import torch

from mmseg_diffuda.models.utils import StrongAugmentation, StrongAugParams, blur_kernel_size

MEAN = torch.tensor([123.675, 116.28, 103.53])
STD = torch.tensor([58.395, 57.12, 57.375])


def normalised_images(batch=2, height=32, width=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (batch, 3, height, width), generator=gen).float()
    return (pixels - MEAN.view(1, 3, 1, 1)) / STD.view(1, 3, 1, 1)


@pytest.mark.parametrize('size, expected', [(512, 51), (1024, 103), (64, 7), (128, 13), (60, 5)])
def test_blur_kernel_size(size, expected):
    assert blur_kernel_size(size) == expected


def test_blur_kernel_size_matches_daformer_formula():
    for size in range(11, 2049):
        c = np.ceil(0.1 * size)
        assert blur_kernel_size(size) == int(np.floor(c - 0.5 + c % 2)), size


def test_decision_frequencies():
    aug = StrongAugmentation()
    gen = torch.Generator().manual_seed(0)
    draws = [aug.sample_params(2, gen) for _ in range(4000)]
    jitter_rate = np.mean([p.color_jitter for p in draws])
    blur_rate = np.mean([p.blur for p in draws])
    # colour jitter applied iff U > 0.2 -> 0.8; blur iff U > 0.5 -> 0.5
    assert abs(jitter_rate - 0.8) < 0.025
    assert abs(blur_rate - 0.5) < 0.03
    sigmas = torch.stack([p.blur_sigmas for p in draws if p.blur])
    assert sigmas.shape[1] == 2
    assert sigmas.min() >= 0.15 and sigmas.max() <= 1.15
    assert torch.all(sigmas[:, 0] != sigmas[:, 1])  # one sigma per image


def test_blur_disabled_and_batch_sigma():
    gen = torch.Generator().manual_seed(0)
    assert not any(StrongAugmentation(blur=False).sample_params(2, gen).blur for _ in range(200))
    batch_sigma = StrongAugmentation(blur_sigma_per_image=False)
    params = [batch_sigma.sample_params(3, gen) for _ in range(50)]
    for p in params:
        if p.blur:
            assert torch.all(p.blur_sigmas == p.blur_sigmas[0])


def test_skipped_augmentation_returns_unchanged_copy():
    images = normalised_images()
    out = StrongAugmentation()(images, MEAN, STD, params=StrongAugParams(False, False))
    assert out is not images
    assert out.shape == images.shape and out.dtype == images.dtype
    assert torch.equal(out, images)


def test_zero_strength_jitter_round_trips_normalisation():
    images = normalised_images()
    aug = StrongAugmentation(color_jitter_strength=0.0)
    out = aug(images, MEAN.view(3, 1, 1), STD.view(1, 3, 1, 1), params=StrongAugParams(True, False))
    torch.testing.assert_close(out, images, atol=1e-4, rtol=0)


def test_jitter_changes_images_within_valid_range():
    torch.manual_seed(0)
    images = normalised_images()
    out = StrongAugmentation()(images, MEAN, STD, params=StrongAugParams(True, False))
    assert out.shape == images.shape and out.dtype == images.dtype
    assert not torch.allclose(out, images)
    unit = out * STD.view(1, 3, 1, 1) + MEAN.view(1, 3, 1, 1)
    assert unit.min() >= -1e-3 and unit.max() <= 255 + 1e-3


def test_blur_uses_per_image_sigma_and_odd_kernel():
    # A centred impulse in a 64x64 image: kernel 7 (radius 3), separable Gaussian, so the
    # centre value is g(0)^2 with g(0) = 1 / sum_{i=-3..3} exp(-i^2 / (2 sigma^2)).
    images = torch.zeros(2, 3, 64, 64)
    images[:, :, 32, 32] = 1.0
    sigmas = torch.tensor([0.5, 1.0])
    out = StrongAugmentation()(images, MEAN, STD, params=StrongAugParams(False, True, sigmas))
    for index, sigma in enumerate(sigmas.tolist()):
        g0 = 1.0 / sum(math.exp(-i * i / (2 * sigma * sigma)) for i in range(-3, 4))
        assert out[index, 0, 32, 32].item() == pytest.approx(g0 * g0, rel=1e-5)
        # the support is the 7x7 kernel, and the blur keeps the mass
        assert torch.count_nonzero(out[index, 0]) == 49
        assert out[index, 0].sum().item() == pytest.approx(1.0, rel=1e-5)


def test_forward_draws_its_own_params_and_keeps_shape():
    images = normalised_images(height=64, width=128)
    out = StrongAugmentation()(images, MEAN, STD, generator=torch.Generator().manual_seed(2))
    assert out.shape == images.shape and out.dtype == images.dtype


def test_rejects_non_rgb_input():
    with pytest.raises(ValueError, match='repeat'):
        StrongAugmentation()(torch.zeros(1, 1, 8, 8), MEAN, STD)
