# "No pretraining" ablation (issue: toy foundation models): the same config with the tiny MiT
# from random initialisation instead of the toy ImageNet analogue.
# Stage 2 adapts the random-init source-only model (source-only_mitb0-tiny-random-init_toy.py).
_base_ = ['../crossmatch_mitb0-tiny_toy.py']
model = dict(
    segmentor=dict(backbone=dict(init_cfg=None)),
    source_checkpoint='work_dirs/source-only_mitb0-tiny-random-init_toy/iter_2000.pth')
