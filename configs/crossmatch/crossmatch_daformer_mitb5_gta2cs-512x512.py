# CrossMatch (Yin et al., ICCV 2023) stage 2 on GTA5 -> Cityscapes, source-free: the GTA5 source
# model (source-only_daformer_mitb5_gta-512x512.py) adapted on unlabelled Cityscapes train with
# its stereo depth; no GTA5 image is read. Paper: 57.7 mIoU (19 classes) - the paper's number,
# not reproduced here; its backbone, schedule and loss weights are unknown (no public code), so
# this config is DAFormer's network and schedule with our interpretation (crossmatch.md).
#   python tools/train.py configs/crossmatch/crossmatch_daformer_mitb5_gta2cs-512x512.py \
#       --cfg-options model.source_checkpoint=<stage-1 work_dir>/iter_40000.pth
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_sepaspp_mitb5.py',
    '../_base_/datasets/cityscapes_depth_target-only_512x512.py',  # target + depth, no source
    '../_base_/schedules/adamw_poly10warm_40k.py',
    '../_base_/uda/crossmatch.py',
]
model = dict(
    _delete_=True,
    segmentor=dict(
        _base_.model,
        type='UDAEncoderDecoder',
        # No ImageNet weights: every segmentor weight comes from the source checkpoint.
        backbone=dict(_base_.model.backbone, init_cfg=None)),
    **_base_.uda)
# Default location of stage 1's final checkpoint (tools/train.py's default work_dir).
model.update(source_checkpoint='work_dirs/source-only_daformer_mitb5_gta-512x512/iter_40000.pth')
optim_wrapper = dict(
    # Stage 2 fine-tunes the trained source model without labels: a tenth of stage 1's 6e-5 (the
    # toy shows collapse at stage 1's lr; docs/methods/crossmatch.md). Unverified on real data.
    optimizer=dict(lr=6e-06),
    # The depth encoder and fusion start from scratch, like the decode head in DAFormer: lr x10.
    paramwise_cfg=dict(custom_keys=dict(depth_=dict(lr_mult=10.0))))
