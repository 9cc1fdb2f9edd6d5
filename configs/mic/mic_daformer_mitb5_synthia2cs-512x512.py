# MIC on DAFormer (Hoyer et al., CVPR 2023), SYNTHIA -> Cityscapes: DAFormer's SYNTHIA recipe
# plus masked image consistency (see mic_daformer_mitb5_gta2cs-512x512.py for what MIC(HRDA)
# would need on top).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_sepaspp_mitb5.py',
    '../_base_/datasets/synthia_to_cityscapes_512x512.py',
    '../_base_/schedules/adamw_poly10warm_40k.py',
    '../_base_/uda/mic.py',
]
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
# val/test_evaluator: SubsetIoUMetric (mIoU, mIoU16, mIoU13) from the SYNTHIA dataset base.
