"""DACS under MMSeparateDistributedDataParallel: in-process wrapping and a 2-process CPU run."""
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel, MMSeparateDistributedDataParallel
from mmengine.runner.checkpoint import get_state_dict, load_state_dict

from .tiny_models import REPO, build_model, optim_wrapper_for, uda_batch

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU (gloo) path')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def one_process_group():
    """A single-process gloo group, as torchrun describes one rank."""
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{free_port()}', rank=0,
                            world_size=1)
    yield
    dist.destroy_process_group()


def test_separate_ddp_wraps_the_student_only_and_trains(one_process_group):
    torch.manual_seed(0)
    model = build_model(ema=dict(alpha=0.999), feature_distance=dict(thing_classes=[13]),
                        masking=dict(type='BlockMasking', block_size=16))
    wrapped = MMSeparateDistributedDataParallel(
        model, broadcast_buffers=False, find_unused_parameters=False, device_ids=None)
    assert isinstance(model.student, MMDistributedDataParallel)
    for name in ('teacher', 'imnet_encoder', 'data_preprocessor', 'strong_aug', 'masking'):
        assert not isinstance(getattr(model, name), MMDistributedDataParallel), name
    optim_wrapper = optim_wrapper_for(model)
    # Each student pass is one DDP forward + one backward (find_unused_parameters=False would
    # raise on the next forward otherwise); two iterations exercise the reducer twice.
    for _ in range(2):
        log_vars = wrapped.train_step(uda_batch(), optim_wrapper)
    assert optim_wrapper.calls['step'] == 2 and 'masked.decode.loss_ce' in log_vars
    # Checkpoint keys do not depend on the wrapping (mmengine saves module.state_dict()).
    state = wrapped.module.state_dict()
    assert list(state) == list(get_state_dict(wrapped.module))
    assert 'student.decode_head.conv_seg.weight' in state
    assert not any('.module.' in k for k in state)
    assert 'module.student.decode_head.conv_seg.weight' in wrapped.state_dict()
    single = build_model(ema=dict(alpha=0.999), feature_distance=dict(thing_classes=[13]),
                         masking=dict(type='BlockMasking', block_size=16))
    single.load_state_dict(state)  # strict: every key matches the unwrapped model
    load_state_dict(wrapped, state, strict=True)  # mmengine's loader (resume) into the wrapper


def toy_data(root):
    """A small toy GTA5 -> Cityscapes tree, converted to trainIds with RCS statistics."""
    toy = pytest.importorskip('mmseg_diffuda.toy')
    if not hasattr(toy, 'generate_toy_dataset'):
        pytest.skip('mmseg_diffuda.toy.generate_toy_dataset is not available yet')
    converters = REPO / 'tools' / 'dataset_converters'
    if not (converters / 'gta5.py').exists() or not (converters / 'cityscapes.py').exists():
        pytest.skip('the gta5/cityscapes dataset converters are not available yet')
    toy.generate_toy_dataset(root, num_source=8, num_target_train=8, num_target_val=2,
                             num_deliver_train=5, num_deliver_test=5, seed=0)
    for converter, tree in (('gta5.py', 'gta'), ('cityscapes.py', 'cityscapes')):
        subprocess.run([sys.executable, str(converters / converter), str(root / tree)],
                       cwd=REPO, check=True, capture_output=True, timeout=120)


CONFIG = """
_base_ = ['{repo}/configs/toy/daformer_mitb0-tiny_toy.py']
custom_imports = dict(imports=['mmseg_diffuda', 'tests.test_uda.rank_state_hook'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='PlainDataCheckpointHook'), dict(type='IterSyncBuffersHook'),
                dict(type='RankStateDumpHook')]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(source=dict(data_root='{data}/gta/'),
                 target=dict(data_root='{data}/cityscapes/')))
val_cfg = None
val_dataloader = None
val_evaluator = None
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4),
                     visualization=dict(type='SegVisualizationHook', draw=False))
"""


