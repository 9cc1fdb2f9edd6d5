# Ablation: ICCLD on GTA5 -> Cityscapes without the inter-coder connection: the plain
# latent-diffusion segmenter (UNet taps at strides 8/16/32 only), everything else unchanged.
_base_ = ['./iccld_sd15_gta2cs-512x512.py']
model = dict(
    segmentor=dict(
        backbone=dict(inter_coder=None, projection_dims=(512, 512, 512)),
        decode_head=dict(in_channels=[512, 512, 512], in_index=[0, 1, 2])))
