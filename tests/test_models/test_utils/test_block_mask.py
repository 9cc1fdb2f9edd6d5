import pytest
import torch

from mmseg_diffuda.models.utils import BlockMasking


def test_keep_ratio_on_large_input():
    masking = BlockMasking(mask_ratio=0.7, block_size=8)
    mask = masking.generate_mask(torch.zeros(1, 3, 1024, 1024), torch.Generator().manual_seed(0))
    assert mask.shape == (1, 1, 1024, 1024)
    assert abs(mask.mean().item() - 0.3) < 0.015  # 128 x 128 cells kept with prob 1 - 0.7


def test_block_structure_matches_coarse_draw():
    masking = BlockMasking(mask_ratio=0.5, block_size=2)
    mask = masking.generate_mask(torch.zeros(2, 3, 4, 6), torch.Generator().manual_seed(3))
    coarse = torch.rand(2, 1, 2, 3, generator=torch.Generator().manual_seed(3)) > 0.5
    expected = torch.kron(coarse.float(), torch.ones(2, 2))  # each cell -> a 2x2 block
    assert torch.equal(mask, expected)


def test_forward_zeroes_masked_pixels():
    masking = BlockMasking(mask_ratio=0.5, block_size=2)
    images = torch.randn(2, 3, 4, 6) + 10  # no accidental zeros
    masked = masking(images, torch.Generator().manual_seed(3))
    mask = masking.generate_mask(images, torch.Generator().manual_seed(3))
    assert torch.equal(masked == 0, (mask == 0).expand_as(images))
    assert torch.equal(masked[mask.expand_as(images) == 1], images[mask.expand_as(images) == 1])


def test_ratio_zero_keeps_everything_and_small_images_fail():
    assert torch.all(BlockMasking(mask_ratio=0.0, block_size=4).generate_mask(
        torch.zeros(1, 3, 8, 8)) == 1)
    with pytest.raises(ValueError, match='block_size'):
        BlockMasking(block_size=64).generate_mask(torch.zeros(1, 3, 16, 16))
