# Probe of the toy RGB -> depth shift: DAFormer self-training (as daformer_mitb0-tiny_toy.py: the
# tiny DAFormer network from the toy-pretrained MiT, the shared toy schedule) on MADM's toy
# Cityscapes RGB -> DELIVER depth data (11 classes). Compare with
# source-only_mitb0-tiny_toy-rgb2depth.py (same network and iterations) and with MADM's tiny SD
# network on the same shift (docs/toy_data.md#how-hard-the-shifts-are).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_mitb0-tiny.py',
    '../_base_/datasets/toy_cityscapes_to_deliver_depth.py',  # MADM's toy data, 11 classes
    '../_base_/schedules/toy_adamw_poly_2k.py',
    '../_base_/uda/daformer.py',
]
model = dict(
    _delete_=True,
    segmentor=dict(
        _base_.model,
        type='UDAEncoderDecoder',
        decode_head=dict(_base_.model.decode_head, num_classes=_base_.num_classes)),
    **_base_.uda)
model.update(
    ema=dict(alpha=0.99),  # as daformer_mitb0-tiny_toy.py (5% of the toy run)
    # DAFormer's thing classes in MADM's 11-class set: traffic sign, person, car.
    feature_distance=dict(_base_.uda.feature_distance, thing_classes=[6, 9, 10]),
    pseudo_ignore_top=2,  # as daformer_mitb0-tiny_toy.py
    pseudo_ignore_bottom=15)
default_hooks = dict(logger=dict(interval=10))
