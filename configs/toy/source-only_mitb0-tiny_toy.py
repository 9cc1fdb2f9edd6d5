# Source-only baseline on the toy GTA5 -> Cityscapes data: the tiny DAFormer network trained on the
# toy GTA5 tree only (no teacher, no target), validated on toy Cityscapes val. Compare its target
# mIoU with daformer_mitb0-tiny_toy.py and mic_mitb0-tiny_toy.py: same network, schedule and
# iterations. Data: tools/make_toy_data.py --out data/toy + the gta5/cityscapes converters.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_mitb0-tiny.py',  # tiny DAFormer, toy-pretrained MiT
    '../_base_/datasets/toy_source.py',  # toy GTA5 train, toy Cityscapes val
    '../_base_/schedules/toy_adamw_poly_2k.py',  # DAFormer's optimiser, scaled to the toy
    '../_base_/uda/source_only.py',
]
# The same student class as the UDA configs, so checkpoints are interchangeable.
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
default_hooks = dict(logger=dict(interval=10))  # short runs: log often
