"""Random block masking of input images for MIC's masked image consistency.

MIC (Hoyer et al., CVPR 2023), official ``seg/mmseg/models/utils/masking_transforms.py``
(``BlockMaskGenerator``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class BlockMasking(nn.Module):
    """Drop random square patches of the image (set them to 0 in normalised space).

    A coarse grid of ``round(H / block_size) x round(W / block_size)`` cells is drawn with
    ``keep = U(0, 1) > mask_ratio`` per cell and upsampled (nearest) to the image size, so about
    ``mask_ratio`` of the patches are masked. MIC uses ``mask_ratio=0.7`` with ``block_size=64``
    on 1024x1024 HRDA crops and ``block_size=32`` on DAFormer's 512x512 crops (official
    ``seg/experiments.py`` ids 81, 83, 84: "half the patch size when training with half
    resolution").

    Args:
        mask_ratio (float): Probability that a patch is masked. Defaults to 0.7.
        block_size (int): Patch side in pixels. Defaults to 64.
    """

    def __init__(self, mask_ratio: float = 0.7, block_size: int = 64) -> None:
        super().__init__()
        if not 0 <= mask_ratio <= 1:
            raise ValueError(f'BlockMasking: mask_ratio must be in [0, 1], got {mask_ratio}.')
        if block_size < 1:
            raise ValueError(f'BlockMasking: block_size must be >= 1, got {block_size}.')
        self.mask_ratio = mask_ratio
        self.block_size = block_size

    @torch.no_grad()
    def generate_mask(self, images: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        """Draw a keep-mask for a batch.

        Args:
            images (Tensor): Images (B, C, H, W); only the shape, device and dtype are used.
            generator (torch.Generator, optional): Random generator. Defaults to None.

        Returns:
            Tensor: Mask (B, 1, H, W) in the images' dtype; 1 = kept pixel, 0 = masked.
        """
        batch_size, _, height, width = images.shape
        grid = (round(height / self.block_size), round(width / self.block_size))
        if min(grid) < 1:
            raise ValueError(f'BlockMasking: image {height}x{width} is smaller than half a block '
                             f'({self.block_size}); lower block_size in the masking config.')
        device = generator.device if generator is not None else images.device
        noise = torch.rand((batch_size, 1, *grid), generator=generator, device=device)
        keep = (noise > self.mask_ratio).float().to(images.device)
        return F.interpolate(keep, size=(height, width), mode='nearest').to(images.dtype)

    def forward(self, images: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        """Mask a batch of normalised images.

        Args:
            images (Tensor): Normalised images (B, C, H, W).
            generator (torch.Generator, optional): Random generator. Defaults to None.

        Returns:
            Tensor: ``images * mask``.
        """
        return images * self.generate_mask(images, generator)
