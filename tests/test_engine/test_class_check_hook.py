"""ClassCheckHook: class-count mismatches stop the run before iteration 1, naming both values."""
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from mmseg_diffuda.datasets import RareClassSampler
from mmseg_diffuda.engine import ClassCheckHook, ClassMismatchError
from tests.toy_tree import make_toy_tree

REPO = Path(__file__).resolve().parents[2]
DAFORMER = REPO / 'configs/toy/daformer_mitb0-tiny_toy.py'
init_default_scope('mmseg')


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory) -> Path:
    return make_toy_tree(tmp_path_factory.mktemp('class_check') / 'toy')


def toy_cfg(toy_root: Path, config: Path = DAFORMER) -> Config:
    cfg = Config.fromfile(config)
    dataset = cfg.train_dataloader.dataset
    dataset.source.data_root = f'{toy_root}/gta/'
    dataset.target.data_root = f'{toy_root}/cityscapes/'
    return cfg


def check(cfg: Config) -> None:
    ClassCheckHook().check(MODELS.build(cfg.model), DATASETS.build(cfg.train_dataloader.dataset),
                           'train_dataloader')


def test_matching_classes_pass(toy_root):
    check(toy_cfg(toy_root))


@pytest.mark.parametrize('num_classes', [11, 25])
def test_decode_head_class_count(toy_root, num_classes):
    cfg = toy_cfg(toy_root)
    cfg.model.segmentor.decode_head.num_classes = num_classes
    with pytest.raises(ClassMismatchError) as error:
        check(cfg)
    message = str(error.value)
    assert f'model.segmentor.decode_head.num_classes={num_classes}' in message
    assert 'has 19 classes' in message and 'num_classes=19' in message


def test_palette_length(toy_root):
    """A dataset whose metainfo has fewer colours than classes (mmseg's BaseSegDataset refuses
    that itself at build time; datasets of other bases do not)."""
    cfg = toy_cfg(toy_root)
    source = DATASETS.build(cfg.train_dataloader.dataset.source)
    metainfo = dict(classes=source.metainfo['classes'], palette=source.metainfo['palette'][:18])
    dataset = SimpleNamespace(metainfo=metainfo, pipeline=None)
    with pytest.raises(ClassMismatchError, match='19 classes but 18 palette colours.*palette=') \
            as error:
        ClassCheckHook().check(MODELS.build(cfg.model), dataset, 'val_dataloader')
    assert str(error.value).startswith('val_dataloader SimpleNamespace')


def test_load_seg_label_class_count(toy_root):
    cfg = toy_cfg(toy_root)
    pipeline = cfg.train_dataloader.dataset.source.pipeline
    next(t for t in pipeline if t['type'] == 'LoadSegLabel')['num_classes'] = 11
    with pytest.raises(ClassMismatchError, match='LoadSegLabel has num_classes=11 but the '
                       'dataset has 19 classes'):
        check(cfg)


def test_text_prompt_class_names(toy_root):
    cfg = toy_cfg(toy_root, REPO / 'configs/toy/lcmsm_mitb0-tiny_toy.py')
    check(cfg)  # None = the 19 Cityscapes classes, in label order
    source = DATASETS.build(cfg.train_dataloader.dataset.source)
    names = list(source.metainfo['classes'])
    names[0], names[1] = names[1], names[0]  # right count, wrong order
    cfg.model.segmentor.language_head.text_encoder.class_names = names
    with pytest.raises(ClassMismatchError) as error:
        check(cfg)
    assert 'model.segmentor.language_head.text_encoder.class_names' in str(error.value)
    assert "('sidewalk', 'road'" in str(error.value)


def test_class_prompt_ids_beyond_the_classes(toy_root):
    """DIFF's class prompts name class ids; one beyond the dataset's classes is refused."""
    cfg = toy_cfg(toy_root)
    model = MODELS.build(cfg.model)
    prompts = torch.nn.Module()
    prompts.class_ids = [1, 3, 25]  # what DiffusionFeatureBackbone keeps of class_prompts
    model.student.backbone.add_module('prompts', prompts)
    with pytest.raises(ClassMismatchError, match=r'model.segmentor.backbone.prompts.class_prompts '
                       r'name class ids \[1, 3, 25\] but the train_dataloader'):
        ClassCheckHook().check(model, DATASETS.build(cfg.train_dataloader.dataset),
                               'train_dataloader')


def test_label_ids_in_rcs_statistics_beyond_the_classes():
    stats = [{'file': 'a.png', '0': 100, '20': 100}]
    dataset = SimpleNamespace(rcs=RareClassSampler(stats, min_pixels=10), metainfo={})
    with pytest.raises(ClassMismatchError, match=r'hold label ids \[20\] but the dataset has '
                       '19 classes'):
        ClassCheckHook._check_rcs(dataset, tuple(str(i) for i in range(19)), 'train_dataloader')


def test_train_stops_before_the_first_iteration(toy_root, tmp_path):
    """End to end: tools/train.py exits with the message, without a traceback or an iteration."""
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(DAFORMER), '--work-dir', str(tmp_path),
         '--cfg-options', f'train_dataloader.dataset.source.data_root={toy_root}/gta/',
         f'train_dataloader.dataset.target.data_root={toy_root}/cityscapes/',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
         'model.segmentor.decode_head.num_classes=11'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'model.segmentor.decode_head.num_classes=11 but the train_dataloader' in result.stderr
    assert 'Traceback' not in result.stderr and 'Iter(train)' not in result.stdout + result.stderr
