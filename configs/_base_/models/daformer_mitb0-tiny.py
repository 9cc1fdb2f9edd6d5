# Tiny DAFormer for the toy data and tests: DAFormer head on a MiT-B0-like encoder at half
# width with one block per stage. The encoder starts from the toy ImageNet analogue (a tiny MiT
# pretrained by image-level classification of the label-free toy corpus:
# tools/pretrain_toy_models.py --models mit), loaded through init_cfg as the full-size configs
# load ImageNet MiT-B5.
# Same structure as daformer_sepaspp_mitb5.py, so every code path of the full model runs on CPU.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=(64, 128),  # toy training crop of the 96x192 toy images
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MixVisionTransformer',
        in_channels=3,
        embed_dims=16,  # stage widths 16 * num_heads = [16, 32, 80, 128] (MiT-B0 halved)
        num_stages=4,
        num_layers=[1, 1, 1, 1],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='data/toy_models/mit-tiny/mit-tiny.pth')),
    decode_head=dict(
        type='DAFormerHead',
        in_channels=[16, 32, 80, 128],
        in_index=[0, 1, 2, 3],
        channels=32,
        embed_dims=32,
        fusion_cfg=dict(type='ASPPFusion', dilations=(1, 6, 12, 18), sep=True, pool=False),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
