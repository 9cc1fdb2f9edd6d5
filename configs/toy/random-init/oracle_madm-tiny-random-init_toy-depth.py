# "No pretraining" ablation (issue: toy foundation models) of the toy depth oracle of MADM's
# network: the same config with the tiny SD stack built from its config with random weights
# instead of loading the toy SD stack. With oracle_madm-tiny_toy-depth.py it measures what the
# toy SD pretraining gives the segmenter when labels are not the limit.
_base_ = ['../oracle_madm-tiny_toy-depth.py']
model = dict(
    segmentor=dict(backbone=dict(pretrained=None, vae_config=_base_.tiny_vae_config)))
