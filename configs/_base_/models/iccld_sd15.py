# ICCLD segmenter (Yu et al., CVPR 2025 Workshops, arXiv 2412.16859; no public code, our
# interpretation, docs/methods/iccld.md): Stable Diffusion v1-5 latent-diffusion features with
# the inter-coder connection from the VAE encoder, projected and fused by a DAFormer head.
# The SD v1-5 architecture is SD v1-4's (same UNet/VAE/CLIP-L configs), so this inherits the
# architecture dicts of madm_sd14.py and only changes the weights and the ICCLD parts.
#
# Weights: Stable Diffusion v1-5 in the diffusers layout, e.g.
#   hf download stable-diffusion-v1-5/stable-diffusion-v1-5 --include "unet/*" "vae/*" \
#       "text_encoder/*" "tokenizer/*" "scheduler/*" --local-dir pretrained/stable-diffusion-v1-5
# (relative to the repo root); with pretrained set, the *_config dicts are checked against them.
_base_ = ['./madm_sd14.py']
model = dict(
    type='LatentFeatureEncoderDecoder',  # also returns the UNet features of target passes
    backbone=dict(
        type='InterCoderDiffusionBackbone',
        # SD v1-5 is the latent diffusion model of VPD (Zhao et al., ICCV 2023), the common SD
        # segmentation backbone; ICCLD names no version.
        pretrained='pretrained/stable-diffusion-v1-5',
        # VAE down_blocks[1] (256 ch, stride 4) extends the UNet decoder to stride 4 (fine
        # detail for the head, the stride DAFormer's MiT head works at); down_blocks[2]
        # (512 ch, stride 8) is fused into the stride-8 UNet tap. Concat + 3x3 conv: U-Net skip.
        inter_coder=dict(
            encoder_levels=(1, 2),
            fusion=dict(type='ConcatConvFusion',
                        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True))),
        # "during the latent diffusion process": training latents are noised at t ~ U{0..100}
        # per image (mild noise keeps the content; larger t is a switch away), evaluation and
        # pseudo-labels at t = 0 (MADM's default_timestep).
        train_timestep_range=(0, 100),
        input_size=None,  # DAFormer protocol: 512x512 crops, whole 1024x512 test images
        # No VAE-decoded s0 (MADM's s0 serves its latent regression, which ICCLD does not
        # have); the inter-coder gives the fine level instead.
        use_decoded_feature=False,
        projection_dims=(256, 512, 512, 512),  # strides 4, 8, 16, 32
        projection_bottleneck=128),
    decode_head=dict(in_channels=[256, 512, 512, 512], num_classes=19))
