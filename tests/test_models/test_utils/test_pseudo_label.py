import pytest
import torch

from mmseg_diffuda.models.utils import pseudo_label_from_logits


def crafted_logits():
    """B=2, C=2, H=4, W=1: 8 pixels, exactly 2 (both in image 0) with max prob >= 0.968."""
    confident = [10.0, 0.0]  # p = 0.99995
    unsure = [0.0, 1.0]  # p = 0.731 (class 1)
    rows = [
        [confident, unsure, confident, unsure],
        [unsure, unsure, unsure, unsure],
    ]
    return torch.tensor(rows).permute(0, 2, 1).unsqueeze(-1)  # (2, 2, 4, 1)


def test_batch_level_confidence_weight():
    result = pseudo_label_from_logits(crafted_logits(), threshold=0.968)
    assert result.confident_ratio == pytest.approx(0.25)
    assert result.weight.shape == (2, 4, 1) and result.weight.dtype == torch.float32
    # one scalar for the whole batch (not 0.5 for image 0 and 0 for image 1)
    assert torch.all(result.weight == 0.25)
    expected_label = torch.tensor([[0, 1, 0, 1], [1, 1, 1, 1]]).unsqueeze(-1)
    assert result.label.dtype == torch.int64
    assert torch.equal(result.label, expected_label)  # low-confidence pixels keep their label


def test_top_and_bottom_rows_are_zeroed():
    result = pseudo_label_from_logits(crafted_logits(), ignore_top=1, ignore_bottom=2)
    expected = torch.tensor([0.0, 0.25, 0.0, 0.0]).view(1, 4, 1).expand(2, 4, 1)
    assert torch.equal(result.weight, expected)
    assert result.confident_ratio == pytest.approx(0.25)


def test_no_threshold_gives_unit_weight():
    result = pseudo_label_from_logits(crafted_logits(), threshold=None, ignore_bottom=1)
    assert result.confident_ratio == 1.0
    assert torch.equal(result.weight[:, :3], torch.ones(2, 3, 1))
    assert torch.equal(result.weight[:, 3], torch.zeros(2, 1))


def test_no_gradient_is_tracked():
    logits = crafted_logits().requires_grad_()
    result = pseudo_label_from_logits(logits)
    assert not result.weight.requires_grad and not result.label.requires_grad


def test_rejects_negative_margins():
    with pytest.raises(ValueError, match='ignore_top'):
        pseudo_label_from_logits(crafted_logits(), ignore_top=-1)


def test_per_pixel_confidence_is_the_max_probability():
    result = pseudo_label_from_logits(crafted_logits(), threshold=0.968)
    sure, unsure = 1 / (1 + torch.exp(torch.tensor(-10.0))), 1 / (1 + torch.exp(torch.tensor(-1.0)))
    expected = torch.tensor([[sure, unsure, sure, unsure], [unsure] * 4]).unsqueeze(-1)
    torch.testing.assert_close(result.confidence, expected)
    assert (result.confidence >= 0.968).float().mean() == result.confident_ratio
