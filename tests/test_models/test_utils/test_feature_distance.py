import pytest
import torch

from mmseg_diffuda.models.utils import (CITYSCAPES_THING_CLASSES, downscale_label_ratio,
                                        feature_distance_loss)

I = 255  # noqa: E741


def test_downscale_label_ratio_crafted():
    label = torch.tensor([
        [1, 1, 2, 2],
        [1, 5, 2, I],
        [3, 3, I, I],
        [4, 4, I, 7],
    ]).reshape(1, 1, 4, 4)
    # TL: class 1 covers 3/4 >= 0.75 -> 1; TR: class 2 covers 3/4 (one ignore) -> 2;
    # BL: 3 and 4 tie at 1/2 < 0.75 -> ignore; BR: majority is the ignore index -> ignore.
    out = downscale_label_ratio(label, 2, 0.75, num_classes=19)
    assert out.shape == (1, 1, 2, 2)
    assert torch.equal(out, torch.tensor([[1, 2], [I, I]]).reshape(1, 1, 2, 2))
    stricter = downscale_label_ratio(label, 2, 0.8, num_classes=19)
    assert torch.equal(stricter, torch.full((1, 1, 2, 2), I))


# 4x4 label -> 2x2 cells: car (13, thing), car with one ignore pixel (thing, ratio 0.75),
# road (0, stuff), and a 2/2 split of person/road (below 0.75 -> ignore).
THING_LABEL = torch.tensor([
    [13, 13, 13, 13],
    [13, 13, 13, I],
    [0, 0, 11, 11],
    [0, 0, 0, 0],
]).reshape(1, 1, 4, 4)


def crafted_features():
    # per-position L2 norms of the difference: 5, 1, 10, 0
    feat = torch.tensor([[[3.0, 0.0], [6.0, 0.0]],
                         [[4.0, 1.0], [8.0, 0.0]]]).unsqueeze(0)
    return feat.requires_grad_(), torch.zeros(1, 2, 2, 2)


def test_fd_over_all_positions():
    feat, imnet = crafted_features()
    loss = feature_distance_loss(feat, imnet, None, None, num_classes=19)
    assert loss.item() == pytest.approx(0.005 * (5 + 1 + 10 + 0) / 4)


def test_fd_over_thing_positions_and_gradient():
    feat, imnet = crafted_features()
    loss = feature_distance_loss(feat, imnet, THING_LABEL, CITYSCAPES_THING_CLASSES,
                                 num_classes=19)
    assert loss.item() == pytest.approx(0.005 * (5 + 1) / 2)
    loss.backward()
    # d/df of 0.005 * mean(||f||) at a masked position = 0.005 / 2 * f / ||f||
    torch.testing.assert_close(feat.grad[0, :, 0, 0], torch.tensor([0.0015, 0.002]))
    assert torch.all(feat.grad[0, :, 1] == 0)  # road and ignored cells get no gradient


def test_fd_with_no_thing_position_is_zero_and_differentiable():
    feat, imnet = crafted_features()
    loss = feature_distance_loss(feat, imnet, THING_LABEL, [18], num_classes=19)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.all(feat.grad == 0)


def test_fd_rejects_label_not_matching_feature_stride():
    feat, imnet = crafted_features()
    with pytest.raises(ValueError, match='feature stride'):
        feature_distance_loss(feat, imnet, torch.zeros(1, 1, 6, 4, dtype=torch.long), [13], 19)
