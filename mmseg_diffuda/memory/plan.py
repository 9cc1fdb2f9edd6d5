"""The memory plan of one training iteration, computed on fake tensors with torch's MemTracker.

:func:`plan_train_step` builds CONFIG's model through the project's registry (the UDA wrapper
with its student, EMA teacher and frozen parts), its optimiser through mmengine's
``build_optim_wrapper``, and runs the method's own ``train_step`` twice on a synthetic batch at
the config's crop and per-GPU batch, all inside :class:`~.fake_mode.PlanFakeTensorMode`: no
weight, activation or optimiser state is allocated and nothing is computed, so a full-size SD
model plans in seconds to minutes on any machine.
``torch.distributed._tools.mem_tracker.MemTracker`` (:class:`~.tracker.FrozenAwareMemTracker`)
follows every tensor the iteration creates and frees, and sorts them into parameters, buffers,
gradients, activations (forward), temporaries (backward) and optimiser state; its peak snapshot
is the plan. The second iteration is the steady state (the AdamW moments exist from the first
step on), so the peak over both is the peak of every later iteration.

Device: torch 2.14 creates fake ``cuda`` tensors without a GPU, but the autograd engine refuses
to run backward on them (``RuntimeError: hasPrimaryContext expects a valid device index, but got
device_index=0``) and ``torch.autocast('cuda')`` switches itself off when CUDA is unavailable, so
the plan runs on fake CPU tensors. Every tensor's size is the same on both devices; what differs
is listed in docs/benchmarks.md (the caching allocator's 512-byte rounding, ignored here; CPU
autocast's policy, which keeps the outputs of normalisation layers in the low-precision dtype
where CUDA's returns float32; the attention kernel, flash on both at these sizes).
"""
import copy
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import OptimWrapper, OptimWrapperDict, build_optim_wrapper
from mmengine.registry import init_default_scope
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from .fake_mode import PlanFakeTensorMode, fake_deepcopy
from .levers import apply_levers, random_weights
from .synthetic import synthetic_uda_batch
from .tracker import FrozenAwareMemTracker

GIB = 2**30

#: MemTracker's reference types (``_MemRefType`` values) under the names the plan reports.
CATEGORIES = dict(Parameter='parameters', Buffer='buffers', Gradient='gradients',
                  Activation='activations', Temp='backward_temporaries',
                  Optstate='optimizer_state', Other='other')


@dataclass
class MemoryPlan:
    """Memory of one training iteration (bytes unless the name says otherwise).

    Attributes:
        config (str): Config path.
        levers (tuple[str]): Levers applied.
        batch_size (int): Source (and target) images per iteration and device.
        crop (tuple[int, int]): Training crop (H, W).
        trainable_params (int): Number of trainable parameters (student + discriminator).
        trainable_bytes (int): Their weights.
        frozen_bytes (int): Weights that never get a gradient (frozen parts, EMA teacher).
        buffer_bytes (int): Registered buffers (BatchNorm statistics, cached embeddings, ...).
        gradient_bytes (int): All gradients, just before the optimiser step.
        optimizer_bytes (int): Optimiser state after the step (AdamW moments, step counters).
        peak_bytes (int): Peak of everything the iteration holds at once.
        peak_breakdown (dict[str, int]): The peak by category (parameters, buffers, gradients,
            activations, backward_temporaries, optimizer_state, other).
        activation_peak_bytes (int): Activations + backward temporaries at the peak.
        step_growth_bytes (int): Peak minus what the steady-state iteration starts with (the
            figure the CPU validation compares with measured resident-memory growth).
        peak_modules (list[str]): The innermost modules running at the peak (MemTracker names).
        peak_in_backward (bool): Whether the peak is in a backward pass.
        seconds (float): Wall time of planning (build + two fake iterations).
    """
    config: str
    levers: Tuple[str, ...]
    batch_size: int
    crop: Tuple[int, int]
    trainable_params: int = 0
    trainable_bytes: int = 0
    frozen_bytes: int = 0
    buffer_bytes: int = 0
    gradient_bytes: int = 0
    optimizer_bytes: int = 0
    peak_bytes: int = 0
    peak_breakdown: Dict[str, int] = field(default_factory=dict)
    activation_peak_bytes: int = 0
    step_growth_bytes: int = 0
    peak_modules: List[str] = field(default_factory=list)
    peak_in_backward: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """The plan as plain data (JSON-serialisable)."""
        return asdict(self)


def load_plan_config(config: str) -> Config:
    """Read ``config`` as mmengine does.

    Args:
        config (str): Path of the config file.

    Returns:
        Config: The config.
    """
    return Config.fromfile(config)


def train_batch_size(cfg: Config) -> int:
    """Per-device batch of the config's training dataloader."""
    return int(cfg.train_dataloader.batch_size)


def train_crop(cfg: Config) -> Tuple[int, int]:
    """The training crop the student sees: the data preprocessor's fixed size."""
    preprocessor = cfg.model.get('data_preprocessor') or \
        cfg.model.get('segmentor', {}).get('data_preprocessor')
    size = (preprocessor or {}).get('size')
    if size is None:
        raise ValueError('memory plan: the config has no data_preprocessor.size (the training '
                         'crop); pass crop=(H, W).')
    return tuple(size)


