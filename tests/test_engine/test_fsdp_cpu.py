"""Why ``--strategy fsdp`` uses torch's FSDP2 and not MMEngine's ``FSDPStrategy`` on CPU.

MMEngine 0.10.7's ``FSDPStrategy`` wraps the model in ``MMFullyShardedDataParallel``, a subclass
of torch's FSDP1 ``FullyShardedDataParallel``; torch 2.14's FSDP1 refuses to construct without
an accelerator, whatever ``device_id`` is (the exact error is checked below). torch's FSDP2
(``fully_shard``) does run on CPU/gloo (checked below too), which is what
:class:`~mmseg_diffuda.engine.FSDP2Strategy` adapts (its 2-process training test is
``test_fsdp_train.py``). This test fails as soon as either fact changes.
"""
import os
import tempfile

import pytest
import torch
import torch.distributed as dist
from torch import nn


@pytest.fixture()
def gloo_group():
    if dist.is_initialized():
        pytest.skip('a process group already exists')
    with tempfile.TemporaryDirectory() as folder:
        dist.init_process_group('gloo', init_method=f'file://{os.path.join(folder, "store")}',
                                rank=0, world_size=1)
        try:
            yield
        finally:
            dist.destroy_process_group()


@pytest.mark.skipif(torch.cuda.is_available(), reason='documents the CPU-only behaviour')
def test_mmengine_fsdp_wrapper_needs_an_accelerator(gloo_group):
    from mmengine.model.wrappers import MMFullyShardedDataParallel
    with pytest.raises(RuntimeError, match='FSDP needs a non-CPU accelerator device, but no '
                       'accelerator device is detected'):
        MMFullyShardedDataParallel(nn.Linear(4, 2), device_id=None)


def test_fsdp2_shards_on_cpu_gloo(gloo_group):
    from torch.distributed.fsdp import fully_shard
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
    fully_shard(model)
    model(torch.randn(3, 4)).sum().backward()
    assert all(param.grad is not None for param in model.parameters())
