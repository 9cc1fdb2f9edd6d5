"""Faults during training: a NaN loss and a resume from another config's checkpoint.

Both stop with a message naming the iteration/loss or the file and the fix, and neither touches
the checkpoints already written (``tools/train.py`` in subprocesses on the toy tree).
"""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.toy_tree import link_toy_models

REPO = Path(__file__).resolve().parents[2]
DAFORMER = REPO / 'configs/toy/daformer_mitb0-tiny_toy.py'
SEGFORMER = REPO / 'configs/toy/segformer_mitb0-tiny_toy-source.py'
OPTIONS = [
    'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=3',
    'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
    'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None'
]
NAN_CONFIG = """
_base_ = ['{config}']
custom_imports = dict(imports=['mmseg_diffuda', 'tests.test_reliability.fault_hooks'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='PlainDataCheckpointHook'), dict(type='NonFiniteLossHook'),
                dict(type='PoisonWeightsHook', iteration=3)]
"""


def train(workspace: Path, config: Path, work_dir: Path,
          *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]))
    return subprocess.run(
        [sys.executable, str(REPO / 'tools/train.py'), str(config), '--work-dir', str(work_dir),
         *extra, '--cfg-options', *OPTIONS], cwd=workspace, env=env, capture_output=True,
        text=True, timeout=600)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope='module')
def nan_run(pristine_toy, tmp_path_factory) -> dict:
    """DAFormer whose classifier turns NaN before iteration 3 (checkpoints after 1 and 2)."""
    workspace = tmp_path_factory.mktemp('faults')
    (workspace / 'data').mkdir()
    (workspace / 'data' / 'toy').symlink_to(pristine_toy)
    link_toy_models(workspace)
    config = workspace / 'daformer_nan.py'
    config.write_text(NAN_CONFIG.format(config=DAFORMER))
    work = workspace / 'work'
    result = train(workspace, config, work)
    return dict(workspace=workspace, work=work, result=result)


def test_nan_loss_stops_the_run_naming_iteration_and_loss(nan_run):
    result, work = nan_run['result'], nan_run['work']
    assert result.returncode != 0
    message = result.stderr
    assert 'NonFiniteLossError: Training stopped at iteration 3: non-finite loss' in message
    assert 'src.decode.loss_ce=nan' in message
    assert f'the last good checkpoint is {work / "iter_2.pth"}' in message
    assert 'Traceback' not in message
    # The NaN iteration was not saved; the last checkpoint is intact and finite.
    assert not (work / 'iter_3.pth').exists()
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'iter_2.pth')
    state = torch.load(work / 'iter_2.pth', weights_only=True)['state_dict']
    assert all(torch.isfinite(value).all() for value in state.values()
               if value.is_floating_point())


def test_resume_from_another_configs_checkpoint_is_refused(nan_run):
    work = nan_run['work']
    before = {path.name: digest(path) for path in work.glob('*.pth')}
    result = train(nan_run['workspace'], SEGFORMER, work, '--resume')
    assert result.returncode != 0
    message = result.stderr
    assert f'CheckpointMismatchError: Cannot resume from {work / "iter_2.pth"}' in message
    assert 'daformer_nan' in message  # the config that wrote it
    assert 'weights of the model are not in it' in message
    assert 'of its weights are not in the model' in message and 'new --work-dir' in message
    assert 'Traceback' not in message
    assert {path.name: digest(path) for path in work.glob('*.pth')} == before
