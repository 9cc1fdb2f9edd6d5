# CrossMatch (Yin et al., ICCV 2023) stage 2 on the toy GTA5 -> Cityscapes shift, source-free:
# the toy source model (stage 1 = source-only_mitb0-tiny_toy.py, same tiny DAFormer network)
# adapted on the unlabelled toy Cityscapes train split with the toy disparity/camera files.
#   python tools/train.py configs/toy/source-only_mitb0-tiny_toy.py            # stage 1
#   python tools/train.py configs/toy/crossmatch_mitb0-tiny_toy.py            # stage 2
# (stage 2 reads work_dirs/source-only_mitb0-tiny_toy/iter_2000.pth, tools/train.py's default
# work_dir of stage 1; override with --cfg-options model.source_checkpoint=<path>).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/daformer_mitb0-tiny.py',
    '../_base_/datasets/toy_cityscapes_depth_target-only.py',  # toy target + depth, no source
    '../_base_/schedules/toy_adamw_poly_2k.py',
    '../_base_/uda/crossmatch.py',
]
model = dict(_delete_=True, segmentor=dict(_base_.model, type='UDAEncoderDecoder'), **_base_.uda)
model.update(
    source_checkpoint='work_dirs/source-only_mitb0-tiny_toy/iter_2000.pth',
    # 0.99 as the toy DAFormer config: 0.999 would average over half of the 2000-iteration run.
    ema=dict(alpha=0.99),
    # One depth width per input of the tiny head (16, 32, 80, 128 channels), half of each.
    auxiliary=dict(
        _base_.uda.auxiliary,
        depth_encoder=dict(_base_.uda.auxiliary.depth_encoder, channels=(8, 16, 40, 64))),
    # DAFormer's 15/120-row crop scaled to the toy's 64-row crops, as the toy DAFormer config.
    pseudo_ignore_top=2,
    pseudo_ignore_bottom=15)
optim_wrapper = dict(
    # Stage 2 fine-tunes a trained model without labels: a small fraction of stage 1's lr
    # (2e-3). On the toy, stage 1's earlier lr of 6e-4 collapsed the predictions to
    # road/building within 300 iterations (5.7 mIoU).
    optimizer=dict(lr=6e-05),
    # The depth encoder and fusion start from scratch, like the decode head in DAFormer: lr x10.
    paramwise_cfg=dict(custom_keys=dict(depth_=dict(lr_mult=10.0))))
# A short adaptation: 300 of stage 1's 2000 iterations, the lr decaying to 0 by then. On the toy
# (one seed measured) the target mIoU peaked early (~100 iterations) and then drifted down as the
# streams reinforced their own pseudo-labels (confirmation bias), so the run stops early.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=300),
]
train_cfg = dict(max_iters=300, val_interval=100)
default_hooks = dict(logger=dict(interval=10))  # short runs: log often
