# LC-MSM single-resolution (Kim et al., Pattern Recognition 2024) on SYNTHIA -> Cityscapes.
# Paper / README: 62.8 mIoU16. The official repository has no SYNTHIA config: this is its
# GTA5 -> Cityscapes recipe on the SYNTHIA data (DAFormer and MIC also share one recipe).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/lcmsm_daformer_sepaspp_mitb5.py',
    '../_base_/datasets/synthia_to_cityscapes_512x512.py',  # SYNTHIA-RAND-CITYSCAPES, RCS
    '../_base_/schedules/lcmsm_adamw_poly10warm_60k.py',
    '../_base_/uda/lc_msm.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.uda)
# val/test_evaluator: SubsetIoUMetric (mIoU, mIoU16, mIoU13) from the SYNTHIA dataset base.
