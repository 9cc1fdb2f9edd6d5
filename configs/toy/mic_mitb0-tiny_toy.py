# MIC on DAFormer (Hoyer et al., CVPR 2023) on the toy GTA5 -> Cityscapes data: daformer_mitb0-
# tiny_toy.py plus masked image consistency (configs/_base_/uda/mic.py), same iterations as the
# source-only and DAFormer toy configs.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_mitb0-tiny.py',
    '../_base_/datasets/toy_gta5_to_cityscapes.py',
    '../_base_/schedules/toy_adamw_poly_2k.py',
    '../_base_/uda/mic.py',
]
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
model.update(
    ema=dict(alpha=0.99),  # as daformer_mitb0-tiny_toy.py: a teacher lag of ~100 toy iterations
    pseudo_ignore_top=2,  # DAFormer's 15 / 120 rows of a 512-row crop, scaled to 64 rows
    pseudo_ignore_bottom=15,
    # MIC masks 32 px blocks of 512x512 crops of 1024x512 images; the toy images are 5.3x
    # smaller (96x192), so 32 px would be 6 px: 8 px keeps a block two stride-4 tokens wide.
    masking=dict(_base_.uda.masking, block_size=8))
default_hooks = dict(logger=dict(interval=10))
