# MADM self-training (Xia et al., NeurIPS 2024; official modeling/meta_arch/mtmadise.py and
# config_files/common/models/mtmadise_multi_lora.py): DACS with the Stable Diffusion student,
# an EMA teacher of the prompt, projections and head (UNet, VAE and text encoder shared),
# DPLG and LPLR. DPLG and LPLR differ per benchmark and are set in the benchmark configs.
# Full configs build the model as
#   model = dict(_delete_=True, **_base_.uda,
#                segmentor=dict(_base_.model, type='LatentEncoderDecoder'))
uda = dict(
    type='MADM',
    ema=dict(
        alpha=0.999,  # official ema alpha (mtmadise_multi_lora.py)
        # ema_w_unet=False: the teacher runs the student's (current) UNet.
        shared_modules=('backbone.unet', 'backbone.vae', 'backbone.text_encoder')),
    pseudo_threshold=0.968,  # DAFormer's tau, kept by MADM
    batch_wide_classmix=True,  # classes drawn from the whole source batch, as the official code
    strong_aug=dict(
        type='StrongAugmentation',
        color_jitter_strength=0.2,  # DAFormer's dacs_transforms, reused by MADM
        color_jitter_probability=0.2,
        blur=True),
    dplg=None,  # set per benchmark
    lplr=None)  # set per benchmark
# No ImageNet feature distance (fd=False), no MIC masking and no pseudo-label crop
# (pl_crop=False) in the released MADM configs: MADM has none of these arguments.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False)

# ---- MADM's optimisation, the same for the three benchmarks (official
# config_files/SemSeg/MTMADISE/mtmadise_cityscapes_rgb_to_*.py and config_files/common/optim.py)
optim_wrapper = dict(
    # AMP (train.amp.enabled=True). AmpOptimWrapper needs a GPU: on CPU run with
    #   --cfg-options optim_wrapper.type=OptimWrapper
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    # lr 5e-6 for every parameter (UNet, prompt, projections, head: no head x10).
    optimizer=dict(type='AdamW', lr=5e-6, betas=(0.9, 0.999), weight_decay=0.05),
    # No weight decay on normalisation weights and biases (detectron2 get_default_optimizer_params
    # with weight_decay_norm=0, weight_decay_bias=0).
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=0.01))  # train.grad_clip = 0.01 (clip_grad_norm_)
# detectron2 WarmupParamScheduler(MultiStepParamScheduler([1, 0.1, 0.01], milestones=
# [int(0.88888 n), int(0.96296 n)], num_updates=n), warmup_length=500/184375, warmup_factor=0.067)
# with n = 2 * max_iter - 1 = 19999, evaluated at where = it / 10000: the linear warm-up from 0.067
# lasts 27 iterations, lr x0.1 from iteration 8889 and x0.01 from 9630. (mmengine's LinearLR
# reaches factor 1 at iteration end - 1 = 26.)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.067, by_epoch=False, begin=0, end=27),
    dict(type='MultiStepLR', milestones=[8889, 9630], gamma=0.1, by_epoch=False, begin=0,
         end=10000),
]
# 10k iterations (train.max_iter), batch 2 (1 source + 1 target per GPU on 2 GPUs), evaluation
# every 1000 iterations (checkpointer.period; the configs also checkpoint every 1000).
train_cfg = dict(type='ExactResumeIterBasedTrainLoop', max_iters=10000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
