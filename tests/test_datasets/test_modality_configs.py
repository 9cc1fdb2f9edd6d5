"""configs/_base_/datasets/cityscapes_to_*: MADM's values, and the datasets they build."""
import copy

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS
from torch.utils.data import DataLoader

from .data_trees import REPO_ROOT, load_converter
from .modality_trees import (make_cityscapes_train_ids_tree, make_deliver_tree, make_dsec_tree,
                             make_fmb_tree)

CONFIG_DIR = REPO_ROOT / 'configs' / '_base_' / 'datasets'
REAL = {  # config -> (target type, classes, target resize (w, h), source type)
    'cityscapes_to_deliver_depth_512x512': ('DeliverDepthDataset', 11, (712, 712),
                                            'CityscapesMADM11Dataset'),
    'cityscapes_to_fmb_infrared_512x512': ('FMBInfraredDataset', 9, (683, 512),
                                           'CityscapesMADM9Dataset'),
    'cityscapes_to_dsec_event_512x512': ('DSECEventDataset', 11, (768, 512),
                                         'CityscapesMADM11Dataset'),
}


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / f'{name}.py'))


def steps(pipeline):
    return {step['type']: step for step in pipeline}


def build(dataset_cfg: dict, **roots):
    """Build a dataset config with its data roots replaced (keys: source, target, or root)."""
    cfg = copy.deepcopy(dataset_cfg)
    if 'root' in roots:
        cfg.update(data_root=str(roots['root']), serialize_data=False)
    for domain in ('source', 'target'):
        if domain in roots:
            cfg[domain].update(data_root=str(roots[domain]), serialize_data=False)
    return DATASETS.build(cfg)


@pytest.mark.parametrize('name', list(REAL))
def test_real_configs_follow_madm(name):
    target_type, num_classes, target_resize, source_type = REAL[name]
    cfg = load(name)
    loader = cfg.train_dataloader
    assert loader.batch_size == 2 and loader.sampler.type == 'InfiniteSampler'
    assert loader.dataset.type == 'UDADataset'
    # MADM draws RCS classes by the 19 trainIds, before the merge.
    assert loader.dataset.rare_class_sampling == dict(class_temp=0.01, min_pixels=3000,
                                                      min_crop_ratio=0.5,
                                                      original_class_stats=True)
    source, target = loader.dataset.source, loader.dataset.target
    assert source.type == source_type and target.type == target_type
    assert 'seg_map_path' not in target.data_prefix  # the target is unlabelled
    source_steps, target_steps = steps(source.pipeline), steps(target.pipeline)
    assert source_steps['LoadSegLabel']['num_classes'] == num_classes
    assert source_steps['Resize'] == dict(type='Resize', scale=(1024, 512), keep_ratio=False,
                                          backend='pillow')
    assert target_steps['Resize'] == dict(type='Resize', scale=target_resize, keep_ratio=False,
                                          backend='pillow')
    assert target_steps['LoadModalityImage'] and 'LoadSegLabel' not in target_steps
    for pipeline in (source_steps, target_steps):
        assert pipeline['RandomCrop'] == dict(type='RandomCrop', crop_size=(512, 512))
        assert pipeline['RandomFlip']['prob'] == 0.5
    for split in ('val_dataloader', 'test_dataloader'):
        dataset = cfg[split].dataset
        assert dataset.type == target_type
        assert [step['type'] for step in dataset.pipeline] == [
            'LoadImageFromFile', 'ToThreeChannels', 'LoadSegLabel', 'ResizeForEvaluation',
            'PackSegInputs']
        assert steps(dataset.pipeline)['LoadImageFromFile']['color_type'] == 'unchanged'
        assert steps(dataset.pipeline)['ResizeForEvaluation']['scale'] == (512, 512)
        assert steps(dataset.pipeline)['LoadSegLabel']['num_classes'] == num_classes
    assert [step['type'] for step in cfg.native_resolution_test_pipeline] == [
        'LoadImageFromFile', 'ToThreeChannels', 'Resize', 'LoadSegLabel', 'PackSegInputs']


def test_real_split_choices():
    deliver, fmb, dsec = (load(name) for name in REAL)
    assert deliver.train_dataloader.dataset.target.split == 'train'
    assert deliver.val_dataloader.dataset.split == 'test'
    assert 'conditions' not in deliver.val_dataloader.dataset  # all five conditions
    assert fmb.train_dataloader.dataset.target.data_prefix.img_path == 'train/Infrared'
    assert fmb.val_dataloader.dataset.data_prefix == dict(img_path='test/Infrared',
                                                          seg_map_path='test/Label')
    assert dsec.train_dataloader.dataset.target.data_prefix == dict(
        img_path='69mask_train_edges')
    assert dsec.val_dataloader.dataset.label_subdir == '11classes'
    assert dsec.train_dataloader.dataset.source == deliver.train_dataloader.dataset.source


@pytest.fixture(scope='module')
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp('modality')
    deliver = make_deliver_tree(root / 'deliver', frames=dict(train=1, test=1))
    fmb = make_fmb_tree(root / 'fmb')
    load_converter('deliver').main([str(deliver), '--nproc', '1'])
    load_converter('fmb').main([str(fmb), '--nproc', '1'])
    cityscapes = make_cityscapes_train_ids_tree(root / 'cityscapes', shape=(16, 32),
                                                train_ids=np.full((16, 32), 13, np.uint8))
    # One source file with 512 car pixels (trainId 13), as the Cityscapes converter counts.
    (cityscapes / 'sample_class_stats.json').write_text(
        '[{"file": "gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png", '
        '"13": 512}]')
    return dict(deliver=deliver, fmb=fmb, dsec=make_dsec_tree(root / 'dsec'),
                cityscapes=cityscapes)


