# A tiny SegFormer (MiT + all-MLP head) for the toy data and tests, its encoder pretrained as
# the toy ImageNet analogue (tools/pretrain_toy_models.py --models mit).
# Same modules as mmseg's `segformer_mit-b0.py`, shrunk so that a CPU trains it in minutes.
norm_cfg = dict(type='BN', requires_grad=True)  # BN, not SyncBN: runs without GPUs/processes
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet statistics, as the MiT pretraining
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=(64, 128),  # pad batches to the toy crop (H, W); toy images are 96 x 192
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='MixVisionTransformer',
        in_channels=3,
        embed_dims=16,  # stage widths 16 * num_heads = 16, 32, 80, 128 (MiT-B0: 32 ... 256)
        num_stages=4,
        num_layers=[1, 1, 1, 1],  # MiT-B0: [2, 2, 2, 2]
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        # The toy ImageNet analogue. Full-size configs load ImageNet MiT weights converted to mmseg's
        # key names (mmseg's tools/model_converters/mit2mmseg.py, or the converted files mmseg
        # hosts), e.g. for MiT-B5:
        # init_cfg=dict(type='Pretrained', checkpoint='pretrained/mit_b5_20220624-658746d9.pth')
        # (https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/
        #  mit_b5_20220624-658746d9.pth), with embed_dims=64, num_layers=[3, 6, 40, 3].
        init_cfg=dict(type='Pretrained', checkpoint='data/toy_models/mit-tiny/mit-tiny.pth')),
    decode_head=dict(
        type='SegformerHead',
        in_channels=[16, 32, 80, 128],
        in_index=[0, 1, 2, 3],
        channels=64,  # MiT-B0 SegFormer: 256
        dropout_ratio=0.1,
        num_classes=19,  # Cityscapes classes, the label space of every toy dataset
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
