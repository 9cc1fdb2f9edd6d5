"""CrossMatch: source-free adaptation with a depth auxiliary stream and cross-modal consistency.

CrossMatch (Yin, Hu, Liu, Wang, Xiang, Zimmermann, "CrossMatch: Source-Free Domain Adaptive
Semantic Segmentation via Cross-Modal Consistency Training", ICCV 2023). The paper's abstract
fixes: an asymmetric two-stream architecture (the RGB segmentor kept for inference plus a
multimodal auxiliary network taking depth, used only in training), dual-head pseudo-label
denoising, and a cross-modal pixel-wise consistency between the two streams' predictions under
modality variance and image perturbations. There is **no public code**; every choice the
abstract leaves open is made here, switchable in the config, and listed with its reason and
precedent in ``docs/methods/crossmatch.md``.
"""
import os.path as osp
from typing import Dict, NamedTuple, Optional

import torch
import torch.nn.functional as F
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList, add_prefix
from torch import Tensor, nn

from ..utils.ema import EMATeacher
from ..utils.seg_loss import pixel_weighted_head_loss
from .dacs import DACS, with_labels
from .rgbd_auxiliary import RGBDAuxiliaryNetwork


class DualPseudoLabel(NamedTuple):
    """Agreement-filtered pseudo-labels of a target batch.

    Attributes:
        label (Tensor): Class per pixel, ``ignore_index`` where not kept, long (B, H, W).
        kept_ratio (float): Share of the batch's pixels that keep a label.
        agreement_ratio (float): Share of pixels where the two streams' arg-max agree
            (before the confidence thresholds and the row crop).
    """
    label: Tensor
    kept_ratio: float
    agreement_ratio: float


@torch.no_grad()
def agreement_pseudo_label(main_logits: Tensor,
                           aux_logits: Tensor,
                           main_threshold: float,
                           aux_threshold: float,
                           ignore_top: int = 0,
                           ignore_bottom: int = 0,
                           ignore_index: int = 255) -> DualPseudoLabel:
    """Dual-head pseudo-label denoising: keep a pixel where both streams agree confidently.

    A pixel keeps the label ``c`` iff ``argmax p_main = argmax p_aux = c`` **and**
    ``max p_main >= main_threshold`` **and** ``max p_aux >= aux_threshold`` (softmax
    probabilities); every other pixel, and the ``ignore_top`` / ``ignore_bottom`` rows (DAFormer's
    pseudo-label crop), gets ``ignore_index``. Agreement of two differently informed predictors
    as a noise filter follows co-training (Blum & Mitchell, COLT 1998) and its use for
    pseudo-labels in segmentation (e.g. cross pseudo supervision, Chen et al., CVPR 2021); the
    per-stream thresholds are FixMatch's confidence masking (Sohn et al., NeurIPS 2020).

    Args:
        main_logits (Tensor): Main (RGB) teacher logits (B, C, H, W).
        aux_logits (Tensor): Auxiliary (RGB-D) teacher logits (B, C, H, W).
        main_threshold (float): Minimum main-stream confidence.
        aux_threshold (float): Minimum auxiliary-stream confidence.
        ignore_top (int): Rows ignored at the top. Defaults to 0.
        ignore_bottom (int): Rows ignored at the bottom. Defaults to 0.
        ignore_index (int): Label of ignored pixels. Defaults to 255.

    Returns:
        DualPseudoLabel: Labels, kept ratio and agreement ratio.
    """
    if main_logits.shape != aux_logits.shape or main_logits.dim() != 4:
        raise ValueError('agreement_pseudo_label expects two logit maps of the same shape '
                         f'(B, C, H, W), got {tuple(main_logits.shape)} and '
                         f'{tuple(aux_logits.shape)}.')
    main_prob, main_label = torch.softmax(main_logits.float(), dim=1).max(dim=1)
    aux_prob, aux_label = torch.softmax(aux_logits.float(), dim=1).max(dim=1)
    agree = main_label == aux_label
    keep = agree & main_prob.ge(main_threshold) & aux_prob.ge(aux_threshold)
    if ignore_top > 0:
        keep[:, :ignore_top] = False
    if ignore_bottom > 0:
        keep[:, max(0, keep.shape[1] - ignore_bottom):] = False
    label = torch.where(keep, main_label, torch.full_like(main_label, ignore_index))
    return DualPseudoLabel(
        label=label,
        kept_ratio=keep.float().mean().item(),
        agreement_ratio=agree.float().mean().item())


