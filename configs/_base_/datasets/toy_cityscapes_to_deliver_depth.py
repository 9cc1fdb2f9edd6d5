# Toy Cityscapes RGB -> DELIVER depth modality adaptation data: the structure of
# cityscapes_to_deliver_depth_512x512.py (MADM, Xia et al., NeurIPS 2024: UDADataset with rare
# class sampling on the source, MADM's 11 classes) on the toy trees. The toy generator
# (tools/make_toy_data.py --out data/toy) writes both trees at 96x192 (HxW), i.e. already at a
# training resolution, so the toy pipelines have no Resize and evaluation runs on the whole
# 96x192 image (MADM's 512x512 evaluation grid would upsample the toy 5x). Convert first:
# tools/dataset_converters/cityscapes.py data/toy/cityscapes and deliver.py data/toy/deliver.
num_classes = 11  # MADM's depth/event classes; the toy Cityscapes labels are merged into them
# Two thirds of each toy side, as the other toy configs.
crop_size = (64, 128)
toy_cityscapes_root = 'data/toy/cityscapes/'
toy_deliver_root = 'data/toy/deliver/'

source_train_pipeline = [
    dict(type='LoadImage'),
    # The dataset's label_map merges the 19 trainIds into the 11 classes while loading.
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='RandomCrop', crop_size=crop_size),  # plain random crop, as MADM
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
target_train_pipeline = [
    dict(type='LoadModalityImage'),  # single-channel toy depth repeated to 3 channels
    # Target labels are not loaded: the adaptation never sees them.
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='unchanged', imdecode_backend='cv2'),
    dict(type='ToThreeChannels'),  # as LoadModalityImage
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=4,  # small images: 4 per step keeps CPU iterations fast and BatchNorm sane
    num_workers=2,  # the CPU test machines have 2 cores
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),  # iteration-based training
    dataset=dict(
        type='UDADataset',
        source=dict(
            type='CityscapesMADM11Dataset',
            data_root=toy_cityscapes_root,
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=source_train_pipeline),
        target=dict(
            type='DeliverDepthDataset',
            data_root=toy_deliver_root,
            split='train',
            data_prefix=dict(img_path='depth'),  # unlabelled
            pipeline=target_train_pipeline),
        # T and min_crop_ratio as in MADM. min_pixels is scaled with the label area: 3000 px of
        # a 2048x1024 Cityscapes label is 0.143% of it, and 0.143% of a 96x192 toy label is
        # 26 px; 3000 would exclude every toy image (18,432 px in all). Classes are drawn by
        # the 19 trainIds of the statistics, before the merge into the 11 classes (MADM).
        rare_class_sampling=dict(
            class_temp=0.01, min_pixels=26, min_crop_ratio=0.5, original_class_stats=True)))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DeliverDepthDataset',
        data_root=toy_deliver_root,
        split='test',
        data_prefix=dict(img_path='depth', seg_map_path='semantic'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
