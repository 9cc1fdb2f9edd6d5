# GTA5 (+ colour augmentation) source-only data for domain generalisation, evaluated on
# Cityscapes val; BDD100K val and Mapillary val as further unseen targets.
# DIFF (Ji et al., ICASSP 2025), official
# configs/_base_/datasets/uda_gtaCAug_to_cityscapes_512x512.py
# ("CAug" = PhotoMetricDistortion on the source) with DGDataset + RCS, in MMSeg 1.x syntax.
_base_ = ['./gta5_to_cityscapes_512x512.py']
num_classes = 19
crop_size = (512, 512)
bdd100k_root = 'data/bdd100k/'
mapillary_root = 'data/mapillary/'

gta_dg_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),  # DIFF's "CAug": the only randomisation of DG
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=1,  # DIFF: samples_per_gpu=1
    dataset=dict(
        _delete_=True,
        type='UDADataset',  # source only (no target): DIFF's DGDataset with RCS
        source=dict(
            type='GTA5Dataset',
            data_root={{_base_.gta_root}},
            data_prefix=dict(img_path='images', seg_map_path='labels'),
            pipeline=gta_dg_pipeline),
        rare_class_sampling=dict(class_temp=0.01, min_pixels=3000, min_crop_ratio=0.5)))

# Unseen targets for tools/test.py (see configs/diff/*test-*.py).
bdd100k_test_pipeline = [
    dict(type='LoadImageFromFile'),  # 1280x720 frames at full size (padded to 1280x768 for SD)
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='PackSegInputs'),
]
bdd100k_val = dict(
    type='BDD100KDataset',  # mmseg's: labels are already Cityscapes trainIds
    data_root=bdd100k_root,
    data_prefix=dict(img_path='images/10k/val', seg_map_path='labels/sem_seg/masks/val'),
    pipeline=bdd100k_test_pipeline)
mapillary_test_pipeline = [
    dict(type='LoadImageFromFile'),
    # Shorter side 512 (as the DG works evaluating Mapillary at Cityscapes scale); the
    # data preprocessor pads to a multiple of 64.
    dict(type='Resize', scale=(4096, 512), keep_ratio=True),
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='PackSegInputs'),
]
mapillary_val = dict(
    type='MapillaryDataset',  # v1.2 labels mapped to the 19 Cityscapes classes on load
    data_root=mapillary_root,
    pipeline=mapillary_test_pipeline)
