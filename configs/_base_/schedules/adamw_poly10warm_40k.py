# DAFormer's optimiser and `poly10warm` schedule, shared by DAFormer, HRDA and MIC
# (Hoyer et al., CVPR 2022; official `configs/_base_/schedules/{adamw,poly10warm}.py` and
# `schedule_40k.py`).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-05, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys=dict(
            head=dict(lr_mult=10.0),  # decoder learns 10x faster (6e-4): it starts from scratch
            pos_block=dict(decay_mult=0.0),  # no weight decay on MiT positional convs ...
            norm=dict(decay_mult=0.0),  # ... and on normalisation layers,
            # including MiT's stage-end LayerNorms, which mmseg 1.x names backbone.layers.<i>.2
            # (DAFormer's MiT: norm1..norm4, matched by 'norm')
            **{f'backbone.layers.{i}.2.': dict(decay_mult=0.0) for i in range(4)})))

# Linear warm-up over 1500 iterations from 6e-11 to 6e-5, then polynomial (power 1) decay to 0.
# mmcv 1.x (the official code) multiplies the warm-up factor into a poly decay that starts at
# iteration 0, so at iteration 1500 its lr is 6e-5 * (1 - 1500 / 40000) = 5.775e-5; here the
# decay starts at 1500 from 6e-5 (mmseg 1.x SegFormer style). The lr differs by at most 3.75%
# around iteration 1500 and the difference shrinks linearly to 0 at 40000.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=40000),
]

# 40k iterations at batch size 2 on one GPU, validation every 4000 iterations (DAFormer).
train_cfg = dict(type='ExactResumeIterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
