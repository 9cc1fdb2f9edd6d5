"""EMATeacher: the warm-up EMA formula, parameters-only averaging, shared modules, dropout mode."""
import pytest
import torch
from mmcv.cnn.bricks.drop import DropPath as MMCVDropPath
from torch import nn

from mmseg_diffuda.models.utils.ema import EMATeacher, SharedModule


class Scalar(nn.Module):
    """y = w * x with one scalar parameter and a BatchNorm buffer to check buffer handling."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(value))
        self.bn = nn.BatchNorm1d(1, affine=False)

    def forward(self, x):
        return self.w * x


def test_ema_values_over_warm_up_hand_computed():
    student = Scalar(2.0)
    teacher = EMATeacher(student, alpha=0.7)
    # t=0: alpha_0 = min(1 - 1/1, 0.7) = 0, the teacher copies the student: 2
    teacher.model.w.data.fill_(100.0)  # whatever the teacher held, t=0 overwrites it
    teacher.update(student, 0)
    assert teacher.model.w.item() == 2.0
    # t=1: alpha_1 = min(1/2, 0.7) = 0.5; 0.5 * 2 + 0.5 * 4 = 3
    student.w.data.fill_(4.0)
    teacher.update(student, 1)
    assert teacher.model.w.item() == pytest.approx(3.0)
    # t=2: alpha_2 = min(2/3, 0.7) = 2/3; 2/3 * 3 + 1/3 * 9 = 5
    student.w.data.fill_(9.0)
    teacher.update(student, 2)
    assert teacher.model.w.item() == pytest.approx(5.0)
    # t=3: alpha_3 = min(3/4, 0.7) = 0.7 (capped); 0.7 * 5 + 0.3 * 15 = 8
    student.w.data.fill_(15.0)
    teacher.update(student, 3)
    assert teacher.model.w.item() == pytest.approx(8.0)
    assert [teacher.alpha_at(t) for t in (0, 1, 3, 100)] == pytest.approx([0, 0.5, 0.7, 0.7])


def test_only_parameters_are_averaged_and_frozen():
    student = Scalar(1.0)
    teacher = EMATeacher(student, alpha=0.99)
    student.bn.running_mean.fill_(7.0)
    teacher.update(student, 0)
    assert teacher.model.bn.running_mean.item() == 0.0  # buffers keep the teacher's own values
    assert not any(p.requires_grad for p in teacher.parameters())
    assert student.w.requires_grad
    assert teacher.model.w is not student.w


class WithShared(nn.Module):
    """A backbone with a module the teacher must share (as MADM shares the SD UNet)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.unet = nn.Linear(2, 2)
        self.backbone.proj = nn.Linear(2, 2)
        self.backbone.drop = nn.Dropout(0.5)
        self.backbone.unet_drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.backbone.proj(self.backbone.unet(x))


def test_shared_modules_are_referenced_not_copied_nor_updated():
    student = WithShared()
    teacher = EMATeacher(student, alpha=0.5, shared_modules=['backbone.unet'])
    shared = teacher.model.backbone.unet
    assert isinstance(shared, SharedModule) and shared.module is student.backbone.unet
    # not registered: absent from the teacher's parameters, state_dict and children
    assert sorted(teacher.state_dict()) == ['model.backbone.proj.bias',
                                            'model.backbone.proj.weight']
    assert len(list(teacher.parameters())) == 2
    assert 'unet' not in dict(teacher.model.backbone.named_children())
    # attribute reads and calls go to the student's module
    assert shared.weight is student.backbone.unet.weight
    x = torch.randn(3, 2)
    assert torch.equal(teacher.model(x), teacher.model.backbone.proj(student.backbone.unet(x)))
    # updates move the own parameters only and leave the shared weights untouched
    unet_before = student.backbone.unet.weight.detach().clone()
    teacher.update(student, 0)
    student.backbone.proj.weight.data.add_(2.0)
    teacher.update(student, 1)
    assert torch.equal(student.backbone.unet.weight, unet_before)
    assert student.backbone.unet.weight.requires_grad  # the student keeps training it
    expected = 0.5 * (student.backbone.proj.weight - 2.0) + 0.5 * student.backbone.proj.weight
    assert torch.allclose(teacher.model.backbone.proj.weight, expected)


def test_shared_module_appears_once_in_a_parent_state_dict():
    parent = nn.Module()
    parent.student = WithShared()
    parent.teacher = EMATeacher(parent.student, shared_modules=['backbone.unet'])
    keys = list(parent.state_dict())
    assert sum('unet' in k for k in keys) == 2  # student.backbone.unet.{weight,bias}
    assert all(k.startswith('student.') for k in keys if 'unet' in k)
    # MMSeparateDistributedDataParallel wraps children with trainable parameters: not the teacher
    assert all(not p.requires_grad for p in parent.teacher.parameters())


def test_unknown_shared_module_is_a_clear_error():
    with pytest.raises(KeyError, match='backbone.vae'):
        EMATeacher(WithShared(), shared_modules=['backbone.vae'])


class Stochastic(nn.Module):
    """Every kind of stochastic layer plus a BatchNorm that must stay in train mode."""

    def __init__(self) -> None:
        super().__init__()
        self.dropout = nn.Dropout(0.5)
        self.dropout2d = nn.Dropout2d(0.5)
        self.mmcv_drop_path = MMCVDropPath(0.5)
        self.attn = nn.MultiheadAttention(4, 1, dropout=0.5)
        self.already_off = nn.Dropout(0.5)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x):
        return self.mmcv_drop_path(self.dropout(x))


def test_pseudo_label_mode_switches_dropout_and_drop_path_off_and_restores():
    student = Stochastic()
    timm_layers = pytest.importorskip('timm.layers')
    student.timm_drop_path = timm_layers.DropPath(0.5)
    teacher = EMATeacher(student)
    teacher.train()
    teacher.model.already_off.eval()
    stochastic = ['dropout', 'dropout2d', 'mmcv_drop_path', 'attn', 'timm_drop_path']
    with teacher.pseudo_label_mode():
        assert teacher.training and teacher.model.training and teacher.model.bn.training
        for name in stochastic + ['already_off']:
            assert not getattr(teacher.model, name).training, name
        x = torch.ones(4, 1, 8, 8)
        assert torch.equal(teacher.model(x), x)  # deterministic identity without dropout
    for name in stochastic:
        assert getattr(teacher.model, name).training, name
    assert not teacher.model.already_off.training
    assert teacher.model.bn.training


def test_pseudo_label_mode_covers_shared_modules_and_restores_on_error():
    student = WithShared()
    teacher = EMATeacher(student, shared_modules=['backbone.unet_drop'])
    student.train()
    with pytest.raises(RuntimeError, match='boom'):
        with teacher.pseudo_label_mode():
            assert not student.backbone.unet_drop.training
            assert not teacher.model.backbone.drop.training
            raise RuntimeError('boom')
    assert student.backbone.unet_drop.training and teacher.model.backbone.drop.training
