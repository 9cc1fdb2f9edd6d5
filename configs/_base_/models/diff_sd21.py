# DIFF: frozen Stable Diffusion 2.1 DDIM-inversion features + aggregation/fusion + DAFormer head.
# DIFF (Ji et al., ICASSP 2025), official mmseg/models/backbones/diff/configs/diff_config.yaml and
# configs/_base_/models/daformer_sepaspp_diff.py.
#
# Weights: Stable Diffusion 2.1 in the diffusers layout, e.g.
#   hf download stabilityai/stable-diffusion-2-1 --include "unet/*" "vae/*" "text_encoder/*" \
#       "tokenizer/*" "scheduler/*" --local-dir pretrained/stable-diffusion-2-1
# (relative to the directory training starts from). The *_config dicts state the SD 2.1
# architecture: with pretrained set they are checked against the loaded weights; with
# pretrained=None they build the same architecture with random weights (tests, benchmarks).
# The text encoder is only used at build time (prompt embeddings are cached as buffers).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],  # [0, 255] -> [-1, 1], SD's VAE input range (official gtaCAug
    std=[127.5, 127.5, 127.5],  # dataset config: mean = std = 127.5)
    bgr_to_rgb=True,  # SD was trained on RGB
    size=(512, 512),  # DIFF trains on 512x512 crops
    # Test images are padded to a multiple of 64 (8x VAE x 3 UNet downsamplings); the padding
    # is cropped from the prediction.
    test_cfg=dict(size_divisor=64),
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='DiffEncoderDecoder',
    data_preprocessor=data_preprocessor,
    conditional_pass=True,  # diff_train=True: GT-conditioned pass + plain pass + MSE
    consistency_weight=1.0,  # mse_loss(..., lamb=1.0)
    backbone=dict(
        type='DiffusionFeatureBackbone',
        pretrained='pretrained/stable-diffusion-2-1',
        local_files_only=True,  # never download during training; see the command above
        unet_config=dict(
            in_channels=4,
            out_channels=4,
            layers_per_block=2,
            block_out_channels=[320, 640, 1280, 1280],
            down_block_types=[
                'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                'DownBlock2D'
            ],
            up_block_types=[
                'UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'
            ],
            cross_attention_dim=1024,  # OpenCLIP ViT-H text width
            attention_head_dim=[5, 10, 20, 20],
            use_linear_projection=True,
            upcast_attention=True,
            norm_num_groups=32),
        vae_config=dict(
            in_channels=3,
            out_channels=3,
            latent_channels=4,
            layers_per_block=2,
            block_out_channels=[128, 256, 512, 512],  # 8x downsampling
            down_block_types=['DownEncoderBlock2D'] * 4,
            up_block_types=['UpDecoderBlock2D'] * 4,
            norm_num_groups=32,
            scaling_factor=0.18215),  # the official code multiplies by 0.18215
        text_encoder_config=dict(  # OpenCLIP ViT-H/14 text tower (penultimate layer) as CLIP
            vocab_size=49408,
            hidden_size=1024,
            intermediate_size=4096,
            num_hidden_layers=23,
            num_attention_heads=16,
            max_position_embeddings=77,
            hidden_act='gelu'),
        scheduler_config=dict(  # SD 2.1's DDIM scheduler; only its betas enter the inversion
            num_train_timesteps=1000,
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule='scaled_linear',
            prediction_type='v_prediction'),  # stable-diffusion-2-1 (768-v); -base: 'epsilon'
        # 37 inversion steps, features kept at 9 (t = 91, 52, 30, 22, 18, 14, 11, 7, 3).
        scheduler_timesteps=(160, 139, 121, 105, 91, 80, 69, 60, 52, 45, 40, 34, 30, 26, 23, 22,
                             21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3,
                             2, 1),
        save_indices=(33, 29, 25, 22, 18, 14, 11, 7, 3),
        eta=1.0,  # stochastic inversion ...
        eta_window=(10, 250),  # ... only for s_tmin=10 < t < s_tmax=250
        guidance_scale=5.0,
        prompt='',
        negative_prompt='',
        # class_prompts: DIFF's 5 enabled classes (backbone default DIFF_CLASS_PROMPTS).
        feature_strides=(8, 16, 32),  # the official stride-64 branch is dropped by the fusion
        projection_dims=(512, 1024, 2048),  # projection_dim [2048, 2048, 1024, 512] (s64..s8)
        projection_norm_groups=16,
        fusion_channels=256,  # projection_dim_x4
        fusion_norm_groups=32,
        stop_after_last_save=True,  # same features as the official 37-call loop, 34 calls
        skip_identical_cfg=True,  # prompt == negative prompt: one chunk instead of two
        convert_v_prediction=False,  # the official code reads the 2.1 output as eps
        frozen_dtype=None,  # 'float16' on GPU: the official SD weights are fp16
        autocast_dtype=None),  # 'float16' on GPU: the official passes run under autocast
    decode_head=dict(
        type='DAFormerHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        channels=256,
        embed_dims=256,
        fusion_cfg=dict(type='ASPPFusion', dilations=(1, 6, 12, 18), sep=True, pool=False),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))  # whole 1024x512 Cityscapes images (multiples of 64)
