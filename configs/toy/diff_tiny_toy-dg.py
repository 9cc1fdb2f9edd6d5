# DIFF on the toy data, domain generalisation: the tiny SD 2.x-layout stack pretrained on the toy corpus (configs/_base_/models/
# diff_tiny.py: 5-step DDIM inversion, aggregation + fusion, conditional pass + MSE) trained on
# the toy GTA5 tree only, with DIFF's colour augmentation and RCS, source-only trainer and grad
# clip 5 as configs/diff/diff_sd21_daformer_gta2cs-dg-512x512.py; validated on toy Cityscapes
# val. Data: tools/make_toy_data.py --out data/toy + the gta5/cityscapes converters.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/diff_tiny.py',
    '../_base_/datasets/toy_source.py',
    '../_base_/schedules/toy_adamw_poly_2k.py',  # DAFormer's optimiser shape, scaled to the toy
    '../_base_/uda/source_only.py',
]
model = dict(_delete_=True, **_base_.uda, segmentor=_base_.model)
toy_dg_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegLabel', num_classes={{_base_.num_classes}}),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),  # DIFF's "CAug"
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        _delete_=True,
        type='UDADataset',  # source only, with RCS (DIFF's DGDataset)
        source=dict(
            type='GTA5Dataset',
            data_root={{_base_.toy_gta_root}},
            data_prefix=dict(img_path='images', seg_map_path='labels'),
            pipeline=toy_dg_pipeline),
        # min_pixels scaled to the toy label area as in toy_gta5_to_cityscapes.py.
        rare_class_sampling=dict(class_temp=0.01, min_pixels=27, min_crop_ratio=0.5)))
optim_wrapper = dict(
    clip_grad=dict(max_norm=5.0, norm_type=2),  # DIFF's grad clip
    paramwise_cfg=dict(_delete_=True, custom_keys=dict(head=dict(lr_mult=10.0))))
default_hooks = dict(logger=dict(interval=10))  # short runs: log often
