# Probe of the toy RGB -> depth shift: the tiny DAFormer network (toy-pretrained MiT, the shared
# toy schedule) trained WITH the toy DELIVER depth train labels and validated on toy DELIVER depth
# test, 11 MADM classes. Next to oracle_madm-tiny_toy-depth.py (MADM's tiny SD network on the
# same data) it tells whether the toy depth data or the tiny SD network bounds the toy MADM
# results (docs/toy_data.md#the-toy-recipe).
_base_ = [
    './oracle_mitb0-tiny_toy.py',
    '../_base_/datasets/toy_deliver_depth_labelled.py',
]
model = dict(segmentor=dict(decode_head=dict(num_classes=_base_.toy_deliver_depth_classes)))
train_dataloader = dict(dataset=dict(_base_.toy_deliver_depth_train, _delete_=True))
val_dataloader = dict(dataset=dict(_base_.toy_deliver_depth_test, _delete_=True))
test_dataloader = val_dataloader
