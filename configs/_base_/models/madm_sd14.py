# MADM: Stable Diffusion v1-4 UNet features + DAFormer head.
# MADM (Xia et al., NeurIPS 2024), official config_files/common/models/mtmadise_multi_lora.py and
# config_files/SemSeg/MTMADISE/mtmadise_cityscapes_rgb_to_*.py (s0 = VAE-decoded UNet output).
#
# Weights: Stable Diffusion v1-4 in the diffusers layout, e.g.
#   hf download CompVis/stable-diffusion-v1-4 --include "unet/*" "vae/*" "text_encoder/*" \
#       "tokenizer/*" "scheduler/*" --local-dir pretrained/stable-diffusion-v1-4
# (relative to the directory training starts from, the repo root), or set pretrained to the hub
# id 'CompVis/stable-diffusion-v1-4' once it is in the Hugging Face cache. The *_config dicts
# below state the SD v1-4 architecture: with pretrained set they are checked against the loaded
# weights; with pretrained=None they build the same architecture with random weights.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],  # [0, 255] -> [-1, 1], SD's VAE input range (MADM: /255, then
    std=[127.5, 127.5, 127.5],  # (x - 0.5) / 0.5)
    bgr_to_rgb=True,  # SD was trained on RGB
    size=(512, 512),  # MADM trains on 512x512 crops
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='StableDiffusionBackbone',
        pretrained='pretrained/stable-diffusion-v1-4',
        local_files_only=True,  # never download during training; see the command above
        unet_config=dict(  # architecture keys only (sample_size etc. only matter to pipelines)
            in_channels=4,
            out_channels=4,
            layers_per_block=2,
            block_out_channels=[320, 640, 1280, 1280],  # taps: 320 (s3), 640 (s4), 1280 (s5)
            down_block_types=[
                'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                'DownBlock2D'
            ],
            up_block_types=[
                'UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'
            ],
            cross_attention_dim=768,
            attention_head_dim=8,
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
            scaling_factor=0.18215),  # SD v1 latent scale
        text_encoder_config=dict(  # CLIP ViT-L/14 text tower
            vocab_size=49408,
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            max_position_embeddings=77,
            hidden_act='quick_gelu'),
        scheduler_config=dict(  # SD v1 training schedule; MADM reads it as a DDPM scheduler
            num_train_timesteps=1000,
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule='scaled_linear'),
        input_size=(512, 512),  # MADM resizes every input to 512x512 (bilinear)
        noise_size=(64, 64),  # shared noise drawn at the 512x512 latent size ...
        noise_seed=42,  # ... from seed 42
        default_timestep=0,  # t=0 noise on every pass unless the method passes t (DPLG)
        learnable_prompt=True,  # tanh-gated prompt on E("") + time-embedding offset
        use_decoded_feature=True,  # s0: VAE-decoded UNet output at full resolution
        projection_dims=(128, 512, 512, 512),  # official projection_dim for s0, s3, s4, s5
        projection_bottleneck=128,  # official bottleneck_channels (512 // 4)
        projection_norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        finetune_unet=True,  # finetune_unet='all'
        freeze_unet_output=True,  # conv_norm_out/conv_out stay at SD weights (unused params)
        gradient_checkpointing=False,  # memory levers, off as in the original
        frozen_dtype=None),  # the original stores the VAE in fp16: 'float16' (GPU) saves memory
    decode_head=dict(
        type='DAFormerHead',
        in_channels=[128, 512, 512, 512],
        in_index=[0, 1, 2, 3],
        channels=256,
        embed_dims=256,
        fusion_cfg=dict(type='ASPPFusion', dilations=(1, 6, 12, 18), sep=True, pool=False),
        dropout_ratio=0.1,
        num_classes=19,  # the MADM benchmarks set 11 (depth, event) or 9 (infrared)
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=False)),  # MADM averages over all pixels, ignored ones included
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))  # MADM predicts whole 512x512 images
