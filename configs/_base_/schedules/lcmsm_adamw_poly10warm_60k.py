# LC-MSM's schedule (Kim et al., Pattern Recognition 2024; official
# configs/daformer/gta2cs_uda_lc_msm.py): DAFormer's AdamW + poly10warm, run for 60k iterations
# (the official runner; the experiment name says 40k), evaluated every 2000.
_base_ = ['./adamw_poly10warm_40k.py']
# The text projection trains at the base lr: officially it is outside the segmentor, so no
# "head" key matched it. The longest matching key wins, so this one beats "head".
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(text_projection=dict(lr_mult=1.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=60000),
]
train_cfg = dict(max_iters=60000, val_interval=2000)
