"""Worst-case answers of the planning fake-tensor mode."""
import copy

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor

from mmseg_diffuda.memory.fake_mode import PlanFakeTensorMode, fake_deepcopy


def test_unique_returns_every_class():
    with PlanFakeTensorMode(num_classes=7):
        labels = torch.randint(0, 3, (2, 1, 8, 8))
        values = torch.unique(labels)
        assert values.tolist() == list(range(7))


def test_scalar_reads_take_the_checks_passing_path():
    with PlanFakeTensorMode():
        x = torch.randn(4, 4)
        assert x.sum().item() == 1.0  # float reads: every `rand() > p` test passes
        assert int(torch.zeros((), dtype=torch.long) + 5) == 0
        assert bool(torch.all(x > 0)) and not bool(torch.any(x > 0))
        assert not bool(x.min() < 0)


def test_small_python_constants_keep_their_values():
    with PlanFakeTensorMode():
        bounds = torch.tensor([0.8, 1.2])
        assert bool(bounds[1] > 1.0) and not bool(bounds[0] > 1.0)


def test_fake_modules_deep_copy_to_new_fake_weights():
    with PlanFakeTensorMode(), fake_deepcopy():
        module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
        module[1].weight.requires_grad_(False)
        copied = copy.deepcopy(module)
    assert isinstance(copied[0].weight, FakeTensor)
    assert isinstance(copied[0].weight, nn.Parameter)
    assert copied[0].weight is not module[0].weight
    assert copied[0].weight.shape == module[0].weight.shape
    assert not copied[1].weight.requires_grad and copied[0].weight.requires_grad
    assert '__deepcopy__' not in FakeTensor.__dict__  # the patch ends with the context
