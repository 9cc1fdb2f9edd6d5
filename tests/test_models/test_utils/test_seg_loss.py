import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmseg_diffuda  # noqa: F401
from mmseg_diffuda.models.decode_heads import DAFormerHead
from mmseg_diffuda.models.utils import pixel_weighted_head_loss


def make_head(loss_decode=None):
    kwargs = dict(loss_decode=loss_decode) if loss_decode is not None else {}
    return DAFormerHead(
        in_channels=[4, 4], in_index=[0, 1], channels=4, embed_dims=4, num_classes=2, **kwargs)


def samples(labels):
    return [SegDataSample(gt_sem_seg=PixelData(data=label[None])) for label in labels]


# one 2x2 image: ce = ln2 (label 0), ignored, ln(4/3) (p0 = 3/4, label 0), ln2 (label 1)
LOGITS = torch.stack([torch.zeros(2), torch.zeros(2), torch.tensor([math.log(3.0), 0.0]),
                      torch.zeros(2)], dim=1).reshape(1, 2, 2, 2)
LABELS = torch.tensor([[[0, 255], [0, 1]]])


def test_weighted_ce_is_mean_over_all_pixels():
    head = make_head()
    weight = torch.tensor([[[1.0, 1.0], [0.5, 0.0]]])
    losses = pixel_weighted_head_loss(head, LOGITS, samples(LABELS), weight)
    expected = (math.log(2) + 0.5 * math.log(4 / 3)) / 4  # ignored pixel in the denominator
    assert losses['loss_ce'].item() == pytest.approx(expected, rel=1e-5)
    assert 'acc_seg' in losses


def test_unweighted_ce_keeps_ignored_pixels_in_denominator():
    losses = pixel_weighted_head_loss(make_head(), LOGITS, samples(LABELS))
    expected = (2 * math.log(2) + math.log(4 / 3)) / 4
    assert losses['loss_ce'].item() == pytest.approx(expected, rel=1e-5)


def test_matches_torch_reference_with_resize():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 2, 4, 4, generator=gen, requires_grad=True)
    labels = torch.randint(0, 2, (2, 8, 8), generator=gen)
    labels[0, :3] = 255
    weight = torch.rand(2, 8, 8, generator=gen)
    losses = pixel_weighted_head_loss(make_head(), logits, samples(labels), weight)
    upsampled = F.interpolate(logits, size=(8, 8), mode='bilinear', align_corners=False)
    reference = F.cross_entropy(upsampled, labels, reduction='none', ignore_index=255)
    torch.testing.assert_close(losses['loss_ce'], reference.mul(weight).mean())
    losses['loss_ce'].backward()
    assert logits.grad is not None


def test_every_loss_of_the_head_is_applied():
    head = make_head(loss_decode=[
        dict(type='CrossEntropyLoss', loss_weight=1.0),
        dict(type='CrossEntropyLoss', loss_weight=2.0),
        dict(type='CrossEntropyLoss', loss_weight=1.0, loss_name='loss_other'),
    ])
    weight = torch.tensor([[[1.0, 1.0], [0.5, 0.0]]])
    losses = pixel_weighted_head_loss(head, LOGITS, samples(LABELS), weight)
    single = (math.log(2) + 0.5 * math.log(4 / 3)) / 4
    assert losses['loss_ce'].item() == pytest.approx(3 * single, rel=1e-5)
    assert losses['loss_other'].item() == pytest.approx(single, rel=1e-5)


def test_rejects_weight_of_wrong_shape():
    with pytest.raises(ValueError, match='seg_weight'):
        pixel_weighted_head_loss(make_head(), LOGITS, samples(LABELS), torch.ones(1, 1, 2, 2))
