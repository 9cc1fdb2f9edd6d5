# ICCLD (our interpretation of Yu et al., CVPR 2025 Workshops; docs/methods/iccld.md) on the toy
# GTA5 -> Cityscapes data: the recipe of configs/iccld/iccld_sd15_gta2cs-512x512.py (inter-coder
# latent-diffusion student, DACS, three-domain timestep-conditioned discriminator with its own
# optimiser) on the tiny pretrained toy SD v1 stack, with the toy schedule of the DAFormer toy
# configs (2000 iterations, comparable with daformer_mitb0-tiny_toy.py).
# Source-only baseline (same network and schedule): source-only_iccld-sd-tiny_toy.py.
# Ablations: iccld-no-intercoder_sd-tiny_toy.py, iccld-no-adversarial_sd-tiny_toy.py.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/iccld_tiny.py',  # tiny SD UNet/VAE/CLIP + inter-coder, toy SD v1 weights
    '../_base_/datasets/toy_gta5_to_cityscapes.py',  # UDADataset with RCS on the toy trees
    '../_base_/uda/iccld.py',
]
# The 96x192 toy validation images are predicted in 64x128 windows, without padding
# (madm_tiny.py test_cfg).
model = dict(_delete_=True, segmentor=_base_.model, **_base_.uda)
model.update(
    # 0.999 would average over half of the 2000-iteration toy run; 0.99 as the DAFormer toy.
    ema=dict(alpha=0.99, shared_modules=_base_.uda.ema.shared_modules),
    # DAFormer's pseudo-label crop at the toy's 64-row crops (as daformer_mitb0-tiny_toy.py).
    pseudo_ignore_top=2,
    pseudo_ignore_bottom=15,
    # The tiny UNet's deepest tap has 16 channels (block_out_channels[2]).
    discriminator=dict(_base_.uda.discriminator, in_channels=16, channels=(32, 32),
                       timestep_dim=16),
    # 10x ADVENT's 0.001: the toy run is 40x shorter than the benchmark, and the tiny features
    # need a visible adversarial signal within it.
    adversarial_weight=0.01)
model_wrapper_cfg = dict(find_unused_parameters=True)

# CPU: fp32 wrappers (AMP needs a GPU); learning rates far above the benchmark's because the
# tiny model is five orders of magnitude smaller than SD. 2e-3 as madm_tiny_toy-rgb2depth.py
# (same tiny SD UNet; measured when it started from random weights):
# there 6e-4 left the source loss at 1.7 after 150 iterations where 2e-3 reached 1.3.
optim_wrapper = dict(
    student=dict(
        _delete_=True,
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05),
        paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
        clip_grad=dict(max_norm=0.01)),
    discriminator=dict(optimizer=dict(lr=1e-3)))
# The toy schedule shape (toy_adamw_poly_2k.py) for the student, poly 0.9 for the discriminator.
param_scheduler = dict(
    _delete_=True,
    student=[
        dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=100),
        dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=100, end=2000),
    ],
    discriminator=[
        dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=2000),
    ])
train_cfg = dict(type='ExactResumeIterBasedTrainLoop', max_iters=2000, val_interval=500)
default_hooks = dict(
    logger=dict(interval=10),  # short runs: log often (disc.acc trend)
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=1))
