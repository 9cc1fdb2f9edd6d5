# Target oracle on the toy data: the tiny DAFormer network trained WITH the toy Cityscapes train
# labels (which UDA never sees) and evaluated on toy Cityscapes val. It bounds what adaptation can
# reach on the toy shift; compare with source-only_mitb0-tiny_toy.py (same network and schedule).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_mitb0-tiny.py',
    '../_base_/datasets/toy_cityscapes_oracle.py',  # toy Cityscapes train (labelled), val
    '../_base_/schedules/toy_adamw_poly_2k.py',
    '../_base_/uda/source_only.py',  # "source" = the labelled target here
]
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
default_hooks = dict(logger=dict(interval=10))
