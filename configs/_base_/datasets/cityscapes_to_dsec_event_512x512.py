# Cityscapes RGB -> DSEC event modality adaptation data as in MADM (Xia et al., NeurIPS 2024;
# official config_files/common/data/cityscapes_rgb_to_dsec_event_semseg.py): the DELIVER depth
# config (same source, same 11 classes) with the DSEC event-edge target. The edges are the
# pre-rendered images of the MADM README; the DSEC-Semantic 11-class test labels are used as
# downloaded (no converter). Run tools/dataset_converters/cityscapes.py first.
_base_ = ['./cityscapes_to_deliver_depth_512x512.py']

dsec_root = 'data/dsec/'
dsec_train_pipeline = [
    dict(type='LoadModalityImage'),  # edge images; single-channel ones repeated to 3 (MADM)
    # 640x440 -> 768x512 (MADM target_resize_h_w=[512, 768]).
    dict(type='Resize', scale=(768, 512), keep_ratio=False, backend='pillow'),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        target=dict(
            _delete_=True,
            type='DSECEventDataset',
            data_root=dsec_root,
            # MADM's 4,037 training edge images; pass MADM's list as ann_file if the folder holds
            # more frames (docs/datasets_modality.md). Unlabelled.
            data_prefix=dict(img_path='69mask_train_edges'),
            pipeline=dsec_train_pipeline)))
val_dataloader = dict(
    # DSEC-Semantic test: 2,806 frames of zurich_city_13_a, 14_c, 15_a; the base's 512x512
    # evaluation protocol (test_pipeline) as in MADM.
    dataset=dict(
        _delete_=True,
        type='DSECEventDataset',
        data_root=dsec_root,
        data_prefix=dict(img_path='69mask_test_edges', seg_map_path='test_semantic_labels'),
        label_subdir='11classes',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
