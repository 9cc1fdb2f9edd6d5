"""MMEngine strategy that shards a segmentor's trainable parameters with torch's FSDP2.

MMEngine 0.10.7's ``FSDPStrategy`` wraps the model in torch's FSDP1, which refuses to run
without an accelerator in torch 2.14 (``tests/test_engine/test_fsdp_cpu.py``). This strategy
is only an adapter: the sharding engine is torch's own FSDP2
(:func:`torch.distributed.fsdp.fully_shard`), which runs on GPUs (nccl) and CPUs (gloo).
"""
import re
import time
from typing import Callable, Dict, List, Optional, Sequence, Set

import mmengine
import torch
import torch.distributed as dist
from mmengine._strategy import DDPStrategy
from mmengine.device import get_device
from mmengine.dist import get_rank
from mmengine.registry import STRATEGIES
from mmengine.runner.checkpoint import save_checkpoint
from torch import nn
from torch.distributed._composable.replicate import replicate
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     set_model_state_dict)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard, register_fsdp_forward_method
from torch.distributed.tensor import DTensor

#: diffusers UNet blocks, each sharded as one unit (one all-gather / reduce-scatter each).
UNET_BLOCK_TYPES = ('CrossAttnDownBlock2D', 'DownBlock2D', 'UNetMidBlock2DCrossAttn',
                    'UNetMidBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D')
#: Methods of a UDA student called from outside its ``forward`` that need its parameters.
STUDENT_FORWARD_METHODS = ('predict', '_forward')


