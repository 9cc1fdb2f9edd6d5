"""A small converted toy tree shared by the fault tests (copied before a test damages it)."""
import shutil
from pathlib import Path

import pytest

from tests.toy_tree import make_toy_tree


@pytest.fixture(scope='session')
def pristine_toy(tmp_path_factory) -> Path:
    return make_toy_tree(tmp_path_factory.mktemp('reliability') / 'toy')


@pytest.fixture
def toy(pristine_toy, tmp_path) -> Path:
    """A private copy of the toy tree that a test may damage."""
    copy = tmp_path / 'toy'
    shutil.copytree(pristine_toy, copy)
    return copy
