# CrossMatch stage 1 (source model) for GTA5 -> Cityscapes: the DAFormer network (MiT-B5 ImageNet
# init + DAFormer head) trained on GTA5 alone with DAFormer's data, rare class sampling and
# schedule; validated on Cityscapes val. CrossMatch's paper does not say how its source model was
# trained (docs/methods/crossmatch.md); this is DAFormer's source-only recipe. Its final
# checkpoint is stage 2's model.source_checkpoint:
#   python tools/train.py configs/crossmatch/source-only_daformer_mitb5_gta-512x512.py
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_sepaspp_mitb5.py',
    '../_base_/datasets/gta5_to_cityscapes_512x512.py',
    '../_base_/schedules/adamw_poly10warm_40k.py',
    '../_base_/uda/source_only.py',  # UDASegmentor without teacher: supervised source training
]
# The same student class as stage 2, so the checkpoint's student.* weights load there.
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
# Source only: UDADataset without target yields labelled GTA5 batches (RCS kept).
train_dataloader = dict(dataset=dict(target=None))
