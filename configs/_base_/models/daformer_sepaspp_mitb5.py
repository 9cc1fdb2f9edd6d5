# DAFormer: MiT-B5 encoder + DAFormer head with separable-ASPP context-aware fusion.
# DAFormer (Hoyer et al., CVPR 2022), Sec. 3.3 / Tab. 7; official
# configs/_base_/models/daformer_{conv1,sepaspp}_mitb5.py.
#
# Pretrained encoder: the ImageNet-1k MiT-B5 of SegFormer, in mmseg 1.x key layout. Either
#   - download mmseg's converted release
#     https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b5_20220624-658746d9.pth
#     and save it as pretrained/mit_b5_mmseg.pth, or
#   - take SegFormer's mit_b5.pth (link in the SegFormer / DAFormer READMEs) and convert it with
#     mmseg's converter: python <mmseg>/.mim/tools/model_converters/mit2mmseg.py \
#         pretrained/mit_b5.pth pretrained/mit_b5_mmseg.pth
# The path is relative to the directory training is started from (the repo root).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet statistics (0-255 RGB), as the MiT pretraining
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=(512, 512),  # DAFormer trains on 512x512 crops of half-resolution images
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MixVisionTransformer',  # mmseg's Apache-2.0 MiT, same architecture as SegFormer's
        in_channels=3,
        embed_dims=64,  # MiT-B5: stage widths 64 * num_heads = [64, 128, 320, 512]
        num_stages=4,
        num_layers=[3, 6, 40, 3],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,  # DAFormer's mix_transformer.py default
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/mit_b5_mmseg.pth')),
    decode_head=dict(
        type='DAFormerHead',
        in_channels=[64, 128, 320, 512],
        in_index=[0, 1, 2, 3],
        channels=256,
        embed_dims=256,  # C_e = 256 (paper Tab. 7)
        fusion_cfg=dict(
            type='ASPPFusion',  # context-aware fusion: sep. ASPP + 3x3 bottleneck (paper Sec. 3.3)
            dilations=(1, 6, 12, 18),
            sep=True,
            pool=False),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=False)),  # mean over all pixels, ignored ones included (mmseg 0.16)
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))  # DAFormer evaluates whole 1024x512 images
