"""UDASegmentor: the student/teacher container and training iteration of self-training UDA."""
from typing import Dict, List, Optional

import torch
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList,
                         add_prefix)
from torch import Tensor, nn

from ..utils.ema import EMATeacher
from ..utils.weights import check_init_cfg_files


@MODELS.register_module()
class UDASegmentor(BaseSegmentor):
    """Student segmentor + EMA teacher, trained with one optimiser step per iteration.

    The training iteration follows DAFormer (Hoyer et al., CVPR 2022), official
    ``mmseg/models/uda/uda_decorator.py`` and ``dacs.py``, rewritten for MMEngine:

    .. code:: text

        train_step(data, optim_wrapper)
          ├─ data_preprocessor(data['source']), data_preprocessor(data['target'])  (if present)
          ├─ teacher.update(student, t)                 EMA at the start of iteration t
          ├─ train_losses(source, target, optim_wrapper)
          │    for each loss term: forward under optim_context -> optim_wrapper.backward
          ├─ optim_wrapper.step(); optim_wrapper.zero_grad()    one optimiser step
          └─ local_iter += 1

    This base class trains the student on the source batch only: with ``ema=None`` it is the
    source-only / domain-generalisation path (no teacher, no target). UDA methods subclass it
    and override :meth:`train_losses` (e.g. :class:`DACS`).

    Evaluation (``val_step``, ``test_step``, ``predict``, ``_forward``, ``extract_feat``,
    ``encode_decode``) uses the **student**, as DAFormer and MIC evaluate (DAFormer issue #23),
    or the teacher with ``evaluate_teacher=True``. The teacher's normalisation buffers are its
    own running statistics (buffers are not averaged, see :class:`EMATeacher`).

    Distributed training: configs set ``model_wrapper_cfg=dict(type=
    'MMSeparateDistributedDataParallel', ...)``, which wraps every child with trainable
    parameters (here only ``student``) in DDP. Every student pass that feeds a loss is one call
    of ``self.student(...)`` followed by one backward; passes without gradients use the
    unwrapped :attr:`student_module`. The teacher holds no trainable parameter, so it is not
    wrapped; its parameters stay identical across processes because the students' do. The
    BatchNorm running statistics of student and teacher (updated on each process's own data with
    ``broadcast_buffers=False``) are averaged over the processes after every iteration by
    :class:`~mmseg_diffuda.engine.IterSyncBuffersHook` (``default_runtime.py``), so every rank
    evaluates the same model and checkpoints hold it.

    Resuming restores student, teacher and the iteration counter ``local_iter`` (a buffer in
    the checkpoint), so the EMA warm-up continues where it stopped. Checkpoint keys never
    contain the DDP wrapper's ``module.`` (see :func:`strip_wrapper_prefixes`), so checkpoints
    of distributed and single-process runs are interchangeable.

    Visualisation: while :attr:`keep_visuals` is True (set by :class:`UDAVisualizationHook` for
    the iterations it draws), the iteration keeps the first image of its batches in
    :attr:`visuals` (detached, on the CPU): ``source_image``, ``source_label``,
    ``target_image``, ``pseudo_label``, ``confidence_mask`` (pixels whose pseudo-label counts as
    confident), ``mixed_image``, ``mixed_label``, as far as the method has them (images
    normalised, as the network sees them). Nothing is kept otherwise.

    Args:
        segmentor (ConfigType): Config of the student segmentor (``UDAEncoderDecoder`` for
            methods that weight pixels or need features, any mmseg segmentor otherwise).
        data_preprocessor (OptConfigType): Preprocessor config; normalisation happens here (and
            strong augmentation reads its ``mean``/``std``). Defaults to the segmentor's
            ``data_preprocessor``.
        ema (OptConfigType): Keyword arguments of :class:`EMATeacher` (``alpha``,
            ``shared_modules``), or None for no teacher. Defaults to ``dict(alpha=0.999)``.
        evaluate_teacher (bool): Evaluate the teacher instead of the student. Defaults to False.
        pretrained (str, optional): Accepted for mmseg's API, which sets ``model.pretrained =
            None`` (``mmseg.apis.init_model``, ``MMSegInferencer``); must stay None (pretrained
            weights belong to the student: ``model.segmentor.backbone.init_cfg``).
        train_cfg (OptConfigType): Accepted for mmseg's API, which sets ``model.train_cfg =
            None``; must be None or empty (the student's ``train_cfg`` applies).
        init_cfg (OptMultiConfig): Initialisation config of this wrapper. Defaults to None.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 data_preprocessor: OptConfigType = None,
                 ema: OptConfigType = dict(alpha=0.999),
                 evaluate_teacher: bool = False,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        check_mmseg_api_args(type(self).__name__, pretrained, train_cfg)
        if data_preprocessor is None:
            data_preprocessor = segmentor.get('data_preprocessor')
        if data_preprocessor is None:
            raise ValueError(f'{type(self).__name__}: no data_preprocessor: set model.'
                             'data_preprocessor or model.segmentor.data_preprocessor (a '
                             'SegDataPreProcessor with the normalisation mean/std).')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(segmentor)
        self.teacher = None if ema is None else EMATeacher(self.student, **ema)
        if evaluate_teacher and self.teacher is None:
            raise ValueError(f'{type(self).__name__}: evaluate_teacher=True needs a teacher; '
                             'set ema=dict(alpha=...).')
        self.evaluate_teacher = evaluate_teacher
        self.keep_visuals = False
        self.visuals: Dict[str, Tensor] = {}
        # Iteration t of the EMA warm-up; a buffer, so checkpoints and --resume restore it.
        self.register_buffer('local_iter', torch.zeros((), dtype=torch.long))
        self.register_state_dict_post_hook(strip_wrapper_prefixes)

    def init_weights(self) -> None:
        """Initialise, first checking that every ``Pretrained`` init file exists."""
        check_init_cfg_files(self)
        super().init_weights()

    @property
    def student_module(self) -> nn.Module:
        """The student without its DDP wrapper (for passes that need no gradient sync)."""
        return self.student.module if is_model_wrapper(self.student) else self.student

    @property
    def eval_module(self) -> nn.Module:
        """The network used for evaluation: the student, or the teacher if configured."""
        return self.teacher.model if self.evaluate_teacher else self.student_module

    # ------------------------------------------------------------------ training
    def train_step(self, data: dict, optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One training iteration: preprocess, EMA update, backward every loss term, one step.

        Args:
            data (dict): ``dict(source=dict(inputs, data_samples), target=...)`` from
                ``pseudo_collate`` of ``UDADataset`` items (``target`` absent for source-only,
                ``source`` absent for source-free adaptation, ``TargetOnlyDataset``), or a
                plain labelled batch ``dict(inputs, data_samples)``, taken as the source.
            optim_wrapper (OptimWrapper): The optimiser wrapper of the student.

        Returns:
            dict[str, Tensor]: Every loss term, their sum ``loss``, and method statistics.
        """
        self._check_optim_wrapper(optim_wrapper)
        if not {'source', 'target', 'inputs'} & set(data):
            raise KeyError(f'{type(self).__name__}.train_step expects dict(source=..., '
                           f'target=...) batches (UDADataset), dict(target=...) batches '
                           f'(TargetOnlyDataset) or a labelled batch '
                           f'dict(inputs=..., data_samples=...), got keys {sorted(data)}.')
        if 'source' not in data and 'target' not in data:  # a plain labelled batch (DG)
            data = dict(source=data)
        self.visuals = {}
        source = (self.data_preprocessor(data['source'], True)
                  if data.get('source') is not None else None)
        target = (self.data_preprocessor(data['target'], True)
                  if data.get('target') is not None else None)
        if self.teacher is not None:
            self.teacher.update(self.student_module, int(self.local_iter))
        log_vars = self.train_losses(source, target, optim_wrapper)
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        self.local_iter += 1
        total = sum(value for key, value in log_vars.items() if 'loss' in key)
        return dict(loss=total, **log_vars)

    def train_losses(self, source: Optional[dict], target: Optional[dict],
                     optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """Compute and backward the method's loss terms of one iteration (no optimiser step).

        The base class trains on the labelled source batch only (source-only / DG).

        Args:
            source (dict, optional): Preprocessed source batch ``dict(inputs, data_samples)``
                (None for a target-only batch, which this class cannot train on).
            target (dict, optional): Preprocessed target batch (unused here).
            optim_wrapper (OptimWrapper): Used for ``optim_context`` and ``backward``.

        Returns:
            dict[str, Tensor]: Log variables, ``src.``-prefixed.
        """
        if source is None:
            raise KeyError(f'{type(self).__name__} trains on labelled source images, but the '
                           'batch has no "source" (a TargetOnlyDataset is for source-free '
                           'methods such as type="CrossMatch").')
        with optim_wrapper.optim_context(self):
            losses = self.source_loss(source['inputs'], source['data_samples'])
        self.record_visuals(source_image=source['inputs'],
                            source_label=stack_labels(source['data_samples'])[:, 0])
        return self.backward(losses, optim_wrapper, 'src')

    def record_visuals(self, **batches: Optional[Tensor]) -> None:
        """Keep the first image of each batch in :attr:`visuals` if :attr:`keep_visuals`.

        Args:
            **batches (Tensor | None): Batched tensors (B, ...) by name (None: skipped), e.g.
                ``target_image=inputs``; see the class docstring for the names.
        """
        if not self.keep_visuals:
            return
        for name, batch in batches.items():
            if batch is not None:
                self.visuals[name] = batch[0].detach().cpu()

    def source_loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Supervised loss of the student on labelled source images (one DDP forward).

        Args:
            inputs (Tensor): Normalised source images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: The student's losses.
        """
        return self.student(inputs, data_samples, mode='loss')

    def backward(self, losses: Dict[str, Tensor], optim_wrapper: OptimWrapper,
                 prefix: str) -> Dict[str, Tensor]:
        """Backward the sum of ``losses`` (the keys containing ``loss``) through the wrapper.

        ``optim_wrapper.backward`` applies AMP loss scaling; gradients accumulate until the
        single ``step`` of the iteration.

        Args:
            losses (dict[str, Tensor]): Losses of one loss term (one student forward).
            optim_wrapper (OptimWrapper): The optimiser wrapper.
            prefix (str): Prefix of the returned log keys, e.g. ``'mix'``.

        Returns:
            dict[str, Tensor]: Detached, prefixed log variables (without the term's total).
        """
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.backward(loss)
        log_vars.pop('loss')
        return add_prefix({key: value.detach() for key, value in log_vars.items()}, prefix)

    def _check_optim_wrapper(self, optim_wrapper: OptimWrapper) -> None:
        """Reject settings the multi-backward iteration does not support."""
        if getattr(optim_wrapper, '_accumulative_counts', 1) != 1:
            raise ValueError(f'{type(self).__name__} runs several backward passes and one '
                             'optimiser step per iteration; remove optim_wrapper.'
                             'accumulative_counts (gradient accumulation is not supported).')

    # ---------------------------------------------------------------- evaluation
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Features of the evaluated network (student unless ``evaluate_teacher``)."""
        return self.eval_module.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Logits of the evaluated network at input size."""
        return self.eval_module.encode_decode(inputs, batch_img_metas)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Supervised student loss on a labelled batch (``forward(mode='loss')``)."""
        return self.source_loss(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Predictions of the evaluated network (student unless ``evaluate_teacher``)."""
        return self.eval_module.predict(inputs, data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None):
        """Raw head output of the evaluated network."""
        return self.eval_module._forward(inputs, data_samples)


def stack_labels(data_samples: SampleList) -> Tensor:
    """Stack the ``gt_sem_seg`` of the samples into (B, 1, H, W) long labels."""
    return torch.stack([sample.gt_sem_seg.data for sample in data_samples]).long()


def check_mmseg_api_args(name: str, pretrained: Optional[str],
                         train_cfg: OptConfigType) -> None:
    """Accept the ``pretrained``/``train_cfg`` that mmseg's API puts on every model config.

    ``mmseg.apis.init_model`` and ``MMSegInferencer`` set ``model.pretrained = None`` and
    ``model.train_cfg = None`` on the top-level model, which is the UDA wrapper here; both
    settings belong to the student.

    Args:
        name (str): The UDA segmentor's class name (for the error).
        pretrained (str, optional): Must be None.
        train_cfg (dict, optional): Must be None or empty.

    Raises:
        ValueError: If either is set, naming the student's key to use instead.
    """
    if pretrained is not None:
        raise ValueError(f'{name}: model.pretrained={pretrained!r} is not used by UDA wrappers; '
                         'set the student\'s weights with model.segmentor.backbone.init_cfg='
                         "dict(type='Pretrained', checkpoint=...).")
    if train_cfg:
        raise ValueError(f'{name}: model.train_cfg={dict(train_cfg)} is not used by UDA '
                         'wrappers; set model.segmentor.train_cfg instead.')


def strip_wrapper_prefixes(module: nn.Module, state_dict: Dict[str, Tensor], prefix: str,
                           local_metadata: dict) -> None:
    """State-dict post-hook: name the parameters of DDP-wrapped children without ``module.``.

    ``MMSeparateDistributedDataParallel`` replaces each trainable child (``student``) by a DDP
    wrapper, so ``state_dict()`` (which mmengine 0.10's ``Runner.save_checkpoint`` calls) would
    write ``student.module.*`` keys, while mmengine's loader unwraps wrappers and expects
    ``student.*``: a distributed run could not resume its own student. This hook renames the
    keys (and their metadata) in place to the unwrapped names.

    Args:
        module (nn.Module): The module whose ``state_dict`` was called.
        state_dict (dict): The state dict being built (modified in place).
        prefix (str): The module's key prefix.
        local_metadata (dict): Unused.
    """
    wrapped = [f'{prefix}{name}.' for name, child in module.named_children()
               if is_model_wrapper(child)]
    if not wrapped:
        return

    def unwrapped(key: str) -> str:
        for child in wrapped:
            if key.startswith(f'{child}module.'):
                return child + key[len(child) + len('module.'):]
            if key == f'{child}module':  # metadata key of the wrapped module itself
                return child[:-1]
        return key

    items = [(unwrapped(key), value) for key, value in state_dict.items()]
    state_dict.clear()
    state_dict.update(items)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        items = [(unwrapped(key), value) for key, value in metadata.items()]
        metadata.clear()
        metadata.update(items)  # the inner module's metadata replaces the wrapper's
