from pathlib import Path

import pytest
import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_diffuda  # noqa: F401
from mmseg_diffuda.models.decode_heads import DAFormerHead, LinearEmbedding

REPO = Path(__file__).resolve().parents[3]
MODEL_CONFIGS = REPO / 'configs' / '_base_' / 'models'


def tiny_head(**kwargs):
    args = dict(in_channels=[8, 16, 24, 32], in_index=[0, 1, 2, 3], channels=16, embed_dims=8,
                num_classes=5, norm_cfg=dict(type='BN'))
    args.update(kwargs)
    return DAFormerHead(**args)


def pyramid(batch=2, height=32, width=64, channels=(8, 16, 24, 32)):
    return [torch.randn(batch, c, height // 2**(i + 2), width // 2**(i + 2))
            for i, c in enumerate(channels)]


def test_sep_aspp_fusion_structure():
    head = tiny_head()
    fusion = head.fuse_layer
    assert fusion.image_pool is None  # DAFormer: pool=False
    branches = list(fusion.aspp_modules)
    assert len(branches) == 4
    assert isinstance(branches[0], ConvModule) and branches[0].conv.kernel_size == (1, 1)
    for branch, dilation in zip(branches[1:], (6, 12, 18)):
        assert isinstance(branch, DepthwiseSeparableConvModule)
        assert branch.depthwise_conv.conv.dilation == (dilation, dilation)
        assert branch.depthwise_conv.conv.groups == 4 * 8
    bottleneck = fusion.bottleneck
    assert isinstance(bottleneck, ConvModule)  # a regular 3x3 conv, as the official ASPPWrapper
    assert bottleneck.conv.kernel_size == (3, 3) and bottleneck.conv.in_channels == 4 * 16
    assert [type(m) for m in head.embed_layers.values()] == [LinearEmbedding] * 4


def test_output_is_stride_four_and_backward_reaches_all_levels():
    head = tiny_head()
    feats = [f.requires_grad_() for f in pyramid()]
    logits = head(feats)
    assert logits.shape == (2, 5, 8, 16)
    logits.sum().backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def test_conv1_and_pool_variants():
    conv1 = tiny_head(fusion_cfg=dict(type='ConvModule', kernel_size=1))
    assert isinstance(conv1.fuse_layer, ConvModule)
    assert conv1.fuse_layer.conv.in_channels == 32 and conv1.fuse_layer.conv.kernel_size == (1, 1)
    assert conv1(pyramid()).shape == (2, 5, 8, 16)
    pooled = tiny_head(fusion_cfg=dict(type='ASPPFusion', dilations=(1, 6), pool=True, sep=False))
    assert pooled.fuse_layer.bottleneck.conv.in_channels == 3 * 16
    assert pooled(pyramid()).shape == (2, 5, 8, 16)


def test_embed_dims_per_level():
    head = tiny_head(embed_dims=[4, 4, 8, 8])
    assert head.fuse_layer.aspp_modules[0].conv.in_channels == 24
    with pytest.raises(ValueError, match='embed_dims'):
        tiny_head(embed_dims=[4, 4])


def test_linear_embedding_is_a_1x1_projection():
    embed = LinearEmbedding(3, 2)
    x = torch.randn(2, 3, 4, 5)
    conv = torch.nn.functional.conv2d(x, embed.proj.weight[:, :, None, None], embed.proj.bias)
    torch.testing.assert_close(embed(x), conv)


def build_model(config_name, **backbone_overrides):
    init_default_scope('mmseg')
    cfg = Config.fromfile(MODEL_CONFIGS / config_name)
    cfg.model.backbone.update(backbone_overrides)
    return MODELS.build(cfg.model)


def test_tiny_config_trains_end_to_end():
    torch.manual_seed(0)
    model = build_model('daformer_mitb0-tiny.py')
    model.train()
    inputs = torch.randn(2, 3, 64, 128)
    feats = model.extract_feat(inputs)
    assert model.decode_head(feats).shape == (2, 19, 16, 32)
    data_samples = [
        SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 19, (1, 64, 128))))
        for _ in range(2)
    ]
    losses = model.loss(inputs, data_samples)
    losses['decode.loss_ce'].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)


def test_full_mitb5_config_builds_and_runs():
    model = build_model('daformer_sepaspp_mitb5.py', init_cfg=None)
    # MiT-B5 encoder: 81.4M parameters (SegFormer, Xie et al., NeurIPS 2021, Tab. 1)
    assert abs(sum(p.numel() for p in model.backbone.parameters()) / 1e6 - 81.4) < 0.05
    head_params = sum(p.numel() for p in model.decode_head.parameters())
    # embeddings 4 x Linear: 256 * (64 + 128 + 320 + 512) + 4 * 256 = 263,168
    # ASPP on 1024 ch: 1x1 conv + BN 262,656; 3 x (dw 3x3 + BN(1024) + pw + BN) 821,760
    # bottleneck 3x3 (1024 -> 256) + BN 2,359,808; conv_seg 256 * 19 + 19 = 4,883
    assert head_params == 3_712_275
    keys = model.decode_head.state_dict().keys()
    # the official DAFormer parameter names, so its checkpoints map onto this head
    for key in ('embed_layers.3.proj.weight', 'fuse_layer.aspp_modules.0.conv.weight',
                'fuse_layer.aspp_modules.3.depthwise_conv.conv.weight',
                'fuse_layer.bottleneck.conv.weight', 'conv_seg.weight'):
        assert key in keys
    model.eval()
    with torch.no_grad():
        logits = model.encode_decode(torch.randn(1, 3, 64, 64), [dict(img_shape=(64, 64))])
    assert logits.shape == (1, 19, 64, 64)


def test_with_cp_gives_the_same_logits_and_gradients():
    init_default_scope('mmseg')
    cfg = dict(type='DAFormerHead', in_channels=[8, 16], in_index=[0, 1], channels=16,
               embed_dims=8, num_classes=3, norm_cfg=dict(type='BN', requires_grad=True),
               fusion_cfg=dict(type='ASPPFusion', dilations=(1, 2), sep=True, pool=False))
    torch.manual_seed(0)
    plain = MODELS.build(cfg)
    checkpointed = MODELS.build(dict(cfg, with_cp=True))
    checkpointed.load_state_dict(plain.state_dict())
    plain.train(), checkpointed.train()
    plain.dropout = checkpointed.dropout = None  # no randomness in the comparison
    inputs = [torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)]
    results = []
    for head in (plain, checkpointed):
        feats = [x.clone().requires_grad_() for x in inputs]
        logits = head(feats)
        logits.square().mean().backward()
        results.append((logits.detach(), feats[1].grad,
                        head.fuse_layer.bottleneck.conv.weight.grad))
    for expected, actual in zip(*results):
        torch.testing.assert_close(actual, expected)
