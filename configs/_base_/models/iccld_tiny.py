# Tiny ICCLD segmenter for the toy data and tests: the structure of iccld_sd15.py (SD-like UNet
# taps + inter-coder connection from the VAE encoder, DAFormer head at stride 4) on the tiny
# random SD of madm_tiny.py, so every code path of the full model runs on CPU in seconds.
_base_ = ['./madm_tiny.py']
model = dict(
    type='LatentFeatureEncoderDecoder',  # also returns the UNet features of target passes
    backbone=dict(
        type='InterCoderDiffusionBackbone',
        # Inter-coder connection (ICCLD): VAE down_blocks[1] (8 ch, stride 4) extends the
        # decoder to stride 4, down_blocks[2] (16 ch, stride 8) is fused into the stride-8 tap.
        inter_coder=dict(
            encoder_levels=(1, 2),
            fusion=dict(type='ConcatConvFusion',
                        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))),
        # Training latents noised at t ~ U{0..100} per image (the forward diffusion process),
        # evaluation at t = 0 (default_timestep), as in iccld_sd15.py.
        train_timestep_range=(0, 100),
        use_decoded_feature=False,  # MADM's decoded s0 serves LPLR; ICCLD has none
        projection_dims=(8, 16, 16, 16),  # strides 4, 8, 16, 32
        projection_bottleneck=8),
    decode_head=dict(in_channels=[8, 16, 16, 16]))
