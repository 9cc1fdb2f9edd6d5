# Basic DACS self-training (Tranheden et al., WACV 2021) as the DAFormer baseline (Hoyer et al.,
# CVPR 2022; official configs/_base_/uda/dacs.py). Full configs build the model as
#   model = dict(_delete_=True, **_base_.uda,
#                segmentor=dict(_base_.model, type='UDAEncoderDecoder'))
uda = dict(
    type='DACS',
    ema=dict(alpha=0.99),  # DACS's EMA teacher decay
    pseudo_threshold=0.968,  # tau of the confidence weight q (DACS/DAFormer)
    pseudo_ignore_top=0,  # no pseudo-label crop in basic DACS
    pseudo_ignore_bottom=0,
    batch_wide_classmix=True,  # classes drawn from the whole source batch, as the official code
    strong_aug=dict(
        type='StrongAugmentation',
        color_jitter_strength=0.2,  # DAFormer color_jitter_strength
        color_jitter_probability=0.2,  # jitter applied iff U(0,1) > 0.2 (official semantics)
        blur=True))
# No ImageNet feature distance (feature_distance) and no masking in basic DACS (DACS defaults).
# DACS has its own train_step (several backward passes, one optimiser step): this wrapper keeps
# it under DDP and wraps the student only (the teacher has no trainable parameters).
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False)
