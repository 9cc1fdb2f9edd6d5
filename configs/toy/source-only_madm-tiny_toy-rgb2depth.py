# Source-only baseline of configs/madm/madm_tiny_toy-rgb2depth.py: the same tiny SD network,
# data, optimiser and iterations, trained on the labelled toy Cityscapes source only (no teacher,
# no target, no DPLG/LPLR), validated on toy DELIVER depth. The UDA batches' target images are
# loaded but unused, so both runs draw the same source batches.
_base_ = ['../madm/madm_tiny_toy-rgb2depth.py']
# The same student class as MADM, so checkpoints are interchangeable.
model = dict(_delete_=True, type='UDASegmentor', ema=None, segmentor=_base_.model.segmentor)
