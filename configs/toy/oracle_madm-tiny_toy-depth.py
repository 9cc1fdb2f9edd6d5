# Target oracle of the toy RGB -> depth shift: the network, optimiser and 1000 iterations of
# source-only_madm-tiny_toy-rgb2depth.py, trained WITH the toy DELIVER depth train labels (which
# the adaptation never sees) instead of the RGB source, and validated on toy DELIVER depth test.
# It bounds what MADM can reach on the toy with this network.
_base_ = [
    './source-only_madm-tiny_toy-rgb2depth.py',
    '../_base_/datasets/toy_deliver_depth_labelled.py',
]
train_dataloader = dict(
    dataset=dict(
        source=dict(_base_.toy_deliver_depth_train, _delete_=True),
        rare_class_sampling=None))  # RCS statistics exist for the RGB source only
