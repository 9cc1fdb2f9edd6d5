"""Why ``--strategy fsdp`` uses torch's FSDP2 and not MMEngine's ``FSDPStrategy`` on CPU.

MMEngine 0.10.7's ``FSDPStrategy`` wraps the model in ``MMFullyShardedDataParallel``, a subclass
of torch's FSDP1 ``FullyShardedDataParallel``; torch 2.14's FSDP1 refuses to construct without
an accelerator, whatever ``device_id`` is (the exact error is checked below). torch's FSDP2
(``fully_shard``) does run on CPU/gloo (checked below too), which is what
:class:`~mmseg_diffuda.engine.FSDP2Strategy` adapts (its 2-process training test is
``test_fsdp_train.py``). This test fails as soon as either fact changes.

Also on one gloo process: ``FSDP2Strategy`` replicates (composable DDP) the trainable children of
a UDA-like model outside the student, keeping the state-dict keys, and refuses trainable
parameters that are neither in the student nor in such a child.
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


class _Student(nn.Linear):
    """A student with the evaluation methods that FSDP2Strategy registers."""

    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        return self(inputs)

    def _forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self(inputs)


class _UDALike(nn.Module):
    """A student, a teacher and a discriminator, as the UDA segmentors name them."""

    def __init__(self) -> None:
        super().__init__()
        self.student = _Student(4, 2)
        self.teacher = nn.Linear(4, 2).requires_grad_(False)
        self.discriminator = nn.Linear(2, 3)


def test_fsdp2_strategy_replicates_trainable_children_outside_the_student(gloo_group, tmp_path):
    from torch.distributed.tensor import DTensor

    from mmseg_diffuda.engine import FSDP2Strategy
    model = _UDALike()
    keys = list(model.state_dict())
    strategy = FSDP2Strategy(work_dir=str(tmp_path))
    assert strategy.replicate_units(model) == ['discriminator']
    model = strategy._wrap_model(model)
    assert isinstance(model.student.weight, DTensor)
    assert not isinstance(model.discriminator.weight, DTensor)
    assert isinstance(model.discriminator, nn.Linear) and list(model.state_dict()) == keys
    # a frozen pass (the generator term) first, then the discriminator's own backward
    model.discriminator.requires_grad_(False)
    model.discriminator(model.student(torch.randn(3, 4))).sum().backward()
    model.discriminator.requires_grad_(True)
    model.discriminator(torch.randn(3, 2)).sum().backward()
    assert model.discriminator.weight.grad is not None


def test_fsdp2_strategy_refuses_trainable_parameters_on_the_segmentor(gloo_group, tmp_path):
    from mmseg_diffuda.engine import FSDP2Strategy
    model = _UDALike()
    model.scale = nn.Parameter(torch.ones(1))
    with pytest.raises(RuntimeError, match=r"would not be synchronised .*\['scale'\]"):
        FSDP2Strategy(work_dir=str(tmp_path))._wrap_model(model)
