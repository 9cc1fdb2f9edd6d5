# Target oracle of the toy RGB shift for ICCLD's network: the inter-coder latent-diffusion student
# (toy SD v1 stack), optimiser and 2000 iterations of source-only_iccld-sd-tiny_toy.py, trained
# WITH the toy Cityscapes train labels (which the adaptation never sees) instead of the toy GTA5
# source, and validated on toy Cityscapes val. It bounds what ICCLD can reach with this network;
# oracle_mitb0-tiny_toy.py is the same bound for the tiny DAFormer network.
_base_ = ['./source-only_iccld-sd-tiny_toy.py']
train_dataloader = dict(
    dataset=dict(
        source=dict(
            _delete_=True,
            type='CityscapesDataset',
            data_root=_base_.toy_cityscapes_root,
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=_base_.train_pipeline),
        rare_class_sampling=None))  # RCS statistics exist for the GTA5 source only