@pytest.fixture(scope='module')
def two_process_run(tmp_path_factory):
    """4 DACS iterations of the toy config in 2 CPU processes (gloo), via tools/dist_train.sh."""
    root = tmp_path_factory.mktemp('uda_dist')
    toy_data(root / 'toy')
    config = root / 'daformer_toy_dist.py'
    config.write_text(CONFIG.format(repo=REPO, data=root / 'toy'))
    work_dir = root / 'work'
    # PYTHONPATH: the configs import tests.test_uda.rank_state_hook
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable, PORT=str(free_port()),
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]))
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work_dir),
         '--cfg-options', 'train_cfg.max_iters=4'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=420)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return dict(config=config, work_dir=work_dir, env=env)


@pytest.mark.slow
def test_two_cpu_processes_keep_students_and_teachers_identical(two_process_run):
    work_dir = two_process_run['work_dir']
    ranks = [torch.load(work_dir / f'rank{r}_state.pth', weights_only=True) for r in (0, 1)]
    assert ranks[0]['local_iter'] == ranks[1]['local_iter'] == 4
    for part in ('student', 'teacher', 'student_buffers', 'teacher_buffers'):
        assert ranks[0][part].keys() == ranks[1][part].keys()
        for name, value in ranks[0][part].items():
            assert torch.equal(value, ranks[1][part][name]), f'{part}.{name} differs'
    # One model on every rank: the BatchNorm statistics (updated on each rank's own data, then
    # averaged by IterSyncBuffersHook) are equal, so both ranks predict the same val logits.
    running = [n for n in ranks[0]['student_buffers'] if n.endswith('running_mean')]
    assert running and any(ranks[0]['student_buffers'][n].any() for n in running)
    assert torch.equal(ranks[0]['val_logits'], ranks[1]['val_logits'])
    # The checkpoint written by rank 0 holds the same teacher, the iteration and no wrapper keys.
    state = torch.load(work_dir / 'iter_4.pth', weights_only=True)['state_dict']
    assert int(state['local_iter']) == 4
    saved_buffers = {n: v for n, v in ranks[1]['teacher_buffers'].items()
                     if f'teacher.{n}' in state}  # persistent ones (not the preprocessor's)
    assert any(n.endswith('running_var') for n in saved_buffers)
    for name, value in [*ranks[1]['teacher'].items(), *saved_buffers.items()]:
        assert torch.equal(state[f'teacher.{name}'], value), name
    # The processes saw different data, yet the teacher moved away from its t=0 copy.
    assert any(not torch.equal(ranks[0]['teacher'][n], ranks[0]['student'][n.split('.', 1)[1]])
               for n in ranks[0]['teacher'])


@pytest.mark.slow
def test_resume_restores_the_iteration_counter(two_process_run):
    """Resume the distributed checkpoint in one process: the EMA warm-up continues at t=4."""
    work_dir = two_process_run['work_dir']
    before = torch.load(work_dir / 'iter_4.pth', weights_only=True)['state_dict']
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(two_process_run['config']), '--work-dir',
         str(work_dir), '--resume', '--cfg-options', 'train_cfg.max_iters=5'],
        cwd=REPO, env=two_process_run['env'], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert 'resumed' in (result.stdout + result.stderr).lower()
    after = torch.load(work_dir / 'rank0_state.pth', weights_only=True)
    assert after['local_iter'] == 5  # 4 restored + 1 trained (0 + 1 without the buffer)
    # Iteration 4 starts from the checkpoint's student S and teacher T:
    # teacher = alpha_4 * T + (1 - alpha_4) * S with alpha_4 = min(1 - 1/5, 0.99) = 0.8
    # (a lost counter would copy S instead).
    alpha = min(1 - 1 / 5, 0.99)
    for name, value in after['teacher'].items():
        teacher = before[f'teacher.{name}']
        student = before[f'student.{name.split(".", 1)[1]}']
        expected = teacher.clone().mul_(alpha).add_(student, alpha=1 - alpha)
        assert torch.equal(value, expected), name
