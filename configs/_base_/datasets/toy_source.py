# Toy source-only data: train on the toy GTA5 tree alone, validate/test on toy Cityscapes val.
# The toy tree (tools/make_toy_data.py --out data/toy, then tools/dataset_converters/gta5.py
# data/toy/gta and cityscapes.py data/toy/cityscapes) is written at 96x192 (HxW), i.e. already
# at a training resolution: DAFormer's downscaling Resize is folded into the generator, so the
# toy pipelines have no Resize and evaluation runs on the whole 96x192 image.
num_classes = 19  # the 19 Cityscapes classes, as in the real benchmark
# Two thirds of each toy side, close to DAFormer's 512x512 crop of a 720x1280 GTA5 frame.
crop_size = (64, 128)
toy_gta_root = 'data/toy/gta/'
toy_cityscapes_root = 'data/toy/cityscapes/'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),  # source only (DAFormer)
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),  # mmcv's loader: MMSegInferencer finds it by name
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=4,  # small images: 4 per step keeps CPU iterations fast and BatchNorm sane
    num_workers=2,  # the CPU test machines have 2 cores
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),  # iteration-based training
    dataset=dict(
        type='GTA5Dataset',
        data_root=toy_gta_root,
        data_prefix=dict(img_path='images', seg_map_path='labels'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CityscapesDataset',
        data_root=toy_cityscapes_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
