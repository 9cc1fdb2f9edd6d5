# Source-only / domain-generalisation training: the student alone on the labelled source, no
# teacher and no target (the source-only baseline of DAFormer, Hoyer et al., CVPR 2022).
# Full configs build the model as
#   model = dict(_delete_=True, **_base_.uda,
#                segmentor=dict(_base_.model, type='UDAEncoderDecoder'))
uda = dict(type='UDASegmentor', ema=None)
# UDASegmentor has its own train_step; this wrapper keeps it under DDP and wraps the student.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False)
