"""Strong photometric augmentation of the mixed/masked images (colour jitter + Gaussian blur).

DACS (Tranheden et al., WACV 2021) as used by DAFormer (Hoyer et al., CVPR 2022) and MIC (Hoyer et
al., CVPR 2023), official ``mmseg/models/utils/dacs_transforms.py`` (``color_jitter``,
``gaussian_blur``, ``strong_transform``).
"""
import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from kornia.augmentation import ColorJiggle
from kornia.filters import gaussian_blur2d
from mmseg.registry import MODELS
from torch import Tensor, nn


def blur_kernel_size(size: int, ratio: float = 0.1) -> int:
    """Odd Gaussian-blur kernel size of about ``ratio * size`` (DAFormer's rule).

    With ``c = ceil(ratio * size)`` the kernel is ``c`` if ``c`` is odd, else ``c - 1`` (the
    official ``gaussian_blur``'s rule). This gives 51 at 512 and 103 at 1024.

    Args:
        size (int): Image height or width in pixels.
        ratio (float): Kernel size relative to the image size. Defaults to 0.1.

    Returns:
        int: The odd kernel size (at least 1).
    """
    rounded_up = math.ceil(ratio * size)
    return max(1, rounded_up if rounded_up % 2 == 1 else rounded_up - 1)


@dataclass
class StrongAugParams:
    """Random decisions of one strong-augmentation call.

    Attributes:
        color_jitter (bool): Whether colour jitter is applied to the batch.
        blur (bool): Whether Gaussian blur is applied to the batch.
        blur_sigmas (Tensor, optional): Blur sigma per image, shape (B,); None when no blur.
    """
    color_jitter: bool
    blur: bool
    blur_sigmas: Optional[Tensor] = None


