# Ablation of configs/madm/madm_tiny_toy-rgb2depth.py without label palette + latent regression
# (LPLR): the UNet output is not regressed onto the palette latents of the labels.
_base_ = ['../madm/madm_tiny_toy-rgb2depth.py']
model = dict(lplr=None)
