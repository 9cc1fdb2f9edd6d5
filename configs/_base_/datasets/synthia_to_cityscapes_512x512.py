# SYNTHIA -> Cityscapes UDA data at DAFormer's resolution (Hoyer et al., CVPR 2022; official
# configs/_base_/datasets/uda_synthia_to_cityscapes_512x512.py): the GTA5 config with the
# SYNTHIA-RAND-CITYSCAPES source. Run tools/dataset_converters/{synthia,cityscapes}.py first.
_base_ = ['./gta5_to_cityscapes_512x512.py']

synthia_root = 'data/synthia/'
synthia_train_pipeline = [
    dict(type='LoadImage'),
    # All 19 trainIds are trained (terrain, truck and train never occur in SYNTHIA).
    dict(type='LoadSegLabel', num_classes={{_base_.num_classes}}),
    # 1280x760 frames kept at 1280x760 as in DAFormer (aspect ratio kept).
    dict(type='Resize', scale=(1280, 760), keep_ratio=True),
    # cat_max_ratio=0.75 on the source only, as for GTA5 (DAFormer).
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        source=dict(
            _delete_=True,
            type='SynthiaDataset',
            data_root=synthia_root,
            data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
            pipeline=synthia_train_pipeline)))
# Papers report mIoU16 / mIoU13 for SYNTHIA (terrain, truck and train never occur in it; DAFormer
# issue #18, CBST): SubsetIoUMetric logs mIoU (19 classes), mIoU16 and mIoU13 from one confusion
# matrix, so the three can never be mixed up. 13 = the 16 without wall, fence and pole.
synthia_16_classes = [
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign',
    'vegetation', 'sky', 'person', 'rider', 'car', 'bus', 'motorcycle', 'bicycle'
]
val_evaluator = dict(
    type='SubsetIoUMetric',
    iou_metrics=['mIoU'],
    subsets=dict(
        mIoU16=synthia_16_classes,
        mIoU13=[c for c in synthia_16_classes if c not in ('wall', 'fence', 'pole')]))
test_evaluator = val_evaluator
