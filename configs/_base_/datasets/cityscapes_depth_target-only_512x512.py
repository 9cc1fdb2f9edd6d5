# Source-free adaptation data (CrossMatch stage 2, Yin et al., ICCV 2023): the unlabelled
# Cityscapes train split with its stereo depth and NO source dataset (TargetOnlyDataset builds
# the target only). Resolution, crop and validation are DAFormer's (gta5_to_cityscapes_512x512.py,
# inherited for its val/test part; its gta_* variables are unused, no source dataset is built).
# Depth: Cityscapes' disparity_trainvaltest.zip and camera_trainvaltest.zip extracted into
# data/cityscapes/ (disparity/ and camera/ next to leftImg8bit/).
_base_ = ['./gta5_to_cityscapes_512x512.py']

cityscapes_depth_train_pipeline = [
    dict(type='LoadImage'),
    # Disparity + camera file -> metric depth (z = baseline * fx / d, d = (p - 1) / 256, p = 0
    # invalid), at the file's full resolution, before Resize.
    dict(type='LoadDepthFromFile'),
    # Target labels are not loaded: the adaptation never sees them.
    # 2048x1024 -> 1024x512 as DAFormer; the depth map follows (nearest neighbour).
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),  # crops image and depth alike
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),  # depth -> data_sample.gt_depth_map
]
train_dataloader = dict(
    # DAFormer's 2 target images per iteration (there are no source images any more).
    dataset=dict(
        _delete_=True,
        type='TargetOnlyDataset',
        target=dict(
            type='CityscapesDataset',
            data_root={{_base_.cityscapes_root}},
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=cityscapes_depth_train_pipeline)))
