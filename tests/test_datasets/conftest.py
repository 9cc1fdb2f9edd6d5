"""Fixtures: tiny converted dataset trees (see :mod:`.data_trees`)."""
from pathlib import Path

import pytest
from mmengine.registry import init_default_scope

import mmseg_diffuda  # noqa: F401  (registers the datasets and transforms)
from .data_trees import load_converter, make_cityscapes_tree, make_gta5_tree


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build pipelines from mmseg's registries, as configs with default_scope='mmseg' do."""
    init_default_scope('mmseg')


@pytest.fixture
def gta5_root(tmp_path) -> Path:
    """An unconverted GTA5 tree."""
    return make_gta5_tree(tmp_path / 'gta')


@pytest.fixture
def converted_gta5_root(gta5_root) -> Path:
    load_converter('gta5').main([str(gta5_root), '--nproc', '1'])
    return gta5_root


@pytest.fixture
def converted_cityscapes_root(tmp_path) -> Path:
    root = make_cityscapes_tree(tmp_path / 'cityscapes')
    load_converter('cityscapes').main([str(root), '--nproc', '1'])
    return root
