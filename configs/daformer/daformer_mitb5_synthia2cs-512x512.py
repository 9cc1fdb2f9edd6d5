# DAFormer (Hoyer et al., CVPR 2022) on SYNTHIA -> Cityscapes, same recipe as GTA5 -> Cityscapes.
# Paper: 60.9 mIoU16 (mean of seeds 0, 1, 2). The log's mIoU is over 19 classes; SubsetIoUMetric
# reports mIoU16 and mIoU13 from the same confusion matrix (see lhoyer/DAFormer issue #18).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_sepaspp_mitb5.py',
    '../_base_/datasets/synthia_to_cityscapes_512x512.py',  # SYNTHIA-RAND-CITYSCAPES, RCS
    '../_base_/schedules/adamw_poly10warm_40k.py',
    '../_base_/uda/daformer.py',
]
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
# val/test_evaluator: SubsetIoUMetric (mIoU, mIoU16, mIoU13) from the SYNTHIA dataset base.