@pytest.mark.parametrize('name, target', [('cityscapes_to_deliver_depth_512x512', 'deliver'),
                                          ('cityscapes_to_fmb_infrared_512x512', 'fmb'),
                                          ('cityscapes_to_dsec_event_512x512', 'dsec')])
def test_real_configs_build_on_tiny_trees(trees, name, target):
    cfg = load(name)
    train = cfg.train_dataloader.dataset
    train.rare_class_sampling.min_pixels = 100  # the tiny source label has 512 pixels
    dataset = build(train, source=trees['cityscapes'], target=trees[target])
    sample = dataset[0]
    assert sample['source']['inputs'].shape == (3, 512, 512)
    assert sample['target']['inputs'].shape == (3, 512, 512)
    car = 8 if cfg.num_classes == 11 else 7  # trainId 13 (car) in the MADM class set
    assert (sample['source']['data_samples'].gt_sem_seg.data == car).all()
    val = build(cfg.val_dataloader.dataset, root=trees[target])[0]
    assert val['inputs'].shape == (3, 512, 512)
    assert val['data_samples'].gt_sem_seg.shape == (512, 512)  # MADM's evaluation grid
    assert val['data_samples'].ori_shape == (512, 512)


def test_toy_config_follows_the_other_toy_configs():
    cfg = load('toy_cityscapes_to_deliver_depth')
    loader = cfg.train_dataloader
    assert (loader.batch_size, loader.num_workers) == (4, 2) and cfg.crop_size == (64, 128)
    assert loader.dataset.source.data_root == 'data/toy/cityscapes/'
    assert loader.dataset.source.type == 'CityscapesMADM11Dataset'
    assert loader.dataset.target.data_root == 'data/toy/deliver/'
    assert loader.dataset.target.data_prefix == dict(img_path='depth')
    # 3000 px of a 2048x1024 label, scaled to a 96x192 label.
    assert loader.dataset.rare_class_sampling == dict(class_temp=0.01, min_pixels=26,
                                                      min_crop_ratio=0.5,
                                                      original_class_stats=True)
    assert cfg.val_dataloader.dataset.split == 'test'
    assert 'Resize' not in steps(cfg.test_pipeline)


def test_toy_rgb_to_depth_config_builds_a_batch(tmp_path):
    toy = pytest.importorskip('mmseg_diffuda.toy')
    toy.generate_toy_dataset(tmp_path, num_source=1, num_target_train=4, num_target_val=0,
                             num_deliver_train=5, num_deliver_test=5)  # one frame per condition
    load_converter('cityscapes').main([str(tmp_path / 'cityscapes'), '--nproc', '1'])
    load_converter('deliver').main([str(tmp_path / 'deliver'), '--nproc', '1'])
    cfg = load('toy_cityscapes_to_deliver_depth')
    dataset = build(cfg.train_dataloader.dataset, source=tmp_path / 'cityscapes',
                    target=tmp_path / 'deliver')
    assert len(dataset) == 4 and len(dataset.target) == 5
    batch = next(iter(DataLoader(dataset, batch_size=2, collate_fn=pseudo_collate)))
    assert [x.shape for x in batch['source']['inputs']] == [(3, 64, 128)] * 2
    assert [x.shape for x in batch['target']['inputs']] == [(3, 64, 128)] * 2
    for sample in batch['source']['data_samples']:
        ids = set(np.unique(sample.gt_sem_seg.data.numpy()).tolist())
        assert ids <= set(range(11)) | {255}
    val = build(cfg.val_dataloader.dataset, root=tmp_path / 'deliver')
    assert len(val) == 5 and val[0]['inputs'].shape == (3, 96, 192)
    assert_toy_labels_match_the_scene(toy, val)


def assert_toy_labels_match_the_scene(toy, val):
    """Cityscapes ids -> DELIVER file (toy writer) -> MADM ids (converter) equals the direct
    Cityscapes -> MADM merge of the same scene."""
    from cityscapesscripts.helpers.labels import id2label

    from mmseg_diffuda.datasets.modality.classes import (MADM_DEPTH_EVENT_CLASSES,
                                                         cityscapes_label_map)
    to_madm = cityscapes_label_map(MADM_DEPTH_EVENT_CLASSES)
    lut = np.full(256, 255, np.uint8)
    for label_id, label in id2label.items():
        if 0 <= label_id < 256 and 0 <= label.trainId < 19:
            lut[label_id] = to_madm[label.trainId]
    for index in range(len(val)):
        scene = toy.sample_toy_scene(toy.Tree.DELIVER, 'test', index)
        frame = toy.deliver_location(index)[2]
        sample = next(val[i] for i in range(len(val))
                      if val.get_data_info(i)['img_path'].endswith(f'{frame}_depth_front.png'))
        np.testing.assert_array_equal(sample['data_samples'].gt_sem_seg.data[0].numpy(),
                                      lut[scene.label])
