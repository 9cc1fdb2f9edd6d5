# CrossMatch stage 1 (source model) for SYNTHIA -> Cityscapes: DAFormer's network and schedule
# on SYNTHIA-RAND-CITYSCAPES alone (all 19 outputs), validated on Cityscapes val with mIoU16/13.
#   python tools/train.py configs/crossmatch/source-only_daformer_mitb5_synthia-512x512.py
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_sepaspp_mitb5.py',
    '../_base_/datasets/synthia_to_cityscapes_512x512.py',  # + SubsetIoUMetric (mIoU16/13)
    '../_base_/schedules/adamw_poly10warm_40k.py',
    '../_base_/uda/source_only.py',
]
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
train_dataloader = dict(dataset=dict(target=None))  # labelled SYNTHIA batches only
