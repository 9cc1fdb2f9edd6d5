# Tiny DIFF for the toy data and tests: the structure of diff_sd21.py (SD 2.x-like UNet with 4
# up-blocks, linear-projection cross-attention, 8x VAE, CLIP text encoder, DDIM inversion taps,
# GN-bottleneck aggregation per stride, top-down fusion, DAFormer head) at a few hundred
# thousand parameters, from the toy SD 2.x-layout stack pretrained on the toy corpus
# (tools/pretrain_toy_models.py --models sd2), so every code path of the full model runs on CPU.
# The inversion uses DIFF's official 5-step alternative (all 5 evaluations kept) to stay fast;
# configs/diff/*-5step* use the same schedule at full size.
_base_ = ['./sd_tiny_parts.py']  # tiny VAE, text encoder and SD schedule
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],  # [-1, 1] inputs, as diff_sd21.py
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    size=(64, 128),  # toy training crop of the 96x192 toy images (multiple of 64)
    # No test padding: the toy images are predicted in 64x128 windows (test_cfg below).
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='DiffEncoderDecoder',
    data_preprocessor=data_preprocessor,
    conditional_pass=True,  # DIFF's GT-conditioned (path-controlled) second pass + MSE
    consistency_weight=1.0,
    backbone=dict(
        type='DiffusionFeatureBackbone',
        pretrained=_base_.toy_sd_v2,  # the toy SD 2.x-layout stack (diffusers folder)
        unet_config=dict(
            sample_size=8,
            in_channels=4,
            out_channels=4,
            layers_per_block=1,  # 2 ResNets per up-block (SD: 3)
            block_out_channels=[8, 16, 16, 16],
            down_block_types=[
                'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                'DownBlock2D'
            ],
            up_block_types=[
                'UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'
            ],
            cross_attention_dim=16,
            attention_head_dim=[2, 4, 4, 4],  # SD 2.x: per-block head widths
            use_linear_projection=True,  # SD 2.x
            norm_num_groups=4),
        vae_config=_base_.tiny_vae_arch,  # its scaling factor comes with the weights
        text_encoder_config=dict(_base_.tiny_text_encoder_config, hidden_act='gelu'),  # SD 2.x
        scheduler_config=_base_.sd_scheduler_config,  # only the betas are used
        scheduler_timesteps=(80, 60, 40, 20, 1),  # DIFF's 5-step alternative ...
        save_indices=(4, 3, 2, 1, 0),  # ... keeping every evaluation
        # Per kept step: 2 ResNets + 2 attentions = 32 ch at s8, 64 at s16 and s32 (x 5 steps).
        projection_dims=(16, 32, 32),
        projection_norm_groups=4,
        fusion_channels=16,
        fusion_norm_groups=4),
    decode_head=dict(
        type='DAFormerHead',
        in_channels=[16, 16, 32, 32],
        in_index=[0, 1, 2, 3],
        channels=16,
        embed_dims=16,
        fusion_cfg=dict(type='ASPPFusion', dilations=(1, 6, 12, 18), sep=True, pool=False),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False)),
    train_cfg=dict(),
    # As madm_tiny.py: the full model predicts 1024x512 images (multiples of 64).
    # The 96x192 toy images are not multiples of the size divisor 64: padded to 128x192, a
    # third of the input is constant grey, which moves the GroupNorm statistics and the
    # attention of the VAE and UNet away from training (MADM's toy depth oracle, 600-iteration
    # runs, 3 seeds: 25.8 mIoU whole-padded vs 33.8 in windows). So the toy is predicted in
    # windows of the training crop: 64x128 at stride 32x64, four windows that tile 96x192
    # exactly (docs/toy_data.md).
    test_cfg=dict(mode='slide', crop_size=(64, 128), stride=(32, 64)))
