"""Tests of the label palette painting used by MADM's LPLR."""
import pytest
import torch

import mmseg_diffuda  # noqa: F401  (registers the datasets)
from mmseg_diffuda.models.utils.label_palette import LabelPalette, resolve_palette

PALETTE = [[255, 0, 0], [0, 128, 255], [10, 20, 30]]


def test_crafted_label_is_painted_with_ignore_black_in_minus_one_to_one():
    labels = torch.tensor([[[0, 1, 255], [2, 0, 7]]])  # (1, 2, 3); 7 has no colour
    images = LabelPalette(PALETTE)(labels)
    assert images.shape == (1, 3, 2, 3)
    # x / 127.5 - 1: 255 -> 1, 0 -> -1, 128 -> 0.5 / 127.5, 10 -> -117.5 / 127.5
    expected_r = torch.tensor([[1.0, -1.0, -1.0], [-117.5 / 127.5, 1.0, -1.0]])
    expected_g = torch.tensor([[-1.0, 0.5 / 127.5, -1.0], [-107.5 / 127.5, -1.0, -1.0]])
    expected_b = torch.tensor([[-1.0, 1.0, -1.0], [-97.5 / 127.5, -1.0, -1.0]])
    torch.testing.assert_close(images[0, 0], expected_r)
    torch.testing.assert_close(images[0, 1], expected_g)
    torch.testing.assert_close(images[0, 2], expected_b)
    assert images.min() >= -1 and images.max() <= 1


def test_channel_dim_labels_give_the_same_images():
    labels = torch.randint(0, 3, (2, 1, 4, 5))
    palette = LabelPalette(PALETTE)
    torch.testing.assert_close(palette(labels), palette(labels[:, 0]))


def test_dataset_name_resolves_to_its_metainfo_palette():
    colours = resolve_palette('CityscapesMADM11Dataset')
    assert colours.shape == (11, 3)
    assert colours[0].tolist() == [70, 130, 180]  # class 0 is sky in MADM's order
    assert resolve_palette('CityscapesMADM9Dataset').shape == (9, 3)


@pytest.mark.parametrize('bad, error', [('NoSuchDataset', KeyError), ([[1, 2]], ValueError),
                                        ([[0, 0, 300]], ValueError)])
def test_bad_palettes_are_rejected(bad, error):
    with pytest.raises(error):
        resolve_palette(bad)


def test_bad_labels_are_rejected():
    palette = LabelPalette(PALETTE)
    with pytest.raises(TypeError):
        palette(torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match='0, 255'):
        palette(torch.full((1, 2, 2), 256))
    with pytest.raises(ValueError, match='B, 1, H, W'):
        palette(torch.zeros(1, 2, 2, 2, dtype=torch.long))
