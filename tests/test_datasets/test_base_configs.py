"""configs/_base_/datasets/*.py: DAFormer values, and the datasets they build on tiny trees."""
import copy

import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS
from torch.utils.data import DataLoader

from .data_trees import REPO_ROOT, load_converter, make_cityscapes_tree, make_gta5_tree

CONFIG_DIR = REPO_ROOT / 'configs' / '_base_' / 'datasets'


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / f'{name}.py'))


def transforms(pipeline):
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


@pytest.fixture(scope='module')
def trees(tmp_path_factory):
    """96x192 converted GTA5 and Cityscapes trees (the hand-made 8x16 labels upscaled x12)."""
    root = tmp_path_factory.mktemp('trees')
    gta = make_gta5_tree(root / 'gta', factor=12)
    cityscapes = make_cityscapes_tree(root / 'cityscapes', factor=12)
    load_converter('gta5').main([str(gta), '--nproc', '1'])
    load_converter('cityscapes').main([str(cityscapes), '--nproc', '1'])
    return dict(gta=gta, cityscapes=cityscapes)


def test_gta5_to_cityscapes_follows_daformer():
    cfg = load('gta5_to_cityscapes_512x512')
    loader = cfg.train_dataloader
    assert loader.batch_size == 2 and loader.sampler.type == 'InfiniteSampler'
    assert loader.dataset.type == 'UDADataset'
    assert loader.dataset.rare_class_sampling == dict(class_temp=0.01, min_pixels=3000,
                                                      min_crop_ratio=0.5)
    source = transforms(loader.dataset.source.pipeline)
    target = transforms(loader.dataset.target.pipeline)
    assert loader.dataset.source.type == 'GTA5Dataset'
    assert source['Resize']['scale'] == (1280, 720)
    assert source['RandomCrop'] == dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75)
    assert source['LoadSegLabel']['num_classes'] == 19
    assert loader.dataset.target.type == 'CityscapesDataset'
    assert target['Resize']['scale'] == (1024, 512)
    assert 'cat_max_ratio' not in target['RandomCrop'] and 'LoadSegLabel' not in target
    for pipeline in (source, target):
        assert pipeline['RandomFlip']['prob'] == 0.5
        assert 'PhotoMetricDistortion' not in pipeline
    test = [step['type'] for step in cfg.test_pipeline]
    assert test == ['LoadImageFromFile', 'Resize', 'LoadSegLabel', 'PackSegInputs']  # full-res GT
    assert cfg.val_dataloader.dataset.data_prefix.img_path == 'leftImg8bit/val'
    assert cfg.val_evaluator == dict(type='IoUMetric', iou_metrics=['mIoU'])


def test_synthia_to_cityscapes_swaps_only_the_source():
    gta, synthia = load('gta5_to_cityscapes_512x512'), load('synthia_to_cityscapes_512x512')
    source = synthia.train_dataloader.dataset.source
    assert source.type == 'SynthiaDataset' and source.data_root == 'data/synthia/'
    assert transforms(source.pipeline)['Resize']['scale'] == (1280, 760)
    assert transforms(source.pipeline)['RandomCrop']['cat_max_ratio'] == 0.75
    assert synthia.train_dataloader.dataset.target == gta.train_dataloader.dataset.target
    assert synthia.train_dataloader.dataset.rare_class_sampling.min_pixels == 3000
    assert synthia.val_dataloader == gta.val_dataloader
    # SYNTHIA is reported as mIoU16 / mIoU13 (from one confusion matrix), GTA5 as mIoU19.
    evaluator = synthia.val_evaluator
    assert evaluator.type == 'SubsetIoUMetric'
    assert len(evaluator.subsets.mIoU16) == 16 and len(evaluator.subsets.mIoU13) == 13
    assert not {'terrain', 'truck', 'train'} & set(evaluator.subsets.mIoU16)
    assert set(evaluator.subsets.mIoU16) - set(evaluator.subsets.mIoU13) == {'wall', 'fence', 'pole'}


def test_real_uda_config_builds_on_tiny_trees(trees):
    cfg = load('gta5_to_cityscapes_512x512')
    dataset = build(cfg.train_dataloader.dataset, source=trees['gta'],
                    target=trees['cityscapes'])
    sample = dataset[0]
    assert sample['source']['inputs'].shape == (3, 512, 512)  # 96x192 -> 640x1280 -> crop
    assert sample['target']['inputs'].shape == (3, 512, 512)
    val = build(cfg.val_dataloader.dataset, root=trees['cityscapes'])[0]
    assert val['inputs'].shape == (3, 512, 1024)
    assert val['data_samples'].gt_sem_seg.shape == (96, 192)  # evaluated at full resolution


@pytest.mark.parametrize('name', ['toy_source', 'toy_gta5_to_cityscapes', 'toy_cityscapes_oracle'])
def test_toy_configs(name, trees):
    cfg = load(name)
    loader = cfg.train_dataloader
    assert (loader.batch_size, loader.num_workers) == (4, 2)
    assert cfg.crop_size == (64, 128)
    if name == 'toy_gta5_to_cityscapes':
        assert loader.dataset.rare_class_sampling == dict(class_temp=0.01, min_pixels=27,
                                                          min_crop_ratio=0.5)
        assert loader.dataset.source.data_root == 'data/toy/gta/'
        dataset = build(loader.dataset, source=trees['gta'], target=trees['cityscapes'])
        sample = dataset[0]
        assert sample['target']['inputs'].shape == (3, 64, 128)
        sample = sample['source']
    else:
        root = trees['gta'] if name == 'toy_source' else trees['cityscapes']
        sample = build(loader.dataset, root=root)[0]
    assert sample['inputs'].shape == (3, 64, 128)
    assert sample['data_samples'].gt_sem_seg.shape == (64, 128)
    assert cfg.val_dataloader.dataset.data_root == 'data/toy/cityscapes/'
    val = build(cfg.val_dataloader.dataset, root=trees['cityscapes'])[0]
    assert val['inputs'].shape == (3, 96, 192)


def test_toy_generator_tree_converts_and_trains(tmp_path):
    toy = pytest.importorskip('mmseg_diffuda.toy',
                              reason='the toy generator (mmseg_diffuda.toy) is not there yet')
    if not hasattr(toy, 'generate_toy_dataset'):
        pytest.skip('mmseg_diffuda.toy has no generate_toy_dataset yet')
    toy.generate_toy_dataset(tmp_path, num_source=8, num_target_train=4, num_target_val=2,
                             num_deliver_train=0, num_deliver_test=0)
    load_converter('gta5').main([str(tmp_path / 'gta'), '--nproc', '1'])
    load_converter('cityscapes').main([str(tmp_path / 'cityscapes'), '--nproc', '1'])
    cfg = load('toy_gta5_to_cityscapes')
    dataset = build(cfg.train_dataloader.dataset, source=tmp_path / 'gta',
                    target=tmp_path / 'cityscapes')
    assert len(dataset) == 8
    loader = DataLoader(dataset, batch_size=4, collate_fn=pseudo_collate)
    batch = next(iter(loader))
    assert [x.shape for x in batch['source']['inputs']] == [(3, 64, 128)] * 4
    assert [x.shape for x in batch['target']['inputs']] == [(3, 64, 128)] * 4
    val = build(cfg.val_dataloader.dataset, root=tmp_path / 'cityscapes')
    assert len(val) == 2 and val[0]['inputs'].shape == (3, 96, 192)
