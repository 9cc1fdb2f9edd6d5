# DIFF backbone under DACS self-training (UDA GTA5 -> Cityscapes). The official fork has DACS
# (configs/_base_/uda/dacs.py: EMA 0.99, threshold 0.968, ClassMix, colour jitter, blur) but
# ships no UDA experiment; this combines those settings with the DG experiment's model and
# optimiser. The mixed images' labels (source GT + pseudo-labels) drive the conditional pass, as
# in the original. The teacher shares the frozen UNet and VAE with the student instead of
# building a second Stable Diffusion (the original deep-copies it).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/diff_sd21.py',
    '../_base_/datasets/gta5_to_cityscapes_512x512.py',
    '../_base_/uda/dacs.py',
    '../_base_/schedules/adamw_poly10warm_40k.py',
]
custom_imports = dict(imports=['mmseg_diffuda'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    **_base_.uda,
    segmentor=_base_.model)
model['ema'] = dict(alpha=0.99, shared_modules=['backbone.unet', 'backbone.vae'])
optim_wrapper = dict(
    clip_grad=dict(max_norm=5.0, norm_type=2),
    paramwise_cfg=dict(_delete_=True, custom_keys=dict(head=dict(lr_mult=10.0))))
train_dataloader = dict(batch_size=1, num_workers=1)
