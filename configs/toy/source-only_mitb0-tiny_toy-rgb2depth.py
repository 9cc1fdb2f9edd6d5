# Probe of the toy RGB -> depth shift: the tiny DAFormer network (toy-pretrained MiT, the shared
# toy schedule) trained on the labelled toy Cityscapes source only (11 MADM classes) and validated
# on toy DELIVER depth. With daformer_mitb0-tiny_toy-rgb2depth.py and oracle_mitb0-tiny_toy-depth.py
# it tells whether self-training closes this shift with a network that can learn the depth target,
# next to MADM's tiny SD network (docs/toy_data.md#how-hard-the-shifts-are).
_base_ = ['./daformer_mitb0-tiny_toy-rgb2depth.py']
# The same student and data as the DAFormer probe without its teacher (no target term): the UDA
# batches' target images are loaded but unused, as in source-only_madm-tiny_toy-rgb2depth.py.
model = dict(_delete_=True, type='UDASegmentor', ema=None, segmentor=_base_.model.segmentor)