def optimizer_settings(optim_cfg: dict, autocast: bool) -> Tuple[dict, bool]:
    """The optimiser wrapper config to plan with, and whether the step runs under autocast.

    ``AmpOptimWrapper`` refuses to build without a GPU; the plan builds an ``OptimWrapper`` and
    enters autocast itself (:func:`autocast_context`). AdamW and Adam get ``foreach=True``,
    PyTorch's default for CUDA tensors (the plan's tensors are CPU tensors, whose default is
    the per-tensor loop, which keeps fewer temporaries), unless the config asks for ``fused``.

    Args:
        optim_cfg (dict): The config's ``optim_wrapper``.
        autocast (bool): Mixed precision requested by a lever.

    Returns:
        tuple[dict, bool]: The config and whether any wrapper runs under autocast.
    """
    optim_cfg = copy.deepcopy(optim_cfg)
    wrappers = ([optim_cfg] if 'optimizer' in optim_cfg else
                [value for key, value in optim_cfg.items() if isinstance(value, dict)])
    amp = autocast
    for wrapper in wrappers:
        if wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            amp = True
            wrapper['type'] = 'OptimWrapper'
            for key in ('loss_scale', 'dtype', 'use_fsdp'):
                wrapper.pop(key, None)
        optimizer = wrapper['optimizer']
        if optimizer.get('type') in ('AdamW', 'Adam') and not optimizer.get('fused'):
            optimizer.setdefault('foreach', True)
    return optim_cfg, amp


@contextmanager
def autocast_context(enabled: bool) -> Iterator[None]:
    """CPU autocast in bfloat16 (the 2-byte dtype of AMP) when ``enabled``."""
    if not enabled:
        yield
        return
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        yield


def _optimizers(optim_wrapper: OptimWrapper) -> List[torch.optim.Optimizer]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return [wrapper.optimizer for wrapper in optim_wrapper.optim_wrappers.values()]
    return [optim_wrapper.optimizer]


def _wrap_optim_context(optim_wrapper: OptimWrapper, amp: bool) -> None:
    """Make every wrapper's ``optim_context`` enter autocast (as ``AmpOptimWrapper``'s does)."""
    wrappers = (optim_wrapper.optim_wrappers.values()
                if isinstance(optim_wrapper, OptimWrapperDict) else [optim_wrapper])
    for wrapper in wrappers:
        context = wrapper.optim_context

        @contextmanager
        def optim_context(model, _context=context):
            with _context(model), autocast_context(amp):
                yield

        wrapper.optim_context = optim_context


def _total(snapshot: Dict[torch.device, Dict[str, int]]) -> Dict[str, int]:
    """Sum a MemTracker snapshot over devices, keyed by the plan's category names."""
    totals = dict.fromkeys(list(CATEGORIES.values()) + ['total'], 0)
    for device_snapshot in snapshot.values():
        for key, value in device_snapshot.items():
            name = CATEGORIES.get(getattr(key, 'value', key), 'total')
            totals[name] += value
    return totals


def _num_classes(model: nn.Module) -> int:
    student = getattr(model, 'student_module', model)
    return int(student.decode_head.num_classes)


def prepare_config(cfg: Config,
                   levers: Sequence[str] = (),
                   crop: Optional[Tuple[int, int]] = None,
                   cpu: bool = True) -> Tuple[dict, dict, bool]:
    """Model and optimiser configs of the plan: random weights, the levers, the crop.

    Args:
        cfg (Config): The training config.
        levers (Sequence[str]): Lever names (see :data:`~.levers.LEVERS`).
        crop (tuple[int, int], optional): Training crop; None: the config's.
        cpu (bool): Run on CPU (plans, CPU validation): a backbone's own float16 autocast
            becomes bfloat16. Defaults to True.

    Returns:
        tuple[dict, dict, bool]: Model config, optimiser wrapper config, autocast.
    """
    cfg = copy.deepcopy(cfg)
    model_cfg = random_weights(cfg.model.to_dict())
    optim_cfg = cfg.optim_wrapper.to_dict()
    model_cfg, optim_cfg, autocast = apply_levers(model_cfg, optim_cfg, levers)
    if crop is not None:
        _set_crop(model_cfg, tuple(crop))
    backbone = model_cfg.get('segmentor', model_cfg).get('backbone', {})
    if cpu and backbone.get('autocast_dtype') == 'float16':
        # A backbone's own float16 autocast (DIFF) inside the step's bfloat16 CPU autocast
        # fails on CPU (``Unexpected floating ScalarType in at::autocast::prioritize``):
        # plan it as bfloat16, the same 2 bytes.
        backbone['autocast_dtype'] = 'bfloat16'
    optim_cfg, amp = optimizer_settings(optim_cfg, autocast)
    return model_cfg, optim_cfg, amp