@MODELS.register_module()
class StrongAugmentation(nn.Module):
    """DACS/DAFormer strong augmentation: colour jitter then Gaussian blur, on normalised images.

    Faithful semantics of the official ``strong_transform`` (kept on purpose):

    - Colour jitter is applied iff ``U(0, 1) > color_jitter_probability``, i.e. with probability
      0.8 at the default 0.2 (the parameter name is inverted in the original). The decision is
      drawn once per call and shared by the batch; kornia draws the jitter factors per image.
      ``ColorJiggle`` reproduces kornia 0.5.8's ``ColorJitter`` used by the originals (additive
      brightness, random order of the four operations); the factors come from torch's global
      RNG (seeded by mmengine's ``randomness.seed``), not from ``generator``.
    - Gaussian blur is applied iff ``U(0, 1) > 0.5`` (once per call, shared by the batch), with
      sigma ~ U(0.15, 1.15) drawn per image as in DAFormer's per-sample mixing loop
      (``blur_sigma_per_image=False`` draws one sigma for the batch, as MIC's masked branch
      does) and an odd kernel of about 10% of H and of W (:func:`blur_kernel_size`).
    - Jitter runs on de-normalised images in [0, 1] (``x * std + mean) / 255``), blur on the
      normalised images (equivalent: blur is linear with a unit-sum kernel and reflect padding).

    Args:
        color_jitter_strength (float): Brightness, contrast, saturation and hue strength ``s``.
            Defaults to 0.2.
        color_jitter_probability (float): Jitter is applied iff ``U(0, 1) >`` this value.
            Defaults to 0.2.
        blur (bool): Enable Gaussian blur. Defaults to True.
        blur_sigma_range (tuple[float, float]): Range of the uniform sigma. Defaults to
            (0.15, 1.15).
        blur_kernel_ratio (float): Kernel size relative to the image size. Defaults to 0.1.
        blur_sigma_per_image (bool): Draw one sigma per image (DAFormer's mixed images) or one
            per batch (MIC's masked images). Defaults to True.
    """

    def __init__(self,
                 color_jitter_strength: float = 0.2,
                 color_jitter_probability: float = 0.2,
                 blur: bool = True,
                 blur_sigma_range: Tuple[float, float] = (0.15, 1.15),
                 blur_kernel_ratio: float = 0.1,
                 blur_sigma_per_image: bool = True) -> None:
        super().__init__()
        if not 0 <= color_jitter_probability <= 1:
            raise ValueError('StrongAugmentation: color_jitter_probability must be in [0, 1], '
                             f'got {color_jitter_probability}.')
        if not 0 < blur_sigma_range[0] <= blur_sigma_range[1]:
            raise ValueError('StrongAugmentation: blur_sigma_range must be (low, high) with '
                             f'0 < low <= high, got {blur_sigma_range}.')
        self.color_jitter_probability = color_jitter_probability
        self.blur = blur
        self.blur_sigma_range = tuple(blur_sigma_range)
        self.blur_kernel_ratio = blur_kernel_ratio
        self.blur_sigma_per_image = blur_sigma_per_image
        s = color_jitter_strength
        self.color_jiggle = ColorJiggle(brightness=s, contrast=s, saturation=s, hue=s, p=1.0)

    def sample_params(self,
                      batch_size: int,
                      generator: Optional[torch.Generator] = None) -> StrongAugParams:
        """Draw the apply/skip decisions and the blur sigmas of one call.

        Args:
            batch_size (int): Number of images.
            generator (torch.Generator, optional): Random generator (CPU). Defaults to None.

        Returns:
            StrongAugParams: The decisions and per-image sigmas.
        """
        color_jitter = torch.rand((), generator=generator).item() > self.color_jitter_probability
        blur = self.blur and torch.rand((), generator=generator).item() > 0.5
        sigmas = None
        if blur:
            low, high = self.blur_sigma_range
            num_sigmas = batch_size if self.blur_sigma_per_image else 1
            sigmas = low + (high - low) * torch.rand(num_sigmas, generator=generator)
            sigmas = sigmas.expand(batch_size)
        return StrongAugParams(color_jitter=color_jitter, blur=blur, blur_sigmas=sigmas)

    def forward(self,
                images: Tensor,
                mean: Tensor,
                std: Tensor,
                generator: Optional[torch.Generator] = None,
                params: Optional[StrongAugParams] = None) -> Tensor:
        """Augment a batch of normalised images.

        Args:
            images (Tensor): Normalised RGB images (B, 3, H, W).
            mean (Tensor): Per-channel mean of the data preprocessor (0-255 RGB), any shape
                with 3 elements.
            std (Tensor): Per-channel std of the data preprocessor, 3 elements.
            generator (torch.Generator, optional): Generator for :meth:`sample_params`.
            params (StrongAugParams, optional): Pre-drawn decisions; drawn with ``generator``
                when None.

        Returns:
            Tensor: Augmented normalised images, same shape and dtype (a new tensor; the input
            is never modified).
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError('StrongAugmentation expects normalised RGB images (B, 3, H, W), got '
                             f'{tuple(images.shape)}; repeat single-channel modalities to 3.')
        if params is None:
            params = self.sample_params(images.shape[0], generator)
        out = images
        if params.color_jitter:
            out = self._color_jitter(out, mean, std)
        if params.blur:
            out = self._gaussian_blur(out, params.blur_sigmas)
        return out.clone() if out is images else out

    def _color_jitter(self, images: Tensor, mean: Tensor, std: Tensor) -> Tensor:
        """Jitter in [0, 1] space and return to the normalised space."""
        mean = mean.to(images).reshape(1, 3, 1, 1)
        std = std.to(images).reshape(1, 3, 1, 1)
        unit = (images * std + mean) / 255.0
        jittered = self.color_jiggle(unit)
        return ((jittered * 255.0 - mean) / std).to(images.dtype)

    def _gaussian_blur(self, images: Tensor, sigmas: Tensor) -> Tensor:
        """Blur every image with its own isotropic sigma."""
        height, width = images.shape[-2:]
        kernel = (blur_kernel_size(height, self.blur_kernel_ratio),
                  blur_kernel_size(width, self.blur_kernel_ratio))
        sigma = sigmas.to(device=images.device, dtype=torch.float32)[:, None].repeat(1, 2)
        return gaussian_blur2d(images, kernel, sigma).to(images.dtype)
