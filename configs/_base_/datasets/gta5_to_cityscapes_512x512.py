# GTA5 -> Cityscapes UDA data at DAFormer's resolution (Hoyer et al., CVPR 2022; official
# configs/_base_/datasets/uda_gta_to_cityscapes_512x512.py), in MMSeg 1.x syntax. Normalisation,
# BGR->RGB and padding to the crop live in the model's SegDataPreProcessor, so the pipelines end
# with PackSegInputs. Run tools/dataset_converters/{gta5,cityscapes}.py first.
num_classes = 19  # the 19 Cityscapes evaluation classes (GTA5 labels are Cityscapes ids)
crop_size = (512, 512)  # DAFormer trains on 512x512 crops
gta_root = 'data/gta/'
cityscapes_root = 'data/cityscapes/'

gta_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegLabel', num_classes=num_classes),
    # 1914x1052 frames downscaled to 1280x720 as in DAFormer (aspect ratio kept).
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    # cat_max_ratio=0.75 re-draws crops dominated by one class; DAFormer uses it on the source
    # only (the target has no labels to test it on).
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    # No PhotoMetricDistortion: DAFormer leaves it out (colour jitter is DACS's strong
    # augmentation of the mixed image).
    dict(type='PackSegInputs'),
]
cityscapes_train_pipeline = [
    dict(type='LoadImage'),
    # Target labels are not loaded: the adaptation never sees them.
    # 2048x1024 frames downscaled to 1024x512 as in DAFormer.
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),  # mmcv's loader: MMSegInferencer finds it by name
    # DAFormer tests the whole image at 1024x512 and upsamples the logits to 2048x1024.
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    # Loaded after Resize, the label keeps full resolution: mIoU against the 2048x1024 GT.
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=2,  # DAFormer: samples_per_gpu=2 (2 source + 2 target images per iteration)
    num_workers=4,  # DAFormer: workers_per_gpu=4
    persistent_workers=True,
    # Iteration-based training; with RCS the index is ignored anyway.
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='UDADataset',
        source=dict(
            type='GTA5Dataset',
            data_root=gta_root,
            data_prefix=dict(img_path='images', seg_map_path='labels'),
            pipeline=gta_train_pipeline),
        target=dict(
            type='CityscapesDataset',
            data_root=cityscapes_root,
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=cityscapes_train_pipeline),
        # DAFormer Sec. 3.4: T=0.01; a class's candidate images hold > 3000 of its pixels
        # (full-resolution label); re-crop until the 512x512 crop holds > 3000 * 0.5 of them.
        rare_class_sampling=dict(class_temp=0.01, min_pixels=3000, min_crop_ratio=0.5)))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # The 500 Cityscapes val images, as in every GTA5->Cityscapes paper.
    dataset=dict(
        type='CityscapesDataset',
        data_root=cityscapes_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])  # 19-class mIoU (DAFormer)
test_evaluator = val_evaluator
