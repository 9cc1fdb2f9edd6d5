# DIFF, domain generalisation GTA5 (+ colour augmentation) -> Cityscapes: the released experiment
# (official configs/diff/gtaCAug2cs_dgdacs_srconly_rcs001_daformer_sepaspp_diff_poly10warm_s0.json,
# experiments.py --exp 50): source only (no teacher, no target), RCS, AdamW 6e-5 (head x10),
# wd 0.01, poly with 1500 warm-up iterations, 40k iterations at batch 1, grad clip 5, evaluation
# on Cityscapes val at 1024x512 every 4000 iterations. Test on BDD100K / Mapillary with the
# *test-bdd100k.py / *test-mapillary.py configs next to this one.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/diff_sd21.py',
    '../_base_/datasets/gta5_dg_512x512.py',
    '../_base_/uda/source_only.py',
    '../_base_/schedules/adamw_poly10warm_40k.py',
]
custom_imports = dict(imports=['mmseg_diffuda'], allow_failed_imports=False)
# Source-only trainer (DIFF's dacs_srconly): the student alone on the labelled source.
model = dict(_delete_=True, **_base_.uda, segmentor=_base_.model)
# DAFormer's optimiser; the official MiT-specific custom keys (pos_block, norm) match nothing in
# DIFF's aggregation/fusion, and its second x10 key names no parameter: only head x10 is kept.
optim_wrapper = dict(
    clip_grad=dict(max_norm=5.0, norm_type=2),  # DIFF's DACS clips the gradient norm at 5
    paramwise_cfg=dict(_delete_=True, custom_keys=dict(head=dict(lr_mult=10.0))))
train_dataloader = dict(num_workers=1)  # DIFF: workers_per_gpu=1
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=-1))
