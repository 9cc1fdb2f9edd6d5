"""End-to-end runs of tools/train.py and tools/test.py with the toy source-only config.

A tiny toy tree (4 source, 2 target val images) is generated and converted in ``tmp_path`` with the
project's generator and dataset converters; ``--cfg-options`` shortens the run to 4 iterations.
"""
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmseg_diffuda.engine import from_plain_data
from mmseg_diffuda.toy import generate_toy_dataset

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'toy' / 'segformer_mitb0-tiny_toy-source.py'
pytestmark = pytest.mark.slow


def make_toy_data(root: Path, **counts: int) -> None:
    """Generate a tiny toy tree (4 source, 2 target val images unless ``counts`` say otherwise)
    and convert it as the README does."""
    sizes = dict(num_source=4, num_target_train=0, num_target_val=2, num_deliver_train=0,
                 num_deliver_test=0)
    generate_toy_dataset(root, **{**sizes, **counts})
    for converter, tree in (('gta5.py', 'gta'), ('cityscapes.py', 'cityscapes')):
        script = REPO / 'tools' / 'dataset_converters' / converter
        convert = runpy.run_path(str(script), run_name='converter')['main']
        convert([str(root / tree), '--nproc', '1'])


def shortened(root: Path) -> list:
    """--cfg-options for the tiny tree: 4 iterations, checkpoints at 2 and 4, subset metric."""
    loader = 'num_workers=0 persistent_workers=False'.split()
    options = [f'train_dataloader.dataset.data_root={root}/gta/', 'train_dataloader.batch_size=2']
    for name in ('val', 'test'):
        options += [f'{name}_dataloader.dataset.data_root={root}/cityscapes/',
                    f'{name}_evaluator.type=SubsetIoUMetric',
                    f'{name}_evaluator.subsets.mIoU2=[road,sky]']
    for name in ('train', 'val', 'test'):
        options += [f'{name}_dataloader.{option}' for option in loader]
    return ['--cfg-options', *options, 'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
            'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.max_keep_ckpts=3',
            'default_hooks.logger.interval=1']


def run_tool(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def check(result: subprocess.CompletedProcess) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train 4 iterations (checkpoints at 2 and 4, validation at 4) once for the module."""
    root = tmp_path_factory.mktemp('tools')
    make_toy_data(root / 'toy')
    options = shortened(root / 'toy')
    output = check(run_tool('tools/train.py', str(CONFIG), '--work-dir', str(root / 'work'),
                            *options))
    return dict(root=root, options=options, work=root / 'work', output=output)


def test_train_writes_checkpoints_that_load_safely(trained):
    work = trained['work']
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_4.pth')
    for name in ('iter_2.pth', 'iter_4.pth'):
        checkpoint = torch.load(work / name, weights_only=True)
        assert checkpoint['meta']['iter'] == int(name[5])
    assert 'mIoU2: ' in trained['output']  # validation at iteration 4 with SubsetIoUMetric


def test_resume_continues_at_the_saved_iteration(trained):
    work = trained['root'] / 'resumed'
    shutil.copytree(trained['work'], work)
    output = check(run_tool('tools/train.py', str(CONFIG), '--work-dir', str(work), '--resume',
                            *trained['options'], 'train_cfg.max_iters=6'))
    assert 'resumed epoch: 0, iter: 4' in output
    before = from_plain_data(torch.load(work / 'iter_4.pth', weights_only=True))
    after = from_plain_data(torch.load(work / 'iter_6.pth', weights_only=True))
    assert after['meta']['iter'] == 6
    loss_before = before['message_hub']['log_scalars']['train/loss']
    loss_after = after['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss_after, HistoryBuffer)
    # the resumed run appended iterations 5 and 6 to the restored history of 1-4
    assert len(loss_before.data[0]) == 4 and len(loss_after.data[0]) == 6
    np.testing.assert_array_equal(loss_after.data[0][:4], loss_before.data[0])


def test_test_tool_prints_miou(trained):
    output = check(run_tool('tools/test.py', str(CONFIG), str(trained['work'] / 'iter_4.pth'),
                            '--work-dir', str(trained['root'] / 'test'), *trained['options']))
    assert 'Iter(test)' in output
    assert 'mIoU: ' in output and 'mIoU2: ' in output


def test_legacy_checkpoint_points_to_the_converter(trained):
    # what mmengine writes without PlainDataCheckpointHook: pickled HistoryBuffers
    legacy = trained['root'] / 'legacy.pth'
    torch.save(from_plain_data(torch.load(trained['work'] / 'iter_2.pth', weights_only=True)),
               legacy)
    result = run_tool('tools/test.py', str(CONFIG), str(legacy), '--work-dir',
                      str(trained['root'] / 'legacy_test'), *trained['options'])
    assert result.returncode != 0
    command = (f'tools/model_converters/plain_checkpoint.py {legacy} '
               f'{legacy.with_name("legacy_plain.pth")} --trust')  # a new file, not in place
    assert command in result.stderr, result.stderr[-3000:]
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in result.stderr  # what it holds
    assert 'Traceback' not in result.stderr
