# The labelled toy DELIVER depth splits as plain dataset dicts (no dataloader), for the depth
# oracles: configs/toy/oracle_madm-tiny_toy-depth.py (MADM's tiny SD network) and
# oracle_mitb0-tiny_toy-depth.py (the tiny DAFormer network) train on the depth labels that the
# adaptation never sees. The names are unique, so this file can be a second base of any config.
toy_deliver_depth_classes = 11  # MADM's depth classes (toy_cityscapes_to_deliver_depth.py)
toy_deliver_depth_train = dict(
    type='DeliverDepthDataset',
    data_root='data/toy/deliver/',
    split='train',
    data_prefix=dict(img_path='depth', seg_map_path='semantic'),
    pipeline=[
        dict(type='LoadModalityImage'),  # single-channel depth repeated to 3 channels
        dict(type='LoadSegLabel', num_classes=toy_deliver_depth_classes),
        dict(type='RandomCrop', crop_size=(64, 128)),  # the toy crop of the other toy configs
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs'),
    ])
toy_deliver_depth_test = dict(
    toy_deliver_depth_train,  # the same tree and label layout, the test split, no augmentation
    split='test',
    pipeline=[
        dict(type='LoadImageFromFile', color_type='unchanged', imdecode_backend='cv2'),
        dict(type='ToThreeChannels'),  # as LoadModalityImage
        dict(type='LoadSegLabel', num_classes=toy_deliver_depth_classes),
        dict(type='PackSegInputs'),
    ])
