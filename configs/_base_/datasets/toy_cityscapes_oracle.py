# Toy target oracle: supervised training on toy Cityscapes train with its labels (the upper
# bound UDA papers report next to the source-only lower bound); validation as in toy_source.py.
_base_ = ['./toy_source.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CityscapesDataset',
        data_root={{_base_.toy_cityscapes_root}},
        data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline={{_base_.train_pipeline}}))
