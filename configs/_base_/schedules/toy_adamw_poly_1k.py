# A short version of adamw_poly10warm_40k.py for the toy data: the same AdamW parameter groups and
# warm-up + poly shape, scaled to 1000 iterations so that a toy run takes minutes on a CPU.
optim_wrapper = dict(
    type='OptimWrapper',
    # 10x DAFormer's 6e-5, chosen when the toy MiT started from random weights; kept for the
    # toy-pretrained start, so pretrained and random-init runs share one recipe.
    optimizer=dict(type='AdamW', lr=6e-04, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys=dict(
            head=dict(lr_mult=10.0),
            pos_block=dict(decay_mult=0.0),
            norm=dict(decay_mult=0.0),
            # including MiT's stage-end LayerNorms, which mmseg 1.x names backbone.layers.<i>.2
            # (DAFormer's MiT: norm1..norm4, matched by 'norm')
            **{f'backbone.layers.{i}.2.': dict(decay_mult=0.0) for i in range(4)})))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=1000),
]

train_cfg = dict(type='ExactResumeIterBasedTrainLoop', max_iters=1000, val_interval=250)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
