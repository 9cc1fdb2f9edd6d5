# "No pretraining" ablation (issue: toy foundation models) of ICCLD's toy oracle: the same config
# with the tiny SD stack built from its config with random weights instead of loading the toy SD
# stack.
_base_ = ['../oracle_iccld-sd-tiny_toy.py']
model = dict(
    segmentor=dict(backbone=dict(pretrained=None, vae_config=_base_.tiny_vae_config)))
