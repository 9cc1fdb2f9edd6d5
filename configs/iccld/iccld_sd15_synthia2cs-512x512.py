# ICCLD on SYNTHIA -> Cityscapes (our interpretation, docs/methods/iccld.md): the GTA5 config
# with the SYNTHIA source; evaluation logs mIoU (19), mIoU16 and mIoU13 (SubsetIoUMetric of the
# dataset base). The paper reports 67.2 mIoU without naming the class set; that number is the
# paper's, not a result of this code.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/iccld_sd15.py',
    '../_base_/datasets/synthia_to_cityscapes_512x512.py',
    '../_base_/uda/iccld.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.uda)
