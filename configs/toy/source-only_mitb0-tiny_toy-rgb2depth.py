# Probe of the toy RGB -> depth shift: the tiny DAFormer network (toy-pretrained MiT, the shared
# toy schedule) trained on the labelled toy Cityscapes source only (11 MADM classes) and validated
# on toy DELIVER depth. With daformer_mitb0-tiny_toy-rgb2depth.py and oracle_mitb0-tiny_toy-depth.py
# it tells whether self-training closes this shift with a network that can learn the depth target,
# next to MADM's tiny SD network (docs/toy_data.md#how-hard-the-shifts-are).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_mitb0-tiny.py',  # tiny DAFormer, toy-pretrained MiT
    '../_base_/datasets/toy_cityscapes_to_deliver_depth.py',  # MADM's toy data, 11 classes
    '../_base_/schedules/toy_adamw_poly_2k.py',  # the shared toy schedule
    '../_base_/uda/source_only.py',
]
model = dict(
    _delete_=True,
    segmentor=dict(
        _base_.model,
        type='UDAEncoderDecoder',
        decode_head=dict(_base_.model.decode_head, num_classes=_base_.num_classes)),
    **_base_.uda)
default_hooks = dict(logger=dict(interval=10))  # short runs: log often
