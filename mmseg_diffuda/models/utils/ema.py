"""EMA (mean) teacher of a student network, with DAFormer's warm-up and dropout handling.

DAFormer (Hoyer et al., CVPR 2022, Sec. 3.1), official ``mmseg/models/uda/dacs.py``
(``_init_ema_weights``, ``_update_ema``, the dropout switch before the pseudo-label pass);
MIC (Hoyer et al., CVPR 2023), official ``seg/mmseg/models/uda/teacher_module.py``.
"""
import copy
from contextlib import contextmanager
from typing import Dict, Iterator, List, Sequence, Tuple, Type

import torch
from mmcv.cnn.bricks.drop import DropPath as MMCVDropPath
from torch import Tensor, nn
from torch.distributed.tensor import DTensor
from torch.nn.modules.dropout import _DropoutNd


def stochastic_layer_types() -> Tuple[Type[nn.Module], ...]:
    """Module classes whose ``training`` flag only switches randomness on or off.

    ``torch.nn`` dropouts (``_DropoutNd``), mmcv's ``DropPath`` (used by mmseg 1.x's
    ``MixVisionTransformer`` through ``build_dropout``) and timm's ``DropPath`` when timm is
    installed (the official DAFormer MiT uses timm's).

    Returns:
        tuple[type]: The classes, for ``isinstance``.
    """
    types: List[Type[nn.Module]] = [_DropoutNd, MMCVDropPath]
    try:
        from timm.layers import DropPath as TimmDropPath
    except ImportError:
        pass
    else:
        types.append(TimmDropPath)
    return tuple(types)


class SharedModule:
    """A student submodule that the teacher calls but does not own.

    It stands in the teacher's module tree where the copy of the submodule would be, as a plain
    attribute (not a registered child): its parameters are not part of the teacher's
    ``parameters()`` / ``state_dict()``, are not EMA-updated and are not wrapped a second time by
    a DDP wrapper. Calls and attribute reads are forwarded to the student's module.

    Args:
        module (nn.Module): The student's submodule.
    """

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def __getattr__(self, name: str):
        # Only called for names not found on the proxy itself.
        if name == 'module':
            raise AttributeError(name)
        return getattr(self.module, name)

    def __repr__(self) -> str:
        return f'SharedModule({type(self.module).__name__})'


