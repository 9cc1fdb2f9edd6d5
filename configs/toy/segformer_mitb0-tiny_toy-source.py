# Source-only baseline on the toy data: a tiny SegFormer (toy-pretrained MiT) trained on toy GTA5 and
# evaluated on toy Cityscapes val, through the same tools as the real benchmarks. About 2000
# iterations, a few minutes on one CPU core.
_base_ = [
    '../_base_/models/segformer_mit-b0-tiny.py',
    '../_base_/datasets/toy_source.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/toy_adamw_poly_2k.py',
]
default_hooks = dict(
    # a checkpoint at every validation (250 iterations), so that a toy run can be resumed
    checkpoint=dict(interval=250, max_keep_ckpts=2))
