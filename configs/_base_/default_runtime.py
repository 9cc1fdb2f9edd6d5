# Runtime shared by all mmseg-diffuda configs (MMSegmentation 1.x layout).
default_scope = 'mmseg'
# Registers the plugin's datasets, models, metrics and hooks into mmseg's registries.
custom_imports = dict(imports=['mmseg_diffuda'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl for GPUs. tools/train.py and tools/test.py create a gloo group instead when CUDA is
    # unavailable (mmseg_diffuda.engine.setup_cpu_distributed), so CPU runs need no edit here.
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)  # iteration-based training, as DAFormer/MIC
log_level = 'INFO'
load_from = None
resume = False

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Every 4000 iterations (DAFormer's evaluation interval), keeping only the newest: a run can
    # be resumed, and it ends with one final checkpoint, as DAFormer saves. Written atomically,
    # the previous one removed only after the new one is complete.
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))

# Writes checkpoints as plain data so that torch >= 2.6 loads them with weights_only=True
# (needed by --resume with mmengine 0.10.7); stops before iteration 1 when the model's,
# the metainfo's, the prompts' or the labels' class counts disagree, or when --resume finds a
# checkpoint of another model; in distributed runs gives every process the same buffers after
# each iteration (BN statistics averaged); stops at a NaN/inf loss before saving that model.
custom_hooks = [
    dict(type='PlainDataCheckpointHook'),
    dict(type='ClassCheckHook'),
    dict(type='ResumeCheckHook'),
    dict(type='IterSyncBuffersHook'),
    dict(type='NonFiniteLossHook'),
    # Pseudo-labels, confident pixels, mixed image/label and the source prediction of one
    # iteration, 10 panels per run (to the visualizer's backends; docs/getting_started.md).
    dict(type='UDAVisualizationHook', interval=None, num_draws=10),
]

# DAFormer's results average seeds 0, 1, 2 (lhoyer/DAFormer issue #23):
# --cfg-options randomness.seed=1
randomness = dict(seed=0)

tta_model = dict(type='SegTTAModel')
