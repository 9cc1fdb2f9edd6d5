# Toy source-free adaptation data (CrossMatch stage 2): the toy Cityscapes train split with the
# disparity/ and camera/ files the toy generator writes, and NO source dataset. Validation on toy
# Cityscapes val as toy_source.py (inherited for its val/test part; its toy_gta_root and source
# train_pipeline are unused). No Resize: the toy tree is written at training resolution.
_base_ = ['./toy_source.py']

toy_depth_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadDepthFromFile'),  # disparity + camera -> metric depth, 0 = invalid
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),  # no labels, so no cat_max_ratio
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='TargetOnlyDataset',
        target=dict(
            type='CityscapesDataset',
            data_root={{_base_.toy_cityscapes_root}},
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=toy_depth_train_pipeline)))
