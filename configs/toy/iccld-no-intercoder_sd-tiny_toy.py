# Ablation of iccld_sd-tiny_toy.py without the inter-coder connection (plain latent-diffusion
# student: UNet taps at strides 8/16/32 only); everything else unchanged.
_base_ = ['./iccld_sd-tiny_toy.py']
model = dict(
    segmentor=dict(
        backbone=dict(inter_coder=None, projection_dims=(16, 16, 16)),
        decode_head=dict(in_channels=[16, 16, 16], in_index=[0, 1, 2])))
