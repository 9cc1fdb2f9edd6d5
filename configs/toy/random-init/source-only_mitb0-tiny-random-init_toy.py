# "No pretraining" ablation (issue: toy foundation models): the same config with the tiny MiT
# from random initialisation instead of the toy ImageNet analogue.
_base_ = ['../source-only_mitb0-tiny_toy.py']
model = dict(segmentor=dict(backbone=dict(init_cfg=None)))
