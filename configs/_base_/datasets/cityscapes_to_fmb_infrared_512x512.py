# Cityscapes RGB -> FMB infrared modality adaptation data as in MADM (Xia et al., NeurIPS 2024;
# official config_files/common/data/cityscapes_rgb_to_fmb_9_infrared_semseg.py and
# data/dataset/cross_modality_dataset.py), in MMSeg 1.x syntax, on MADM's 9 infrared classes.
# Run tools/dataset_converters/{cityscapes,fmb}.py first (docs/datasets_modality.md).
# MADM resizes with PIL: backend='pillow' gives the same antialiased bilinear image resize and the
# same nearest-neighbour label sampling.
num_classes = 9  # sky, building, person, pole, road, sidewalk, vegetation, car, traffic sign
crop_size = (512, 512)  # MADM trains on 512x512 crops of source and target
cityscapes_root = 'data/cityscapes/'
fmb_root = 'data/fmb/'

cityscapes_train_pipeline = [
    dict(type='LoadImage'),
    # The dataset's label_map merges the 19 trainIds into the 9 classes (wall, fence -> 255).
    dict(type='LoadSegLabel', num_classes=num_classes),
    # 2048x1024 -> 1024x512 (MADM source_resize_h_w=[512, 1024]).
    dict(type='Resize', scale=(1024, 512), keep_ratio=False, backend='pillow'),
    # Plain random crop: MADM has no cat_max_ratio re-drawing.
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
fmb_train_pipeline = [
    dict(type='LoadModalityImage'),  # single-channel infrared repeated to 3 channels (MADM)
    # Target labels are not loaded: the adaptation never sees them.
    # 800x600 -> 683x512 (MADM target_resize_h_w=[512, 683]).
    dict(type='Resize', scale=(683, 512), keep_ratio=False, backend='pillow'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# MADM's protocol: image (bilinear) and label (nearest) resized to 512x512, mIoU on that grid.
# The label is loaded BEFORE the resize so that it is resized with the image (with mmseg's
# usual order, Resize then LoadSegLabel, the label keeps its full resolution);
# ResizeForEvaluation also sets ori_shape to 512x512 so the logits are compared there.
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='unchanged', imdecode_backend='cv2'),
    dict(type='ToThreeChannels'),  # as LoadModalityImage
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='ResizeForEvaluation', scale=(512, 512), backend='pillow'),
    dict(type='PackSegInputs'),
]
# Alternative: predict on the same 512x512 input but score against the native 800x600 label
# (logits upsampled to the label). A derived config selects it by setting the val/test
# dataset's pipeline to this base variable.
native_resolution_test_pipeline = [
    dict(type='LoadImageFromFile', color_type='unchanged', imdecode_backend='cv2'),
    dict(type='ToThreeChannels'),  # as LoadModalityImage
    dict(type='Resize', scale=(512, 512), keep_ratio=False, backend='pillow'),
    dict(type='LoadSegLabel', num_classes=num_classes),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    # MADM: --bs 2 over 2 GPUs, i.e. 2 source + 2 target images per iteration, as here on one
    # device (BatchNorm statistics then see 2 images instead of 1 per GPU).
    batch_size=2,
    num_workers=4,  # MADM: num_workers=4
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='UDADataset',
        source=dict(
            type='CityscapesMADM9Dataset',
            data_root=cityscapes_root,
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=cityscapes_train_pipeline),
        target=dict(
            type='FMBInfraredDataset',
            data_root=fmb_root,
            data_prefix=dict(img_path='train/Infrared'),  # 1,220 images, unlabelled
            pipeline=fmb_train_pipeline),
        # MADM (DAFormer's RCS on the source): T=0.01, candidate images hold > 3000 pixels of
        # the class in the full-resolution label, re-crop until the crop holds > 1500.
        # Classes are drawn by the 19 trainIds of the statistics, before the merge (MADM).
        rare_class_sampling=dict(
            class_temp=0.01, min_pixels=3000, min_crop_ratio=0.5, original_class_stats=True)))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # FMB test: 280 images (MADM's test split).
    dataset=dict(
        type='FMBInfraredDataset',
        data_root=fmb_root,
        data_prefix=dict(img_path='test/Infrared', seg_map_path='test/Label'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])  # 9-class mIoU (MADM)
test_evaluator = val_evaluator
