# Probe of the toy RGB -> depth shift: the tiny DAFormer network (toy-pretrained MiT, the shared
# toy schedule) trained WITH the toy DELIVER depth train labels and validated on toy DELIVER depth
# test, 11 MADM classes. Next to oracle_madm-tiny_toy-depth.py (MADM's tiny SD network on the
# same data) it tells whether the toy depth data or the tiny SD network bounds the toy MADM
# results (docs/toy_data.md#the-toy-recipe).
_base_ = ['./oracle_mitb0-tiny_toy.py']
depth_root = 'data/toy/deliver/'
num_classes = 11  # MADM's depth classes (toy_cityscapes_to_deliver_depth.py)
model = dict(segmentor=dict(decode_head=dict(num_classes=num_classes)))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='DeliverDepthDataset',
        data_root=depth_root,
        split='train',
        data_prefix=dict(img_path='depth', seg_map_path='semantic'),
        pipeline=[
            dict(type='LoadModalityImage'),  # single-channel depth repeated to 3 channels
            dict(type='LoadSegLabel', num_classes=num_classes),
            dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='DeliverDepthDataset',
        data_root=depth_root,
        split='test',
        data_prefix=dict(img_path='depth', seg_map_path='semantic'),
        pipeline=[
            dict(type='LoadImageFromFile', color_type='unchanged', imdecode_backend='cv2'),
            dict(type='ToThreeChannels'),
            dict(type='LoadSegLabel', num_classes=num_classes),
            dict(type='PackSegInputs'),
        ]))
test_dataloader = val_dataloader