@STRATEGIES.register_module()
class FSDP2Strategy(DDPStrategy):
    """Shard the student of a (UDA) segmentor with torch's FSDP2 ``fully_shard``.

    ``tools/train.py --strategy fsdp`` builds MMEngine's ``FlexibleRunner`` with this strategy.
    Units (one ``fully_shard`` call each, bottom-up):

    1. every module whose class name is in ``block_types`` (the SD UNet's down, mid and up
       blocks by default),
    2. for a UDA segmentor with an :class:`~mmseg_diffuda.models.utils.EMATeacher`, each
       student module that the teacher *shares* (``ema.shared_modules``, e.g. MADM's
       ``backbone.unet``) and that has trainable parameters: the teacher calls it outside the
       student's ``forward``, so it gathers its own parameters,
    3. the root: ``student`` for a UDA segmentor (the prompt, projections, decode head and
       the rest of its trainable parameters), else the whole segmentor. The student's
       ``predict`` and ``_forward`` (evaluation) are registered as FSDP forward methods.

    Trainable networks outside the student are replicated, not sharded: every child module of
    a UDA segmentor other than ``student`` and ``teacher`` that has trainable parameters (ICCLD's
    latent ``discriminator``) goes through torch's composable DDP
    (:func:`torch.distributed._composable.replicate`). Each process keeps the whole network;
    its backward all-reduces (averages) the gradients as DDP does, so its own optimiser (ICCLD's
    ``discriminator`` entry of the ``OptimWrapperDict``) steps on the same gradients on every
    process, and its weights stay identical across processes (DDP broadcasts rank 0's at the
    start). ``replicate`` keeps the module, its class's methods and its state-dict keys (no
    ``module.`` wrapper), and leaves fully-sharded modules alone. Such networks are small, so
    sharding them would save little memory for one more unit of collectives; ICCLD also calls
    its discriminator with its parameters frozen (``requires_grad=False``, the adversarial
    term), which DDP handles as in a DDP run (no gradients, nothing reduced). The DDP engine is
    built at once (not at its first forward, which for ICCLD is such a frozen pass, where DDP
    would find no parameter that requires a gradient). Trainable parameters that are neither
    in the student nor in such a child (on the segmentor itself, in the teacher) are an error.

    Models whose losses read a tensor *inside* a block (not its output) need
    ``reshard_after_forward=False``: ICCLD's target pass has only the adversarial term, on the
    input of an up block's upsampler, so the gradients reach that block's parameters without
    passing through its output, where FSDP2 gathers them again for the backward (``RuntimeError:
    The tensor has a non-zero number of elements, but its data is not allocated yet``). The
    ICCLD configs set it (``strategy = dict(reshard_after_forward=False)``).

    Frozen parameters (``requires_grad=False``: the VAE, the text encoder, a frozen UNet output)
    are not sharded: every process keeps them whole, as in a DDP run.

    The EMA teacher is not sharded: its own parameters (for MADM and ICCLD the copies of the
    prompt, projections and head; the UNet, VAE and text encoder are shared) stay whole on every
    process. :meth:`EMATeacher.update` gathers each sharded student parameter
    (``DTensor.full_tensor``) before averaging, so the teacher equals a single-process run's.
    The teacher never gets gradients (its parameters do not require them).

    Checkpoints hold the full, unsharded state under the same keys as a non-sharded run
    (torch's ``get_model_state_dict(full_state_dict=True)``), so ``tools/test.py`` and the
    normal ``Runner`` load them. Loading (``load_from``) scatters a full state dict into the
    shards. Resuming (``--resume``) is refused: the optimiser state is sharded and this
    strategy does not convert it (train on from the weights with ``load_from`` instead).

    Args:
        block_types (Sequence[str]): Class names of modules sharded as their own unit.
            Defaults to :data:`UNET_BLOCK_TYPES`.
        reshard_after_forward (bool): Blocks free their gathered parameters after each forward
            (less memory, one more all-gather in backward). Defaults to True. The outer units
            (shared modules, the root) always keep them until their backward.
        **kwargs: Arguments of mmengine's ``DDPStrategy`` / ``BaseStrategy`` (``work_dir``,
            ``env_kwargs``, ...); ``model_wrapper`` and ``sync_bn`` are not supported.
    """

    def __init__(self,
                 *,
                 block_types: Sequence[str] = UNET_BLOCK_TYPES,
                 reshard_after_forward: bool = True,
                 **kwargs) -> None:
        for unsupported in ('model_wrapper', 'sync_bn'):
            if kwargs.get(unsupported) is not None:
                raise ValueError(f'FSDP2Strategy: {unsupported} is not supported (FSDP2 shards '
                                 'the model in place, without a wrapper); remove it.')
        super().__init__(**kwargs)
        self.block_types = tuple(block_types)
        self.reshard_after_forward = reshard_after_forward

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device and shard it in place (see the class docstring).

        Args:
            model (nn.Module): The built, initialised segmentor.

        Returns:
            nn.Module: The same module, its trainable parameters sharded (``DTensor``).
        """
        if not dist.is_initialized():
            raise RuntimeError('FSDP2Strategy needs a process group: start the run with '
                               '`torchrun --nproc-per-node N tools/train.py CONFIG --launcher '
                               'pytorch --strategy fsdp` (N may be 1).')
        model = model.to(get_device())
        device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        mesh = init_device_mesh(device_type, (dist.get_world_size(), ))
        frozen = {param for param in model.parameters() if not param.requires_grad}
        for name in self.shard_units(model):
            unit = model.get_submodule(name)
            if not any(param.requires_grad for param in unit.parameters()):
                continue
            # Blocks free their gathered parameters after forward. The outer units (the UNet,
            # the student) keep them until their backward: gradients can reach their
            # parameters without passing through their outputs (the UNet's time embedding
            # gets them through the feature taps of the up blocks, while the UNet output feeds
            # the VAE decoder without gradient), so FSDP2's pre-backward hook on the outputs
            # would not gather them again ("setStorage: ... storage of size 0").
            is_block = type(unit).__name__ in self.block_types
            fully_shard(unit, mesh=mesh,
                        reshard_after_forward=self.reshard_after_forward and is_block,
                        ignored_params={p for p in unit.parameters() if p in frozen})
        if hasattr(model, 'student'):
            for method in STUDENT_FORWARD_METHODS:
                register_fsdp_forward_method(model.student, method)
        replicated = self.replicate_units(model)
        for name in replicated:
            self._replicate(model.get_submodule(name))
        unsynchronised = [
            name for name, param in model.named_parameters()
            if param.requires_grad and not isinstance(param, DTensor)
            and not any(name.startswith(f'{unit}.') for unit in replicated)
        ]
        if unsynchronised:
            raise RuntimeError(
                f'FSDP2Strategy: trainable parameters outside the student and outside a child '
                f'module of the segmentor would not be synchronised across processes: '
                f'{unsynchronised[:5]}. It shards the student and replicates the other trainable '
                'children (e.g. a discriminator); move these parameters into such a child '
                'module, or train without --strategy fsdp (DDP).')
        return model

    def replicate_units(self, model: nn.Module) -> List[str]:
        """Names of the children replicated with composable DDP (see the class docstring).

        Args:
            model (nn.Module): The segmentor, its student already sharded.

        Returns:
            list[str]: Children of a UDA segmentor other than ``student`` and ``teacher``
            with trainable parameters that are not sharded (empty for a plain segmentor,
            which is sharded whole).
        """
        if not isinstance(getattr(model, 'student', None), nn.Module):
            return []
        return [name for name, child in model.named_children()
                if name not in ('student', 'teacher')
                and any(param.requires_grad and not isinstance(param, DTensor)
                        for param in child.parameters())]

    @staticmethod
    def _replicate(module: nn.Module) -> None:
        """Apply torch's composable DDP to ``module`` and build its DDP engine now.

        Args:
            module (nn.Module): A trainable child outside the student (modified in place).
        """
        # Buffers are broadcast from rank 0 once, when DDP is built, then kept per process (as
        # broadcast_buffers=False of the DDP configs, which torch 2.14 deprecates).
        kwargs: Dict[str, object] = dict(forward_sync_buffers=False)
        if torch.cuda.is_available():
            kwargs['device_id'] = torch.cuda.current_device()
        replicate(module, **kwargs)
        # replicate() builds DDP (and broadcasts rank 0's weights) at the first forward; ICCLD's
        # first one runs with the parameters frozen, where DDP refuses to build ("not needed
        # when a module doesn't have any parameter that requires a gradient").
        replicate.state(module).lazy_init()

    def shard_units(self, model: nn.Module) -> List[str]:
        """Names of the modules sharded as units, deepest first (``''`` is the model).

        Args:
            model (nn.Module): The segmentor.

        Returns:
            list[str]: Dotted module names in the order of the ``fully_shard`` calls.
        """
        root = 'student' if isinstance(getattr(model, 'student', None), nn.Module) else ''
        teacher = getattr(model, 'teacher', None)
        units: Set[str] = {root}
        for name, module in model.named_modules():
            if name.startswith('teacher.') or name == 'teacher':
                continue  # the teacher's own copies are not sharded
            if type(module).__name__ in self.block_types:
                units.add(name)
        for shared in getattr(teacher, 'shared_modules', ()):
            units.add(f'{root}.{shared}' if root else shared)
        return sorted(units, key=lambda name: -len(name.split('.')) if name else 0)

    def _build_param_scheduler(self, scheduler: object, optim_wrapper: object,
                               default_args: dict) -> list:
        """mmengine's ``_build_param_scheduler`` on a copy of ``default_args``.

        mmengine 0.10.7 pops ``max_iters`` / ``max_epochs`` from the dict that
        ``build_param_scheduler`` shares between the optimisers of an ``OptimWrapperDict``, so
        the second optimiser's schedulers (ICCLD's ``discriminator``) fail with ``ValueError:
        max_iters must be specified in default_args``.

        Args:
            scheduler (_ParamScheduler | dict | list): Schedulers of one optimiser.
            optim_wrapper (BaseOptimWrapper): That optimiser's wrapper.
            default_args (dict): Shared defaults (``max_iters``, ...); not modified.

        Returns:
            list[_ParamScheduler]: The built schedulers.
        """
        return super()._build_param_scheduler(scheduler, optim_wrapper, dict(default_args))

    def model_state_dict(self) -> dict:
        """The full (unsharded) model state dict, with the keys of a non-sharded run.

        Every process takes part in the gathering; all of them return the full dict.

        Returns:
            dict: Parameter and buffer tensors by name.
        """
        return get_model_state_dict(self.model, options=StateDictOptions(full_state_dict=True))

    def load_model_state_dict(self,
                              state_dict: dict,
                              *,
                              strict: bool = False,
                              revise_keys: list = [(r'^module.', '')]) -> None:
        """Load a full (unsharded) state dict into the sharded model.

        Args:
            state_dict (dict): Model state dict of any run (sharded or not).
            strict (bool): Whether keys must match exactly. Defaults to False.
            revise_keys (list): ``(pattern, replacement)`` pairs applied to the keys first.
                Defaults to stripping a leading ``module.``.
        """
        for pattern, replacement in revise_keys:
            state_dict = {re.sub(pattern, replacement, key): value
                          for key, value in state_dict.items()}
        set_model_state_dict(self.model, state_dict,
                             options=StateDictOptions(full_state_dict=True, strict=strict))

    def resume(self, filename: str, **kwargs) -> dict:
        """Refuse to resume: the sharded optimiser state is not converted by this strategy.

        Args:
            filename (str): The checkpoint that was to be resumed.
            **kwargs: The resume options of ``BaseStrategy.resume``.

        Raises:
            RuntimeError: Always, naming the alternatives.
        """
        raise RuntimeError(
            f'--resume is not supported with --strategy fsdp (FSDP2Strategy): the sharded '
            f'optimiser state is not restored. Start a new run from the weights with '
            f'--cfg-options load_from={filename} (the optimiser and schedule restart), or '
            'resume without --strategy fsdp (DDP).')

    def save_checkpoint(self,
                        filename: str,
                        *,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        extra_ckpt: Optional[dict] = None,
                        callback: Optional[Callable] = None) -> None:
        """Gather the full model on every process, write it from rank 0.

        The optimiser state is not saved (it is sharded, and resume is refused).

        Args:
            filename (str): The checkpoint file.
            save_optimizer (bool): Ignored (see above).
            save_param_scheduler (bool): Save the parameter schedulers. Defaults to True.
            extra_ckpt (dict, optional): Extra entries (``meta``, ``message_hub``, ...).
            callback (Callable, optional): Called with the checkpoint before writing it
                (``before_save_checkpoint`` hooks).
        """
        checkpoint: Dict[str, object] = dict(state_dict=self.model_state_dict())
        if save_param_scheduler and hasattr(self, 'param_schedulers'):
            checkpoint['param_schedulers'] = self.scheduler_state_dict()
        extra_ckpt = dict(extra_ckpt or {})
        extra_ckpt.setdefault('meta', dict())
        extra_ckpt['meta'].update(seed=self.seed,
                                  time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
                                  mmengine=mmengine.__version__)
        checkpoint.update(extra_ckpt)
        if get_rank() == 0:
            if callback is not None:
                callback(checkpoint)
            save_checkpoint(checkpoint, filename)
