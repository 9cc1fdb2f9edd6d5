# "No pretraining" ablation (issue: toy foundation models) of ICCLD's source-only baseline: the
# same config with the tiny SD stack built from its config with random weights instead of loading
# the toy SD stack (the baseline of iccld_sd-tiny-random-init_toy.py).
_base_ = ['../source-only_iccld-sd-tiny_toy.py']
model = dict(
    segmentor=dict(backbone=dict(pretrained=None, vae_config=_base_.tiny_vae_config)))