class EMATeacher(nn.Module):
    """Exponential-moving-average teacher of a student network.

    The teacher is a deep copy of the student whose parameters follow

    .. math::

        \\alpha_t = \\min(1 - 1 / (t + 1), \\alpha), \\qquad
        \\phi_t = \\alpha_t \\phi_{t-1} + (1 - \\alpha_t) \\theta_t

    at the start of iteration ``t`` (counted from 0), where ``theta_t`` are the student's
    parameters after the optimiser step of iteration ``t - 1``. At ``t = 0`` ``alpha_t = 0``, so
    the teacher becomes an exact copy of the student (DAFormer's ``_init_ema_weights``); the
    warm-up ramp lets the teacher follow the fast-changing early student.

    Note:
        - Only **parameters** are averaged. Buffers (BatchNorm running statistics) are neither
          copied nor averaged, as in the official code: the teacher runs in train mode during
          training, so its normalisation layers use batch statistics.
        - Teacher parameters never require gradients.
        - ``shared_modules`` names student submodules (dotted names relative to the student,
          e.g. ``'backbone.unet'``) that the teacher uses *instead of a copy* (MADM shares the
          Stable Diffusion UNet between student and teacher). They are not deep-copied, not
          EMA-updated, absent from the teacher's ``parameters()`` and ``state_dict()`` (so they
          appear once in a checkpoint, under the student) and not registered as teacher
          submodules, so ``MMSeparateDistributedDataParallel`` does not wrap them twice.

    Args:
        student (nn.Module): The (unwrapped) student network to copy.
        alpha (float): Maximum EMA decay. Defaults to 0.999 (DAFormer, MIC; 0.99 in DACS).
        shared_modules (Sequence[str]): Dotted names of student submodules shared with the
            teacher. Defaults to ().
    """

    def __init__(self,
                 student: nn.Module,
                 alpha: float = 0.999,
                 shared_modules: Sequence[str] = ()) -> None:
        super().__init__()
        if not 0 <= alpha <= 1:
            raise ValueError(f'EMATeacher: alpha must be in [0, 1], got {alpha}.')
        self.alpha = alpha
        self.shared_modules = tuple(shared_modules)
        shared = {name: _get_submodule(student, name, 'student') for name in self.shared_modules}
        # Pre-filling the deepcopy memo makes the copy reference (not duplicate) the shared ones.
        memo = {id(module): module for module in shared.values()}
        self.model = copy.deepcopy(student, memo)
        for name, module in shared.items():
            _replace_submodule(self.model, name, SharedModule(module))
        self.model.requires_grad_(False)

    def alpha_at(self, iteration: int) -> float:
        """EMA decay at ``iteration``: ``min(1 - 1 / (iteration + 1), alpha)``.

        Args:
            iteration (int): Training iteration, counted from 0.

        Returns:
            float: The decay ``alpha_t``.
        """
        if iteration < 0:
            raise ValueError(f'EMATeacher: iteration must be >= 0, got {iteration}.')
        return min(1 - 1 / (iteration + 1), self.alpha)

    @torch.no_grad()
    def update(self, student: nn.Module, iteration: int) -> None:
        """Move the teacher's parameters towards the student's.

        A student sharded by FSDP2 (``FSDP2Strategy``) holds ``DTensor`` shards: each is
        gathered whole first (a collective, so every process must call this), and the teacher,
        which is not sharded, is updated as in a single-process run.

        Args:
            student (nn.Module): The unwrapped student (not its DDP wrapper).
            iteration (int): Current iteration ``t`` (0 copies the student).
        """
        alpha_t = self.alpha_at(iteration)
        for teacher_param, student_param in self._paired_parameters(student):
            value = full_value(student_param)
            if alpha_t == 0:
                teacher_param.copy_(value)
            else:
                teacher_param.mul_(alpha_t).add_(value, alpha=1 - alpha_t)

    def _paired_parameters(
            self, student: nn.Module) -> Iterator[Tuple[nn.Parameter, nn.Parameter]]:
        """Yield (teacher, student) parameter pairs, matched by name; shared ones are skipped."""
        student_params: Dict[str, nn.Parameter] = dict(student.named_parameters())
        skip = tuple(f'{name}.' for name in self.shared_modules)
        student_own = {n for n in student_params if not n.startswith(skip)}
        teacher_params = dict(self.model.named_parameters())
        if student_own != set(teacher_params):
            missing = sorted(student_own ^ set(teacher_params))[:5]
            raise RuntimeError('EMATeacher: the student and teacher parameters differ (e.g. '
                               f'{missing}); build the teacher from this student.')
        for name, teacher_param in teacher_params.items():
            yield teacher_param, student_params[name]

    def stochastic_layers(self) -> List[nn.Module]:
        """Dropout/DropPath layers the teacher runs, its own and those of shared modules.

        Also ``nn.MultiheadAttention`` modules with attention dropout (mmcv's attention, used by
        mmseg's MiT, applies ``attn_drop_rate`` inside it; the original MiT has an ``nn.Dropout``
        there). Their ``training`` flag only switches that dropout.

        Returns:
            list[nn.Module]: The layers.
        """
        types = stochastic_layer_types()
        modules = list(self.model.modules())
        for name in self.shared_modules:
            modules.extend(_get_submodule(self.model, name, 'teacher').module.modules())
        return [
            m for m in modules if isinstance(m, types) or
            (isinstance(m, nn.MultiheadAttention) and m.dropout > 0)
        ]

    @contextmanager
    def pseudo_label_mode(self) -> Iterator[None]:
        """Switch dropout and DropPath off while the teacher stays in train mode.

        DAFormer generates pseudo-labels with the teacher in train mode (its normalisation layers
        use batch statistics) but sets ``training=False`` on every ``_DropoutNd`` and ``DropPath``
        module. The flags are restored on exit, also for shared student modules.
        """
        layers = self.stochastic_layers()
        states = [layer.training for layer in layers]
        try:
            for layer in layers:
                layer.training = False
            yield
        finally:
            for layer, state in zip(layers, states):
                layer.training = state


def full_value(param: Tensor) -> Tensor:
    """The whole, detached value of a parameter, gathering it if FSDP2 sharded it.

    Args:
        param (Tensor): A parameter, possibly a sharded ``DTensor``.

    Returns:
        Tensor: A plain tensor with the parameter's full shape.
    """
    value = param.detach()
    return value.full_tensor() if isinstance(value, DTensor) else value


def _get_submodule(root: nn.Module, name: str, owner: str):
    """Return ``root``'s submodule (or :class:`SharedModule`) at a dotted ``name``."""
    module = root
    for part in name.split('.'):
        if not hasattr(module, part):
            raise KeyError(f'EMATeacher: shared_modules entry {name!r} is not a submodule of the '
                           f'{owner} ({type(root).__name__}); use dotted names relative to the '
                           'segmentor, e.g. "backbone.unet".')
        module = getattr(module, part)
    if owner == 'student' and not isinstance(module, nn.Module):
        raise KeyError(f'EMATeacher: shared_modules entry {name!r} is not an nn.Module.')
    return module


def _replace_submodule(root: nn.Module, name: str, replacement: SharedModule) -> None:
    """Unregister the submodule at ``name`` and put ``replacement`` there as a plain attribute."""
    parent_name, _, child = name.rpartition('.')
    parent = root.get_submodule(parent_name) if parent_name else root
    delattr(parent, child)
    setattr(parent, child, replacement)  # not an nn.Module: stored as a plain attribute
