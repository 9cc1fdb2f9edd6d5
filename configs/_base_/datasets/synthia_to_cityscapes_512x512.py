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
# Papers report mIoU16 / mIoU13 for SYNTHIA (terrain, truck, train never occur). The plain
# 19-class IoUMetric is kept here until the SubsetIoUMetric of mmseg_diffuda.evaluation
# (mIoU19/16/13 from one confusion matrix) is available; mIoU16 = mIoU19 * 19 / 16 meanwhile.
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
