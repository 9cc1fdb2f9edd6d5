# LC-MSM (Kim et al., Pattern Recognition 2024) on the toy GTA5 -> Cityscapes data: the recipe of
# configs/lc_msm/lcmsm_daformer_mitb5_gta2cs-512x512.py on the tiny network (plus a tiny random
# text tower) with the toy schedule, as mic_mitb0-tiny_toy.py (same data, network, iterations
# and toy adjustments, so the target mIoU is comparable).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/lcmsm_mitb0-tiny.py',
    '../_base_/datasets/toy_gta5_to_cityscapes.py',
    '../_base_/schedules/toy_adamw_poly_2k.py',
    '../_base_/uda/lc_msm.py',
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.uda)
model.update(
    ema=dict(alpha=0.99),  # as the other toy configs: a teacher lag of ~100 toy iterations
    # LC-MSM has no pseudo-label crop, but the toy target has an ego-vehicle hood at the bottom;
    # the DAFormer/MIC toy configs' crop keeps the comparison about the method.
    pseudo_ignore_top=2,
    pseudo_ignore_bottom=15,
    # 32 px blocks of 512x512 crops scaled to the 5.3x smaller toy images: 8 px, as MIC's toy.
    masking=dict(_base_.uda.masking, block_size=8))
# The text projection trains at the base lr, as in the full config.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(text_projection=dict(lr_mult=1.0))))
default_hooks = dict(logger=dict(interval=10))
