"""kill -9 + ``--resume`` reproduces the uninterrupted run bit for bit, for every toy method.

Each run is ``tools/train.py`` in a subprocess on a tiny toy tree: 4 iterations, checkpoints at 2
and 4, batch 2, ``randomness.deterministic=True``, no validation. The uninterrupted run's
``iter_4.pth`` is compared with the resumed run's: student, teacher, the other weights
(iteration counter, auxiliary networks, discriminator), optimiser states, parameter schedulers
and logged losses must all be equal (max |diff| == 0).

DAFormer runs the full scenario with two dataloader workers: a process SIGKILLed *during* the
save of ``iter_4.pth`` (the temporary file written, not yet renamed) must leave
``last_checkpoint`` on the intact ``iter_2.pth`` (with ``max_keep_ckpts=1``), and ``--resume``
from it must end equal to the uninterrupted run. For the other methods the resumed run starts
from a copy of the uninterrupted run's ``iter_2.pth``: the file a run killed after that
checkpoint leaves behind (runs are deterministic), which keeps each method to two launches.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmseg_diffuda.engine import checkpoint_differences
from mmseg_diffuda.toy.method_configs import TOY_METHOD_CONFIGS
from tests.toy_tree import link_toy_models, make_toy_tree

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason='bit-exact on CPU')

CONFIGS = TOY_METHOD_CONFIGS
#: The options of every run (the resume runs add --resume).
OPTIONS = [
    'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2',
    'default_hooks.checkpoint.max_keep_ckpts=2', 'default_hooks.logger.interval=1',
    'randomness.deterministic=True', 'train_dataloader.batch_size=2', 'val_cfg=None',
    'val_dataloader=None', 'val_evaluator=None'
]
SINGLE_PROCESS = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']

KILL_CONFIG = """
_base_ = ['{config}']
custom_imports = dict(imports=['mmseg_diffuda', 'tests.test_engine.kill_hooks'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='PlainDataCheckpointHook'), dict(type='KillDuringSaveHook', iteration=4)]
"""


def train(workspace: Path, config: str, work_dir: str, *extra: str,
          resume: bool = False) -> subprocess.CompletedProcess:
    """Run tools/train.py in ``workspace`` (whose data/toy the toy configs read)."""
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]))
    command = [sys.executable, str(REPO / 'tools' / 'train.py'), config, '--work-dir', work_dir]
    command += ['--resume'] if resume else []
    return subprocess.run([*command, '--cfg-options', *OPTIONS, *extra], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=600)


def check(result: subprocess.CompletedProcess) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return output


def load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


@pytest.fixture(scope='module')
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('exact_resume')
    make_toy_tree(root / 'data' / 'toy', num_source=6, num_target_train=4, num_deliver_train=5)
    link_toy_models(root)
    return root


@pytest.fixture(scope='module')
def source_checkpoint(workspace) -> Path:
    """A stage-1 checkpoint for CrossMatch: 2 iterations of the toy source-only model."""
    check(train(workspace, str(REPO / 'configs/toy/source-only_mitb0-tiny_toy.py'), 'source',
                *SINGLE_PROCESS, 'train_cfg.max_iters=2'))
    return workspace / 'source' / 'iter_2.pth'


def assert_identical(reference: Path, resumed: Path) -> None:
    differences = checkpoint_differences(load(reference), load(resumed))
    assert differences == {key: 0.0 for key in differences}, differences


def test_kill_during_save_then_resume_equals_the_uninterrupted_run(workspace):
    config = str(REPO / CONFIGS['DAFormer'])
    workers = ['train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True']
    check(train(workspace, config, 'daformer_ref', *workers))

    killed_config = workspace / 'daformer_kill.py'
    killed_config.write_text(KILL_CONFIG.format(config=config))
    work = workspace / 'daformer_kill'
    result = train(workspace, str(killed_config), str(work), *workers,
                   'default_hooks.checkpoint.max_keep_ckpts=1')
    assert result.returncode == -9, (result.stdout + result.stderr)[-3000:]
    # The kill hit the save of iter_4 after its temporary file was written: the previous
    # checkpoint is still there (not pruned before the new one was complete), last_checkpoint
    # names it, and no truncated iter_4.pth exists.
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'iter_2.pth')
    assert not (work / 'iter_4.pth').exists()
    assert load(work / 'iter_2.pth')['meta']['iter'] == 2

    output = check(train(workspace, config, str(work), *workers, resume=True))
    assert 'Resumed data at sample 4 of rank 0 (iteration 2)' in output
    assert_identical(workspace / 'daformer_ref' / 'iter_4.pth', work / 'iter_4.pth')


@pytest.mark.parametrize('method', [m for m in CONFIGS if m != 'DAFormer'])
def test_resume_from_the_first_checkpoint_equals_the_uninterrupted_run(
        workspace, source_checkpoint, method):
    extra = list(SINGLE_PROCESS)
    if method == 'CrossMatch':
        extra.append(f'model.source_checkpoint={source_checkpoint}')
    config = str(REPO / CONFIGS[method])
    reference = workspace / f'{method}_ref'
    check(train(workspace, config, str(reference), *extra))
    resumed = workspace / f'{method}_resumed'
    resumed.mkdir()
    shutil.copy(reference / 'iter_2.pth', resumed / 'iter_2.pth')
    (resumed / 'last_checkpoint').write_text(str(resumed / 'iter_2.pth'))
    check(train(workspace, config, str(resumed), *extra, resume=True))
    assert_identical(reference / 'iter_4.pth', resumed / 'iter_4.pth')
