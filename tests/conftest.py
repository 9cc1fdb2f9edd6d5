"""Session fixtures shared by the whole suite.

The toy configs load the toy foundation models from ``data/toy_models`` (made by
``tools/pretrain_toy_models.py``, about 15 minutes). Where they are missing, the suite makes
*smoke* versions (same architectures, same files and formats, a few optimisation steps on a few
corpus images) in a temporary cache and links them there for the session, so every toy config
builds and trains through its real loading path; links it made are removed afterwards. Tests
that check what pretraining achieves do not use these (see benchmarks/toy_models_probe.py).
"""
import copy
import os
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def smoke_schedules() -> dict:
    """The recipe's schedules cut to a few steps on 2 images per style."""
    from mmseg_diffuda.toy.pretrain.recipe import DEFAULT_SCHEDULES
    schedules = copy.deepcopy(DEFAULT_SCHEDULES)
    schedules['corpus']['per_style'] = 2
    for name in ('mit', 'clip'):
        schedules[name].update(steps=2, batch_size=4)
    for name in ('sd', 'sd2'):
        schedules[name].update(vae_steps=2, vae_batch_size=2, unet_steps=2, unet_batch_size=4)
    return schedules


def toy_architectures() -> dict:
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        from pretrain_toy_models import toy_architectures as archs
    finally:
        sys.path.pop(0)
    return archs(ROOT)


@pytest.fixture(scope='session', autouse=True)
def toy_foundation_models(tmp_path_factory):
    """Link smoke toy models into ``data/toy_models`` where no real ones are present."""
    from mmseg_diffuda.toy.pretrain.build import build_toy_models
    from mmseg_diffuda.toy.pretrain.recipe import FOLDERS, MODEL_NAMES
    out = osp.join(ROOT, 'data', 'toy_models')
    missing = [n for n in MODEL_NAMES if not osp.exists(osp.join(out, FOLDERS[n]))]
    made = {}
    if missing:
        cache = str(tmp_path_factory.mktemp('toy_models_cache'))
        folders = build_toy_models(out, toy_architectures(), missing,
                                   schedules=smoke_schedules(), cache_dir=cache, progress=False,
                                   log=lambda line: None)
        made = {osp.join(out, FOLDERS[n]): folders[n] for n in missing}
    yield out
    for link, target in made.items():  # only links that still point to the smoke models
        if osp.islink(link) and os.readlink(link) == target:
            os.unlink(link)
