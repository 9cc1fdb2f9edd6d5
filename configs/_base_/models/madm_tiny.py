# Tiny MADM for the toy data and tests: the structure of madm_sd14.py (SD-like UNet with 4
# blocks and cross-attention, 8x VAE, CLIP text encoder, learnable prompt, s0 + 3 UNet taps,
# bottleneck projections, DAFormer head) at a few hundred thousand parameters, so every code path
# of the full model runs on CPU. It starts from the toy SD v1 stack pretrained on the label-free
# toy corpus (tools/pretrain_toy_models.py --models sd), loaded through pretrained= as the
# full-size config loads SD v1-4; the configs below are its architecture (checked at load). Toy
# crops (64x128) are multiples of the size divisor 64 (8x VAE times 3 UNet downsamplings); the
# 96x192 toy images are not, hence the windowed test_cfg below.
_base_ = ['./sd_tiny_parts.py']  # tiny VAE, text encoder and SD v1 schedule
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],  # [-1, 1] inputs, as madm_sd14.py
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    size=(64, 128),  # toy training crop of the 96x192 toy images
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='StableDiffusionBackbone',
        pretrained=_base_.toy_sd_v1,  # the toy SD v1 stack (diffusers folder)
        unet_config=dict(
            sample_size=8,
            in_channels=4,
            out_channels=4,
            layers_per_block=1,
            block_out_channels=[8, 16, 16, 32],  # taps: 8 (s3), 16 (s4), 16 (s5)
            down_block_types=[
                'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                'DownBlock2D'
            ],
            up_block_types=[
                'UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'
            ],
            cross_attention_dim=16,
            attention_head_dim=2,  # diffusers reads it as the number of heads for SD v1
            norm_num_groups=4),
        vae_config=_base_.tiny_vae_arch,  # its scaling factor comes with the weights
        text_encoder_config=_base_.tiny_text_encoder_config,
        scheduler_config=_base_.sd_scheduler_config,
        input_size=None,  # keep the toy crop size
        noise_size=(64, 64),  # as the full model (resized to the 8x16 toy latent)
        noise_seed=42,
        default_timestep=0,
        learnable_prompt=True,
        use_decoded_feature=True,
        projection_dims=(8, 16, 16, 16),
        projection_bottleneck=8,
        projection_norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
        finetune_unet=True,
        freeze_unet_output=True,
        gradient_checkpointing=False,
        frozen_dtype=None),
    decode_head=dict(
        type='DAFormerHead',
        in_channels=[8, 16, 16, 16],
        in_index=[0, 1, 2, 3],
        channels=16,
        embed_dims=8,  # the head fuses at full resolution (s0): kept narrow for CPU speed
        fusion_cfg=dict(type='ASPPFusion', dilations=(1, 6, 12, 18), sep=True, pool=False),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False)),
    train_cfg=dict(),
    # The full model predicts inputs of its training crop size (512x512) that need no padding.
    # The 96x192 toy images are not multiples of the size divisor 64: padded to 128x192, a
    # third of the input is constant grey, which moves the GroupNorm statistics and the
    # attention of the VAE and UNet away from training (toy depth oracle, 600-iteration runs, 3
    # seeds: 25.8 mIoU whole-padded vs 33.8 in windows). So the toy is predicted in windows of
    # the training crop: 64x128 at stride 32x64, four windows that tile 96x192 exactly
    # (docs/toy_data.md).
    test_cfg=dict(mode='slide', crop_size=(64, 128), stride=(32, 64)))
