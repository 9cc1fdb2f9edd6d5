# CrossMatch (Yin et al., ICCV 2023), source-free: stage 2 adapts a source-only model on the
# unlabelled target with an RGB-D auxiliary stream. The paper has no public code: every value
# below is this project's interpretation (docs/methods/crossmatch.md lists reason + precedent).
# Full configs build the model as
#   model = dict(_delete_=True, **_base_.uda,
#                segmentor=dict(_base_.model, type='UDAEncoderDecoder'))
# and set model.source_checkpoint to the stage-1 checkpoint.
uda = dict(
    type='CrossMatch',
    ema=dict(alpha=0.999),  # both EMA teachers (main and auxiliary): DAFormer's decay
    source_checkpoint=None,  # set per config: the stage-1 (source-only) checkpoint
    auxiliary=dict(
        type='RGBDAuxiliaryNetwork',
        # Depth encoder added to the RGB features through zero-initialised 1x1 convolutions
        # (ControlNet's zero convolution): the auxiliary network starts as the source model.
        # One width per decode-head input; max_depth 80 m is the usual driving-depth cap.
        depth_encoder=dict(type='DepthEncoder', channels=(32, 64, 128, 256), max_depth=80.0)),
    # Dual-head denoising: a pixel keeps its pseudo-label iff both teachers agree and each is at
    # least this confident (FixMatch-style confidence masking; FixMatch uses 0.95 with one head,
    # agreement is already a filter, so 0.9).
    pseudo_threshold=0.9,
    aux_pseudo_threshold=0.9,
    pseudo_ignore_top=15,  # DAFormer's pseudo-label crop on 512x512 Cityscapes crops
    pseudo_ignore_bottom=120,
    aux_loss_weight=1.0,  # both streams learn the denoised pseudo-labels equally
    consistency_weight=1.0,  # cross-modal pixel-wise consistency (KL), 0 disables it
    symmetric_consistency=True,  # mutual (deep mutual learning); False: RGB-D teaches RGB only
    strong_aug=dict(
        type='StrongAugmentation',  # DACS colour jitter + blur, an independent draw per stream
        color_jitter_strength=0.2,
        color_jitter_probability=0.2,
        blur=True))
# CrossMatch has its own train_step: this wrapper wraps the two trainable children (student and
# auxiliary) in DDP; the EMA teachers have no trainable parameters.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False)
