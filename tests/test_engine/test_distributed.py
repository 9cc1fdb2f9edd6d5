import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from mmseg_diffuda.engine import setup_cpu_distributed

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU-only path')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_no_launcher_changes_nothing():
    cfg = Config(dict(launcher='none', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    setup_cpu_distributed(cfg)
    assert 'model_wrapper_cfg' not in cfg and not dist.is_initialized()


@pytest.mark.parametrize('launcher', ['slurm', 'mpi'])
def test_gpu_only_launchers_explain_the_cpu_alternative(launcher):
    with pytest.raises(RuntimeError, match='dist_train.sh'):
        setup_cpu_distributed(Config(dict(launcher=launcher)))


@pytest.mark.parametrize('wrapper_cfg, expected', [
    (None, dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                find_unused_parameters=True, device_ids=None)),
    (dict(type='MMSeparateDistributedDataParallel', find_unused_parameters=False),
     dict(type='MMSeparateDistributedDataParallel', find_unused_parameters=False,
          device_ids=None)),
])
def test_pytorch_launcher_on_cpu_uses_gloo(monkeypatch, wrapper_cfg, expected):
    # a one-process group, as torchrun would describe it in the environment
    for key, value in dict(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()), RANK='0',
                           LOCAL_RANK='0', WORLD_SIZE='1').items():
        monkeypatch.setenv(key, value)
    cfg = Config(dict(launcher='pytorch', find_unused_parameters=True,
                      env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60))))
    if wrapper_cfg is not None:
        cfg.model_wrapper_cfg = wrapper_cfg
    try:
        setup_cpu_distributed(cfg)
        assert dist.is_initialized() and dist.get_backend() == 'gloo'
        assert cfg.model_wrapper_cfg.to_dict() == expected
        setup_cpu_distributed(cfg)  # a second call keeps the existing group
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
