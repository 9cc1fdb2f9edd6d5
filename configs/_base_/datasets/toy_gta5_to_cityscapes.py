# Toy GTA5 -> Cityscapes UDA data: the real config's structure (UDADataset + rare class
# sampling, DAFormer, Hoyer et al., CVPR 2022) on the toy trees; validation as in toy_source.py.
_base_ = ['./toy_source.py']

target_train_pipeline = [
    dict(type='LoadImage'),
    # Target labels are not loaded: the adaptation never sees them.
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UDADataset',
        source=dict(
            type='GTA5Dataset',
            data_root={{_base_.toy_gta_root}},
            data_prefix=dict(img_path='images', seg_map_path='labels'),
            pipeline={{_base_.train_pipeline}}),
        target=dict(
            type='CityscapesDataset',
            data_root={{_base_.toy_cityscapes_root}},
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=target_train_pipeline),
        # T and min_crop_ratio as in DAFormer. min_pixels is scaled with the label area: 3000 px
        # of a 1914x1052 GTA5 label is 0.149% of it, and 0.149% of a 96x192 toy label is 27 px;
        # 3000 would exclude every toy image (18,432 px in all).
        rare_class_sampling=dict(class_temp=0.01, min_pixels=27, min_crop_ratio=0.5)))
