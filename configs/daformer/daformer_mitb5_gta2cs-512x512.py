# DAFormer (Hoyer et al., CVPR 2022) on GTA5 -> Cityscapes: MiT-B5 + DAFormer head on 512x512
# crops, rare class sampling, thing-class ImageNet feature distance, EMA alpha 0.999,
# pseudo-label crop, AdamW with lr warm-up, 40k iterations at batch 2 on one GPU.
# Paper: 68.3 mIoU (19 classes, Cityscapes val, mean of seeds 0, 1, 2; evaluate the student).
# Official: configs/daformer/gta2cs_uda_warm_fdthings_rcs_croppl_a999_daformer_mitb5_s0.py
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_sepaspp_mitb5.py',  # DAFormer network (MiT-B5, ImageNet init)
    '../_base_/datasets/gta5_to_cityscapes_512x512.py',  # GTA5 -> Cityscapes, RCS
    '../_base_/schedules/adamw_poly10warm_40k.py',  # AdamW 6e-5, head lr x10, warm-up, 40k
    '../_base_/uda/daformer.py',  # DACS + alpha 0.999 + FD + pseudo-label crop
]
# The DAFormer network is the student; UDAEncoderDecoder adds the pixel-weighted loss and the
# feature output DACS needs (same weights and predictions as EncoderDecoder).
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