def cross_modal_consistency(main_logits: Tensor, aux_logits: Tensor,
                            symmetric: bool = True) -> Tensor:
    """Pixel-wise consistency between the two streams' class distributions.

    Each stream is pulled towards the other's **detached** prediction by a KL divergence,
    averaged over pixels (``B * H * W``):

    .. math::

        L = \\tfrac12 [\\mathrm{KL}(\\bar p_{aux} \\| p_{main}) +
                       \\mathrm{KL}(\\bar p_{main} \\| p_{aux})]

    (bar = stop-gradient), the mutual form of deep mutual learning (Zhang et al., CVPR 2018).
    Its gradient with respect to the main logits at a pixel is ``(p_main - p_aux) / (2 N)``,
    and symmetrically for the auxiliary logits; it is zero for identical predictions.
    ``symmetric=False`` keeps only the first term (teacher-student: the RGB-D stream teaches
    the RGB stream, which is cross-modal distillation, e.g. Gupta et al., CVPR 2016), with
    gradient ``(p_main - p_aux) / N`` for the main logits and none for the auxiliary ones.

    Args:
        main_logits (Tensor): Main-stream logits (B, C, h, w).
        aux_logits (Tensor): Auxiliary-stream logits (B, C, h, w).
        symmetric (bool): Mutual (True) or auxiliary-teaches-main (False). Defaults to True.

    Returns:
        Tensor: The scalar loss.
    """
    if main_logits.shape != aux_logits.shape:
        raise ValueError('cross_modal_consistency expects logits of the same shape, got '
                         f'{tuple(main_logits.shape)} and {tuple(aux_logits.shape)}.')
    num_pixels = main_logits.shape[0] * main_logits.shape[2] * main_logits.shape[3]
    main_log_prob = F.log_softmax(main_logits.float(), dim=1)
    aux_log_prob = F.log_softmax(aux_logits.float(), dim=1)

    def kl_to(target_log_prob: Tensor, log_prob: Tensor) -> Tensor:
        target_log_prob = target_log_prob.detach()
        return (target_log_prob.exp() * (target_log_prob - log_prob)).sum() / num_pixels

    main_term = kl_to(aux_log_prob, main_log_prob)
    if not symmetric:
        return main_term
    return 0.5 * (main_term + kl_to(main_log_prob, aux_log_prob))