def _set_crop(model_cfg: dict, crop: Tuple[int, int]) -> None:
    """Set the training crop everywhere the model config fixes the input size."""
    for node in (model_cfg, model_cfg.get('segmentor', {})):
        if node.get('data_preprocessor') is not None:
            node['data_preprocessor']['size'] = crop
    backbone = model_cfg.get('segmentor', model_cfg).get('backbone', {})
    if backbone.get('input_size') is not None:
        backbone['input_size'] = None  # keep the crop (SD configs resize every input to 512)


def build_training(model_cfg: dict, optim_cfg: dict,
                   amp: bool) -> Tuple[nn.Module, OptimWrapper]:
    """Build the model (train mode) and its optimiser wrapper as the plan runs them.

    Args:
        model_cfg (dict): Model config (from :func:`prepare_config`).
        optim_cfg (dict): Optimiser wrapper config (from :func:`prepare_config`).
        amp (bool): Run every wrapper's ``optim_context`` under autocast.

    Returns:
        tuple[nn.Module, OptimWrapper]: The model and the wrapper.
    """
    from mmseg.registry import MODELS

    import mmseg_diffuda  # noqa: F401  (registers the project's modules)
    init_default_scope('mmseg')
    model = MODELS.build(ConfigDict(model_cfg))
    model.train()
    optim_wrapper = build_optim_wrapper(model, ConfigDict(optim_cfg))
    _wrap_optim_context(optim_wrapper, amp)
    return model, optim_wrapper


def plan_train_step(cfg: Config,
                    levers: Sequence[str] = (),
                    batch_size: Optional[int] = None,
                    crop: Optional[Tuple[int, int]] = None,
                    config_name: str = '') -> MemoryPlan:
    """Plan the memory of one training iteration of ``cfg`` on fake tensors.

    Args:
        cfg (Config): The training config (full-size configs keep their architecture; weights
            are random, so no checkpoint is read).
        levers (Sequence[str]): Memory levers to switch on. Defaults to ().
        batch_size (int, optional): Source (and target) images per device; None: the config's
            ``train_dataloader.batch_size``.
        crop (tuple[int, int], optional): Training crop; None: the config's.
        config_name (str): Name recorded in the plan.

    Returns:
        MemoryPlan: The plan.
    """
    import time

    start = time.perf_counter()
    batch_size = train_batch_size(cfg) if batch_size is None else batch_size
    model_cfg, optim_cfg, amp = prepare_config(cfg, levers, crop)
    crop = tuple(crop) if crop is not None else train_crop(cfg)
    plan = MemoryPlan(config=config_name, levers=tuple(levers), batch_size=batch_size,
                      crop=crop)
    mode = PlanFakeTensorMode()
    with mode, fake_deepcopy():
        # No init_weights(): fake weights have no values to initialise (see fake_mode.py).
        model, optim_wrapper = build_training(model_cfg, optim_cfg, amp)
        mode.num_classes = _num_classes(model)
        batch = synthetic_uda_batch(batch_size, crop, mode.num_classes)
        _fill_static_figures(plan, model)
        tracker = FrozenAwareMemTracker()
        tracker.track_external(model, *_optimizers(optim_wrapper))
        before_step: Dict[str, int] = {}

        def record_gradients(optimizer, args, kwargs) -> None:
            before_step.update(_total(tracker.get_tracker_snapshot()))

        handle = register_optimizer_step_pre_hook(record_gradients)
        try:
            with tracker:
                # First iteration: creates the optimiser state.
                model.train_step(batch, optim_wrapper)
                tracker.reset_mod_stats()
                start_of_steady = _total(tracker.get_tracker_snapshot())['total']
                model.train_step(batch, optim_wrapper)
                tracker.reset_mod_stats()
        finally:
            handle.remove()
        after = _total(tracker.get_tracker_snapshot())
    peak = _total(tracker.get_tracker_snapshot('peak'))
    plan.gradient_bytes = before_step.get('gradients', 0)
    plan.optimizer_bytes = after['optimizer_state']
    plan.peak_bytes = peak['total']
    plan.peak_breakdown = {key: value for key, value in peak.items() if key != 'total'}
    plan.activation_peak_bytes = peak['activations'] + peak['backward_temporaries']
    plan.step_growth_bytes = peak['total'] - start_of_steady
    running = tracker.peak_modules
    plan.peak_modules = [name for name in running
                         if not any(other.startswith(name + '.') for other in running)]
    plan.peak_in_backward = tracker.peak_in_backward
    plan.seconds = time.perf_counter() - start
    return plan


def _fill_static_figures(plan: MemoryPlan, model: nn.Module) -> None:
    """Count trainable and frozen weights and buffers (shared modules once)."""
    seen = set()
    for param in model.parameters():
        if id(param) in seen:
            continue
        seen.add(id(param))
        size = param.numel() * param.element_size()
        if param.requires_grad:
            plan.trainable_params += param.numel()
            plan.trainable_bytes += size
        else:
            plan.frozen_bytes += size
    plan.buffer_bytes = sum(buffer.numel() * buffer.element_size() for buffer in model.buffers())
