"""LC-MSM's language-conditioned head: similarity maps, bottleneck block, shapes, gradients."""
import math

import pytest
import torch
from mmseg.registry import MODELS
from torch import nn

import mmseg_diffuda  # noqa: F401  (registers the models)
from mmseg_diffuda.models.decode_heads.language_conditioned_head import SimilarityBottleneck

NAMES = ('road', 'person', 'car')


def build_head(num_classes: int = 3, **kwargs):
    cfg = dict(
        type='LanguageConditionedHead',
        in_channels=[4, 8],
        in_index=[0, 1],
        channels=6,
        embed_dims=6,
        fusion_cfg=dict(type='ConvModule', kernel_size=1),
        num_classes=num_classes,
        text_encoder=dict(type='OpenCLIPClassEmbeddings', class_names=NAMES,
                          text_cfg=dict(width=16, heads=2, layers=1), embed_dim=10),
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_similarity_maps_of_crafted_unit_vectors():
    head = build_head()
    # two pixels: (3, 0) and (0, 2); their directions are e1 and e2
    feats = torch.tensor([[3.0, 0.0], [0.0, 2.0]]).T.reshape(1, 2, 1, 2)
    texts = torch.tensor([[1.0, 0.0], [0.0, 5.0], [1.0, 1.0]])
    maps = head.similarity_maps(feats, texts)
    scale = 1 / 0.07
    expected = scale * torch.tensor([[1.0, 0.0], [0.0, 1.0], [math.sqrt(0.5)] * 2])
    assert maps.shape == (1, 3, 1, 2)
    assert torch.allclose(maps[0, :, 0, :], expected, atol=1e-6)
    assert head.logit_scale == pytest.approx(14.2857, abs=1e-4)  # a constant, not a parameter
    assert 'logit_scale' not in head.state_dict()


def test_bottleneck_block_adds_the_channel_max_and_is_shared_across_depth():
    block = SimilarityBottleneck()
    with torch.no_grad():  # identity convolution: conv(x) = x
        block.conv.weight.zero_()
        block.conv.weight[0, 0, 1, 1] = 1.0
        block.conv.bias.zero_()
    maps = torch.tensor([-3.0, 2.0]).reshape(1, 2, 1, 1)
    # x + max = (-1, 4); ReLU keeps it; without ReLU negatives pass
    assert torch.equal(block(maps).flatten(), torch.tensor([0.0, 4.0]))
    assert torch.equal(block(maps, activate=False).flatten(), torch.tensor([-1.0, 4.0]))

    head = build_head(block_depth=2)
    head.similarity_block = block
    # depth 2: ReLU(x + max) = (0, 4), then without ReLU: (0 + 4, 4 + 4) = (4, 8)
    assert torch.equal(head.refine(maps).flatten(), torch.tensor([4.0, 8.0]))
    assert torch.equal(build_head(block_depth=0).refine(maps), maps)


def test_output_shape_and_gradients_reach_the_projection_not_the_frozen_text():
    torch.manual_seed(0)
    head = build_head()
    head.train()
    inputs = (torch.randn(2, 4, 8, 16), torch.randn(2, 8, 4, 8))
    logits = head(inputs)
    assert logits.shape == (2, 3, 8, 16)
    assert head.conv_seg.in_channels == 6 + 3  # [features, similarity maps]

    logits.square().mean().backward()
    assert head.text_projection.weight.grad.abs().sum() > 0
    assert head.similarity_block.conv.weight.grad.abs().sum() > 0
    assert list(head.text_encoder.parameters()) == []
    assert head.text_encoder.embeddings.grad is None
    assert head.text_projection.in_features == 10 and head.text_projection.out_features == 6


def test_text_features_are_the_projected_cached_embeddings():
    head = build_head()
    expected = nn.functional.linear(head.text_encoder.embeddings, head.text_projection.weight,
                                    head.text_projection.bias)
    assert torch.equal(head.text_features(), expected)


def test_class_count_mismatch_is_rejected():
    with pytest.raises(ValueError, match='3 class names but num_classes is 19'):
        build_head(num_classes=19)