def load_source_state_dict(path: str, num_classes: int) -> Dict[str, Tensor]:
    """The segmentor weights of a stage-1 (source) checkpoint.

    Accepts checkpoints of a UDA wrapper (the student's ``student.*`` keys are taken, e.g.
    ``configs/toy/source-only_mitb0-tiny_toy.py``) and of a plain mmseg segmentor
    (``backbone.*``, ``decode_head.*``). Loaded with ``weights_only=True`` (the project's
    checkpoints are plain data).

    Args:
        path (str): Checkpoint file.
        num_classes (int): Classes of the adaptation config's segmentor.

    Returns:
        dict[str, Tensor]: The segmentor state dict.

    Raises:
        FileNotFoundError: The file is missing.
        ValueError: The file holds no segmentor, or its class count differs.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'CrossMatch: source_checkpoint {path!r} does not exist (relative paths resolve '
            f'from {osp.abspath(".")}). Train the source model first (stage 1, e.g. python '
            'tools/train.py configs/toy/source-only_mitb0-tiny_toy.py), then pass its '
            'checkpoint with --cfg-options model.source_checkpoint=<work_dir>/iter_N.pth.')
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    if any(key.startswith('student.') for key in state):
        state = {key[len('student.'):]: value for key, value in state.items()
                 if key.startswith('student.')}
    if not any(key.startswith('decode_head.') for key in state):
        raise ValueError(
            f'CrossMatch: source_checkpoint {path!r} holds no segmentor weights (no '
            '"decode_head.*" or "student.decode_head.*" keys); give the checkpoint written by '
            'the source-only training (stage 1).')
    classifier = state.get('decode_head.conv_seg.weight')
    if classifier is not None and classifier.shape[0] != num_classes:
        raise ValueError(
            f'CrossMatch: source_checkpoint {path!r} predicts {classifier.shape[0]} classes but '
            f'the adaptation config\'s segmentor has {num_classes}; train the source model with '
            'the same classes (decode_head.num_classes and dataset classes) as the adaptation.')
    return state


@MODELS.register_module()
class CrossMatch(DACS):
    """Source-free CrossMatch self-training on unlabelled target images with depth.

    Stage 1 is an ordinary source-only training (``UDASegmentor`` with ``ema=None``); this class
    is stage 2, trained on :class:`TargetOnlyDataset` batches ``dict(target=...)`` whose samples
    carry ``gt_depth_map`` (:class:`LoadDepthFromFile`). One iteration:

    .. code:: text

        train_step                     (UDASegmentor: preprocess, main EMA teacher update)
          └─ train_losses(target)
               ├─ aux_teacher.update                auxiliary EMA teacher, same alpha_t
               ├─ dual_pseudo_label                 both teachers on the clean target view:
               │                                    agreement + confidence  (dual-head denoising)
               └─ stream_losses                     one forward per stream, one backward:
                    ├─ main  = student(strong_aug_A(x))          CE vs pseudo-labels
                    ├─ aux   = auxiliary(strong_aug_B(x), depth) CE vs pseudo-labels
                    └─ consistency(main, aux)       pixel-wise KL  (cross-modal consistency)

    Interpretation choices (the abstract is silent; reasons in ``docs/methods/crossmatch.md``):

    - Both pseudo-label heads are EMA teachers (DAFormer's ``alpha_t`` warm-up), the main one
      of the student and one of the auxiliary network, evaluated on the un-augmented target
      view in pseudo-label mode (dropout/DropPath off), as DAFormer's teacher.
    - The two student streams see *independent* strong-augmentation draws of the target
      (DACS colour jitter + blur, FixMatch's weak-to-strong scheme); depth is not perturbed,
      so the streams differ in modality and in photometric perturbation.
    - The pseudo-label loss is the decode head's own CE with ``ignore_index`` on rejected
      pixels; with ``avg_non_ignore=False`` (DAFormer's reduction) it is divided by all pixels,
      so it scales with the kept ratio as DAFormer's weight ``q`` scales with confidence.
    - Consistency is computed on the head-resolution logits (1/4 of the input), by
      :func:`cross_modal_consistency`.
    - Initialisation: :meth:`init_weights` loads ``source_checkpoint`` into the student, its
      teacher, the auxiliary network's RGB segmentor and the auxiliary teacher; the depth path
      is zero-initialised, so all four start as the source model.
    - Evaluation and export use the student alone (:class:`UDASegmentor`); the auxiliary
      network and its teacher are training-only.

    Reused from :class:`DACS`: the EMA teacher's logits (:meth:`DACS.teacher_logits`), the
    strong augmentation and its normalisation constants, the pseudo-label row crop
    (``pseudo_ignore_top/bottom``). Its ClassMix/feature distance/masking are source-based and
    unused (there is no source image).

    Args:
        segmentor (ConfigType): Student config, a ``UDAEncoderDecoder``.
        data_preprocessor (OptConfigType): Preprocessor config (defaults to the student's).
        ema (ConfigType): :class:`EMATeacher` arguments of both teachers. Defaults to
            ``dict(alpha=0.999)`` (DAFormer).
        evaluate_teacher (bool): Evaluate the main teacher instead of the student.
            Defaults to False.
        source_checkpoint (str, optional): Stage-1 checkpoint loaded by :meth:`init_weights`.
            Required: source-free adaptation of an untrained model is meaningless, so
            :meth:`init_weights` refuses None unless ``random_source=True``. Defaults to None.
        auxiliary (ConfigType): Auxiliary network config without ``segmentor`` (the student's
            config is used). Defaults to ``dict(type='RGBDAuxiliaryNetwork')``.
        pseudo_threshold (float): Main-teacher confidence threshold. Defaults to 0.9.
        aux_pseudo_threshold (float): Auxiliary-teacher confidence threshold. Defaults to 0.9.
        pseudo_ignore_top (int): Rows at the top without pseudo-labels. Defaults to 0.
        pseudo_ignore_bottom (int): Rows at the bottom without pseudo-labels. Defaults to 0.
        aux_loss_weight (float): Weight of the auxiliary stream's CE. Defaults to 1.0.
        consistency_weight (float): Weight of the consistency loss; 0 disables it (ablation).
            Defaults to 1.0.
        symmetric_consistency (bool): Mutual consistency (True) or the auxiliary stream
            teaching the main one only (False). Defaults to True.
        strong_aug (ConfigType): Strong augmentation of both streams' inputs. Defaults to
            ``dict(type='StrongAugmentation')``.
        random_source (bool): Adapt the segmentor's own (random or ``init_cfg``)
            initialisation when ``source_checkpoint`` is None: for unit tests and architecture
            checks only. Defaults to False.
        pretrained (str, optional): Must be None (mmseg's API sets it); see
            :class:`UDASegmentor`.
        train_cfg (OptConfigType): Must be None or empty (mmseg's API sets it).
        init_cfg (OptMultiConfig): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 data_preprocessor: OptConfigType = None,
                 ema: ConfigType = dict(alpha=0.999),
                 evaluate_teacher: bool = False,
                 source_checkpoint: Optional[str] = None,
                 auxiliary: ConfigType = dict(type='RGBDAuxiliaryNetwork'),
                 pseudo_threshold: float = 0.9,
                 aux_pseudo_threshold: float = 0.9,
                 pseudo_ignore_top: int = 0,
                 pseudo_ignore_bottom: int = 0,
                 aux_loss_weight: float = 1.0,
                 consistency_weight: float = 1.0,
                 symmetric_consistency: bool = True,
                 strong_aug: ConfigType = dict(type='StrongAugmentation'),
                 random_source: bool = False,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            segmentor,
            data_preprocessor=data_preprocessor,
            ema=ema,
            evaluate_teacher=evaluate_teacher,
            pseudo_threshold=pseudo_threshold,
            pseudo_ignore_top=pseudo_ignore_top,
            pseudo_ignore_bottom=pseudo_ignore_bottom,
            strong_aug=strong_aug,
            pretrained=pretrained,
            train_cfg=train_cfg,
            init_cfg=init_cfg)
        for name, value in (('pseudo_threshold', pseudo_threshold),
                            ('aux_pseudo_threshold', aux_pseudo_threshold)):
            if not 0 <= value <= 1:
                raise ValueError(f'CrossMatch: {name} must be in [0, 1], got {value}.')
        if 'segmentor' in auxiliary:
            raise KeyError('CrossMatch: auxiliary must not set "segmentor": the auxiliary '
                           'network copies the student\'s architecture (model.segmentor).')
        self.source_checkpoint = source_checkpoint
        self.random_source = random_source
        self.auxiliary = MODELS.build(dict(auxiliary, segmentor=segmentor))
        if not isinstance(self.auxiliary, RGBDAuxiliaryNetwork):
            raise TypeError('CrossMatch: auxiliary must build an RGBDAuxiliaryNetwork, got '
                            f'{type(self.auxiliary).__name__}.')
        self.aux_teacher = EMATeacher(self.auxiliary, **ema)
        self.aux_pseudo_threshold = aux_pseudo_threshold
        self.aux_loss_weight = aux_loss_weight
        self.consistency_weight = consistency_weight
        self.symmetric_consistency = symmetric_consistency

    @property
    def auxiliary_module(self) -> RGBDAuxiliaryNetwork:
        """The auxiliary network without its DDP wrapper."""
        return self.auxiliary.module if is_model_wrapper(self.auxiliary) else self.auxiliary

    # ------------------------------------------------------------ initialisation
    def init_weights(self) -> None:
        """Initialise, then load the source model into all four networks (if configured)."""
        super().init_weights()
        if self.source_checkpoint is None:
            if self.random_source:
                return
            raise ValueError(
                'CrossMatch: model.source_checkpoint is None, so the adaptation would start from '
                'an untrained model (source-free adaptation needs the source model). Train the '
                'source model first (stage 1), e.g. `python tools/train.py '
                'configs/toy/source-only_mitb0-tiny_toy.py` (or configs/crossmatch/source-only_*'
                '.py on real data), then pass its checkpoint with --cfg-options '
                'model.source_checkpoint=<work_dir>/iter_N.pth.')
        state = load_source_state_dict(self.source_checkpoint,
                                       self.student_module.decode_head.num_classes)
        for name, module in (('student', self.student_module),
                             ('teacher', self.teacher.model),
                             ('auxiliary.segmentor', self.auxiliary_module.segmentor)):
            self._load_segmentor(module, state, name)
        self.aux_teacher.model.load_state_dict(self.auxiliary_module.state_dict())

    def _load_segmentor(self, module: nn.Module, state: Dict[str, Tensor], name: str) -> None:
        """Load ``state`` strictly into ``module``, naming the checkpoint in errors."""
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise ValueError(
                f'CrossMatch: source_checkpoint {self.source_checkpoint!r} does not match the '
                f'architecture of model.segmentor ({name}): {err}. Use the checkpoint of a '
                'source model trained with the same model config.') from err

    # ------------------------------------------------------------ the iteration
    def train_losses(self, source: Optional[dict], target: Optional[dict],
                     optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """Dual pseudo-labels, then both streams' losses in one backward.

        Args:
            source (dict, optional): Must be None (source-free).
            target (dict): Preprocessed target batch whose samples carry ``gt_depth_map``.
            optim_wrapper (OptimWrapper): Used for ``optim_context`` and ``backward``.

        Returns:
            dict[str, Tensor]: ``tgt.main.*``, ``tgt.aux.*``, ``tgt.loss_consistency``,
            ``pseudo_kept_ratio`` and ``pseudo_agreement``.
        """
        if source is not None:
            raise ValueError('CrossMatch is source-free but the batch has "source" images; '
                             'train on TargetOnlyDataset(target=...) batches.')
        if target is None:
            raise KeyError('CrossMatch needs target images: the batch has no "target"; use '
                           'TargetOnlyDataset(target=...).')
        self.aux_teacher.update(self.auxiliary_module, int(self.local_iter))
        inputs, samples = target['inputs'], target['data_samples']
        depth = self.stack_depth(samples)
        pseudo = self.dual_pseudo_label(inputs, samples, depth)
        with optim_wrapper.optim_context(self):
            losses = self.stream_losses(inputs, samples, depth, pseudo)
        log_vars = self.backward(losses, optim_wrapper, 'tgt')
        ignore_index = self.student_module.decode_head.ignore_index
        self.record_visuals(target_image=inputs, pseudo_label=pseudo.label,
                            confidence_mask=pseudo.label != ignore_index)
        log_vars['pseudo_kept_ratio'] = torch.tensor(pseudo.kept_ratio)
        log_vars['pseudo_agreement'] = torch.tensor(pseudo.agreement_ratio)
        return log_vars

    def stack_depth(self, data_samples: SampleList) -> Optional[Tensor]:
        """Depth maps (B, 1, H, W) of the samples; None for an RGB-only auxiliary network.

        Args:
            data_samples (list[SegDataSample]): Preprocessed target samples.

        Returns:
            Tensor, optional: Metric depth, 0 = invalid.
        """
        if not self.auxiliary_module.uses_depth:
            return None
        if any('gt_depth_map' not in sample for sample in data_samples):
            raise KeyError('CrossMatch: the target samples have no gt_depth_map; add '
                           'dict(type="LoadDepthFromFile") after LoadImage in the target '
                           'pipeline, or set model.auxiliary.depth_encoder=None (RGB-only '
                           'auxiliary network).')
        return torch.stack([sample.gt_depth_map.data for sample in data_samples]).float()

    @torch.no_grad()
    def dual_pseudo_label(self, inputs: Tensor, data_samples: SampleList,
                          depth: Optional[Tensor]) -> DualPseudoLabel:
        """Agreement-filtered pseudo-labels of both EMA teachers on the clean target view.

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo).
            depth (Tensor, optional): Target depth (B, 1, H, W).

        Returns:
            DualPseudoLabel: See :func:`agreement_pseudo_label`.
        """
        main_logits = self.teacher_logits(inputs, data_samples)
        with self.aux_teacher.pseudo_label_mode():
            aux_logits = self.aux_teacher.model(inputs, depth)
        aux_logits = resize(aux_logits, size=inputs.shape[2:], mode='bilinear',
                            align_corners=self.student_module.decode_head.align_corners)
        return agreement_pseudo_label(
            main_logits, aux_logits, self.pseudo_threshold, self.aux_pseudo_threshold,
            self.pseudo_ignore_top, self.pseudo_ignore_bottom,
            self.student_module.decode_head.ignore_index)

    def stream_losses(self, inputs: Tensor, data_samples: SampleList, depth: Optional[Tensor],
                      pseudo: DualPseudoLabel) -> Dict[str, Tensor]:
        """Pseudo-label CE of both streams on independent strong views, plus consistency.

        One forward of each trainable network (``student`` and ``auxiliary``, each a DDP
        child under ``MMSeparateDistributedDataParallel``), then the caller's one backward.

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo).
            depth (Tensor, optional): Target depth (B, 1, H, W).
            pseudo (DualPseudoLabel): Output of :meth:`dual_pseudo_label`.

        Returns:
            dict[str, Tensor]: ``main.*`` and ``aux.*`` head losses/accuracies and
            ``loss_consistency`` (when enabled).
        """
        mean, std = self.normalisation()
        labelled = with_labels(data_samples, pseudo.label[:, None])
        main_logits = self.student(self.strong_aug(inputs, mean, std), mode='tensor')
        aux_logits = self.auxiliary(self.strong_aug(inputs, mean, std), depth)
        losses = add_prefix(
            pixel_weighted_head_loss(self.student_module.decode_head, main_logits, labelled),
            'main')
        aux_losses = pixel_weighted_head_loss(self.auxiliary_module.segmentor.decode_head,
                                              aux_logits, labelled)
        losses.update(add_prefix({
            key: value * self.aux_loss_weight if 'loss' in key else value
            for key, value in aux_losses.items()
        }, 'aux'))
        if self.consistency_weight > 0:
            losses['loss_consistency'] = self.consistency_weight * cross_modal_consistency(
                main_logits, aux_logits, self.symmetric_consistency)
        return losses
