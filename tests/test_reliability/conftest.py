"""A small converted toy tree shared by the fault tests (copied before a test damages it)."""
import runpy
import shutil
from pathlib import Path

import pytest

from mmseg_diffuda.toy import generate_toy_dataset

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='session')
def pristine_toy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('reliability') / 'toy'
    generate_toy_dataset(root, num_source=3, num_target_train=2, num_target_val=1,
                         num_deliver_train=0, num_deliver_test=0, seed=0)
    for converter, tree in (('gta5.py', 'gta'), ('cityscapes.py', 'cityscapes')):
        script = REPO / 'tools' / 'dataset_converters' / converter
        runpy.run_path(str(script), run_name='converter')['main']([str(root / tree), '--nproc',
                                                                   '1'])
    return root


@pytest.fixture
def toy(pristine_toy, tmp_path) -> Path:
    """A private copy of the toy tree that a test may damage."""
    copy = tmp_path / 'toy'
    shutil.copytree(pristine_toy, copy)
    return copy
