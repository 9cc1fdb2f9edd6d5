# Target oracle of the toy RGB -> depth shift: the network, optimiser and 600 iterations of
# source-only_madm-tiny_toy-rgb2depth.py, trained WITH the toy DELIVER depth train labels (which
# the adaptation never sees) instead of the RGB source, and validated on toy DELIVER depth test.
# It bounds what MADM can reach on the toy with this network.
_base_ = ['./source-only_madm-tiny_toy-rgb2depth.py']
train_dataloader = dict(
    dataset=dict(
        source=dict(
            _delete_=True,
            type='DeliverDepthDataset',
            data_root={{_base_.toy_deliver_root}},
            split='train',
            data_prefix=dict(img_path='depth', seg_map_path='semantic'),
            pipeline=[
                dict(type='LoadModalityImage'),
                dict(type='LoadSegLabel', num_classes={{_base_.num_classes}}),
                dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackSegInputs'),
            ]),
        rare_class_sampling=None))  # RCS statistics exist for the RGB source only
