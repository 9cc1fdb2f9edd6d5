"""DACS self-training with DAFormer's and MIC's additions.

DACS (Tranheden et al., WACV 2021); DAFormer (Hoyer et al., CVPR 2022), official
``mmseg/models/uda/dacs.py``; MIC (Hoyer et al., CVPR 2023), official
``seg/mmseg/models/uda/dacs.py`` and ``seg/mmseg/models/uda/masking_consistency_module.py``.
"""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList
from torch import Tensor

from ..utils.class_mix import get_class_masks, mix
from ..utils.feature_distance import feature_distance_loss
from ..utils.pseudo_label import PseudoLabel, pseudo_label_from_logits
from .base import UDASegmentor, stack_labels
from .frozen_encoder import FrozenEncoder
from .uda_encoder_decoder import UDAEncoderDecoder

#: Accepted keys of ``feature_distance`` and their defaults (DAFormer's final setting).
FEATURE_DISTANCE_DEFAULTS = dict(loss_weight=0.005, thing_classes=None, min_ratio=0.75)


class MixedBatch(NamedTuple):
    """A ClassMix batch (source pixels pasted onto target images).

    Attributes:
        inputs (Tensor): Strongly augmented mixed images (B, 3, H, W).
        data_samples (list[SegDataSample]): Samples whose ``gt_sem_seg`` is the mixed label.
        weight (Tensor): Pixel weights (B, H, W): 1 on source pixels, the pseudo weight on
            target pixels.
        mix_ratio (float): Share of pixels taken from the source.
    """
    inputs: Tensor
    data_samples: SampleList
    weight: Tensor
    mix_ratio: float


@MODELS.register_module()
class DACS(UDASegmentor):
    """DACS / DAFormer self-training, with MIC's masked image consistency as an option.

    One iteration, one method per paper equation (papers' section in brackets):

    .. code:: text

        train_losses(source, target)
          ├─ source_loss        source CE + ImageNet feature distance
          │   └─ feature_distance    (DAFormer "Thing-Class ImageNet Feature Distance")
          │                     one student forward, one backward
          ├─ pseudo_label       teacher argmax + confidence weight q   (DAFormer Sec. 3.1)
          ├─ mix                ClassMix of source onto target + strong augmentation (DACS)
          ├─ mixed_loss         pixel-weighted CE on the mixed batch   (DAFormer Sec. 3.1)
          │                     one student forward, one backward
          └─ masked_loss        CE of the masked target vs the teacher's pseudo-labels of the
                                unmasked target       (MIC Sec. 3, "Masked Image Consistency")
                                one student forward, one backward

    The EMA teacher update (DAFormer Sec. 3.1, ``alpha_t = min(1 - 1/(t+1), alpha)``) happens
    in :meth:`UDASegmentor.train_step` before these steps; the optimiser steps once after them.

    Choices kept from the official code:

    - Pseudo-labels come from the teacher in train mode with dropout/DropPath off
      (:meth:`EMATeacher.pseudo_label_mode`); the weight ``q`` is one scalar per batch (share of
      pixels with max probability >= ``pseudo_threshold``), low-confidence pixels are not
      ignored; the top/bottom rows get weight 0 (``pseudo_ignore_top/bottom``, DAFormer's
      "croppl" 15/120 on 512x512 Cityscapes crops).
    - ClassMix draws its classes from the whole source batch (``batch_wide_classmix``).
    - Source CE and feature distance are summed into one backward; DAFormer backwards them
      separately (``retain_graph``) before one step, which accumulates the same gradient.
    - The ImageNet encoder for the feature distance is a frozen copy of the student's encoder
      with its initial (pretrained) weights, copied in :meth:`init_weights` (after the
      student's initialisation, before any update); DAFormer builds a second segmentor from
      the same config. It uses only the last stage, on thing-class positions.
    - MIC (``masking`` set) uses ``mask_mode='separatetrgaug'``: the *unmixed* target image gets
      a new strong-augmentation draw (one blur sigma per batch, as MIC's batch-level call),
      is block-masked and trained against the pseudo-labels of the unmasked target with the
      un-mixed pseudo weight (MIC clones the weight before mixing); ``mask_loss_weight`` is
      MIC's lambda_m. MIC's own-teacher variants (``mask_alpha``/``mask_pseudo_threshold`` not
      ``'same'``) and the other mask modes are not ported.

    Args:
        segmentor (ConfigType): Student config, a :class:`UDAEncoderDecoder`.
        data_preprocessor (OptConfigType): Preprocessor config (defaults to the student's).
        ema (ConfigType): :class:`EMATeacher` arguments. Defaults to ``dict(alpha=0.99)``
            (DACS; DAFormer and MIC use 0.999).
        evaluate_teacher (bool): Evaluate the teacher instead of the student. Defaults to False.
        pseudo_threshold (float, optional): Confidence threshold tau of ``q``; None gives
            weight 1. Defaults to 0.968.
        pseudo_ignore_top (int): Rows at the top with pseudo weight 0. Defaults to 0.
        pseudo_ignore_bottom (int): Rows at the bottom with pseudo weight 0. Defaults to 0.
        batch_wide_classmix (bool): Draw ClassMix classes from the whole source batch (official
            code) instead of each image. Defaults to True.
        strong_aug (ConfigType): Strong augmentation of the mixed images. Defaults to
            ``dict(type='StrongAugmentation')`` (colour jitter s=0.2, blur).
        feature_distance (OptConfigType): ImageNet feature distance,
            ``dict(loss_weight, thing_classes, min_ratio)``; None disables it. Defaults to None.
        masking (OptConfigType): MIC's mask generator, e.g. ``dict(type='BlockMasking',
            mask_ratio=0.7, block_size=32)``; None disables MIC. Defaults to None.
        mask_strong_aug (ConfigType): Strong augmentation of the image to mask. Defaults to
            ``dict(type='StrongAugmentation', blur_sigma_per_image=False)``.
        mask_loss_weight (float): MIC's lambda_m. Defaults to 1.0.
        pretrained (str, optional): Must be None (mmseg's API sets it); see
            :class:`UDASegmentor`.
        train_cfg (OptConfigType): Must be None or empty (mmseg's API sets it).
        init_cfg (OptMultiConfig): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 data_preprocessor: OptConfigType = None,
                 ema: ConfigType = dict(alpha=0.99),
                 evaluate_teacher: bool = False,
                 pseudo_threshold: Optional[float] = 0.968,
                 pseudo_ignore_top: int = 0,
                 pseudo_ignore_bottom: int = 0,
                 batch_wide_classmix: bool = True,
                 strong_aug: ConfigType = dict(type='StrongAugmentation'),
                 feature_distance: OptConfigType = None,
                 masking: OptConfigType = None,
                 mask_strong_aug: ConfigType = dict(
                     type='StrongAugmentation', blur_sigma_per_image=False),
                 mask_loss_weight: float = 1.0,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if ema is None:
            raise ValueError('DACS needs an EMA teacher for its pseudo-labels: set ema=dict('
                             'alpha=...); for source-only training use type="UDASegmentor" '
                             'with ema=None.')
        super().__init__(segmentor, data_preprocessor, ema, evaluate_teacher, pretrained,
                         train_cfg, init_cfg)
        if not isinstance(self.student, UDAEncoderDecoder):
            raise TypeError('DACS trains with pixel-weighted losses: set model.segmentor.type='
                            f'"UDAEncoderDecoder" (got {type(self.student).__name__}).')
        self.pseudo_threshold = pseudo_threshold
        self.pseudo_ignore_top = pseudo_ignore_top
        self.pseudo_ignore_bottom = pseudo_ignore_bottom
        self.batch_wide_classmix = batch_wide_classmix
        self.strong_aug = MODELS.build(strong_aug)
        self.fd_cfg = self._feature_distance_cfg(feature_distance)
        self.imnet_encoder = None if self.fd_cfg is None else FrozenEncoder(self.student)
        self.masking = None if masking is None else MODELS.build(masking)
        self.mask_strong_aug = None if masking is None else MODELS.build(mask_strong_aug)
        self.mask_loss_weight = mask_loss_weight

    @staticmethod
    def _feature_distance_cfg(cfg: OptConfigType) -> Optional[dict]:
        """Validate ``feature_distance`` and fill in the defaults."""
        if cfg is None:
            return None
        unknown = set(cfg) - set(FEATURE_DISTANCE_DEFAULTS)
        if unknown:
            raise KeyError(f'DACS: unknown feature_distance keys {sorted(unknown)}; accepted: '
                           f'{sorted(FEATURE_DISTANCE_DEFAULTS)}.')
        return {**FEATURE_DISTANCE_DEFAULTS, **cfg}

    def init_weights(self) -> None:
        """Initialise the student, then copy its encoder into the frozen ImageNet encoder."""
        super().init_weights()
        if self.imnet_encoder is not None:
            self.imnet_encoder.load_from(self.student_module)

    # ------------------------------------------------------------ the iteration
    def train_losses(self, source: dict, target: Optional[dict],
                     optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """Source, mixed and (MIC) masked loss terms, each with its own backward.

        Args:
            source (dict): Preprocessed source batch ``dict(inputs, data_samples)``.
            target (dict): Preprocessed target batch.
            optim_wrapper (OptimWrapper): Used for ``optim_context`` and ``backward``.

        Returns:
            dict[str, Tensor]: ``src.*``, ``mix.*``, ``masked.*`` losses and accuracies,
            ``pseudo_confidence`` (share of confident target pixels) and ``mix_ratio``.
        """
        if target is None:
            raise KeyError('DACS needs target images: the batch has no "target"; use '
                           'UDADataset(source=..., target=...) or, for source-only training, '
                           'type="UDASegmentor" with ema=None.')
        src_inputs, src_samples = source['inputs'], source['data_samples']
        tgt_inputs, tgt_samples = target['inputs'], target['data_samples']
        with optim_wrapper.optim_context(self):
            src_losses = self.source_loss(src_inputs, src_samples)
        log_vars = self.backward(src_losses, optim_wrapper, 'src')

        with optim_wrapper.optim_context(self):
            pseudo = self.pseudo_label(tgt_inputs, tgt_samples)
            mixed = self.mix(src_inputs, src_samples, tgt_inputs, tgt_samples, pseudo)
            mix_losses = self.mixed_loss(mixed)
        log_vars.update(self.backward(mix_losses, optim_wrapper, 'mix'))
        self.record_pseudo_label_visuals(source, target, pseudo, mixed)

        if self.masking is not None:
            with optim_wrapper.optim_context(self):
                masked_losses = self.masked_loss(tgt_inputs, tgt_samples, pseudo)
            log_vars.update(self.backward(masked_losses, optim_wrapper, 'masked'))

        log_vars['pseudo_confidence'] = torch.tensor(pseudo.confident_ratio)
        log_vars['mix_ratio'] = torch.tensor(mixed.mix_ratio)
        return log_vars

    def record_pseudo_label_visuals(self, source: dict, target: dict, pseudo: PseudoLabel,
                                    mixed: MixedBatch) -> None:
        """Keep the iteration's images and labels for the visualisation hook (if asked).

        Args:
            source (dict): Preprocessed source batch.
            target (dict): Preprocessed target batch.
            pseudo (PseudoLabel): The target pseudo-labels.
            mixed (MixedBatch): The mixed batch.
        """
        if not self.keep_visuals:
            return
        confident = (torch.ones_like(pseudo.label, dtype=torch.bool)
                     if self.pseudo_threshold is None or pseudo.confidence is None else
                     pseudo.confidence >= self.pseudo_threshold)
        self.record_visuals(
            source_image=source['inputs'], source_label=stack_labels(source['data_samples'])[:, 0],
            target_image=target['inputs'], pseudo_label=pseudo.label, confidence_mask=confident,
            mixed_image=mixed.inputs, mixed_label=stack_labels(mixed.data_samples)[:, 0])

    def source_loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Source cross-entropy plus, if enabled, the ImageNet feature distance.

        One student forward returns the losses and the features; both terms go into the same
        backward.

        Args:
            inputs (Tensor): Normalised source images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``decode.loss_ce``, ``decode.acc_seg`` and, with FD,
            ``loss_imnet_feat_dist``.
        """
        if self.imnet_encoder is None:
            return self.student(inputs, data_samples, mode='loss')
        losses, feats = self.student(inputs, data_samples, mode='loss', return_feats=True)
        losses['loss_imnet_feat_dist'] = self.feature_distance(inputs, data_samples, feats)
        return losses

    def feature_distance(self, inputs: Tensor, data_samples: SampleList,
                         feats: Sequence[Tensor]) -> Tensor:
        """DAFormer's thing-class ImageNet feature distance on the last encoder stage.

        Args:
            inputs (Tensor): Normalised source images.
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.
            feats (Sequence[Tensor]): The student's features from the source pass.

        Returns:
            Tensor: ``lambda_FD * mean ||F_student - F_ImageNet||_2`` over thing positions.
        """
        imnet_feats = self.imnet_encoder(inputs)
        return feature_distance_loss(
            feats[-1], imnet_feats[-1], stack_labels(data_samples),
            num_classes=self.student_module.num_classes, **self.fd_cfg)

    @torch.no_grad()
    def pseudo_label(self, inputs: Tensor, data_samples: SampleList) -> PseudoLabel:
        """Teacher pseudo-labels and confidence weight of the target batch (DAFormer Sec. 3.1).

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo only).

        Returns:
            PseudoLabel: ``label`` (B, H, W), ``weight`` (B, H, W), ``confident_ratio``.
        """
        logits = self.teacher_logits(inputs, data_samples)
        return pseudo_label_from_logits(logits, self.pseudo_threshold, self.pseudo_ignore_top,
                                        self.pseudo_ignore_bottom)

    @torch.no_grad()
    def teacher_logits(self, inputs: Tensor, data_samples: SampleList) -> Tensor:
        """Teacher logits at input size, dropout/DropPath off, teacher in train mode.

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo only).

        Returns:
            Tensor: Logits (B, num_classes, H, W).
        """
        # A torch.Size img_shape makes the head resize to the (padded) input size.
        batch_img_metas = [dict(s.metainfo, img_shape=inputs.shape[2:]) for s in data_samples]
        with self.teacher.pseudo_label_mode():
            return self.teacher.model.encode_decode(inputs, batch_img_metas)

    def mix(self, src_inputs: Tensor, src_samples: SampleList, tgt_inputs: Tensor,
            tgt_samples: SampleList, pseudo: PseudoLabel) -> MixedBatch:
        """ClassMix source pixels onto the target, then strong augmentation (DACS).

        ``M`` = pixels of half of the source classes; ``x_mix = M x_S + (1 - M) x_T``,
        ``y_mix = M y_S + (1 - M) p_T``, weight ``M * 1 + (1 - M) q``.

        Args:
            src_inputs (Tensor): Normalised source images (B, 3, H, W).
            src_samples (list[SegDataSample]): Source samples with ``gt_sem_seg``.
            tgt_inputs (Tensor): Normalised target images (B, 3, H, W).
            tgt_samples (list[SegDataSample]): Target samples (metainfo).
            pseudo (PseudoLabel): The target pseudo-labels (not modified).

        Returns:
            MixedBatch: Augmented mixed images, their samples, pixel weights and mix ratio.
        """
        src_labels = stack_labels(src_samples)
        masks = torch.cat(get_class_masks(src_labels, self.batch_wide_classmix))
        images = mix(masks, src_inputs, tgt_inputs)
        labels = mix(masks, src_labels, pseudo.label[:, None])
        weight = mix(masks, torch.ones_like(pseudo.weight[:, None]), pseudo.weight[:, None])
        mean, std = self.normalisation()
        images = self.strong_aug(images, mean, std)
        return MixedBatch(
            inputs=images,
            data_samples=with_labels(tgt_samples, labels),
            weight=weight[:, 0],
            mix_ratio=masks.mean().item())

    def mixed_loss(self, mixed: MixedBatch) -> Dict[str, Tensor]:
        """Pixel-weighted cross-entropy of the student on the mixed batch (DAFormer Sec. 3.1).

        Args:
            mixed (MixedBatch): Output of :meth:`mix`.

        Returns:
            dict[str, Tensor]: The student's weighted losses.
        """
        return self.student(mixed.inputs, mixed.data_samples, mode='loss',
                            seg_weight=mixed.weight)

    def masked_loss(self, inputs: Tensor, data_samples: SampleList,
                    pseudo: PseudoLabel) -> Dict[str, Tensor]:
        """MIC masked image consistency on the target (MIC ``mask_mode='separatetrgaug'``).

        The target image gets a new strong-augmentation draw (no mixing), is block-masked and
        the student predicts the teacher's pseudo-labels of the *unmasked* image, weighted by
        the un-mixed pseudo weight; the losses are scaled by lambda_m (``mask_loss_weight``).

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo).
            pseudo (PseudoLabel): Pseudo-labels of the unmasked target.

        Returns:
            dict[str, Tensor]: The student's weighted losses times ``mask_loss_weight``.
        """
        mean, std = self.normalisation()
        masked = self.masking(self.mask_strong_aug(inputs, mean, std))
        losses = self.student(masked, with_labels(data_samples, pseudo.label[:, None]),
                              mode='loss', seg_weight=pseudo.weight)
        return {
            key: value * self.mask_loss_weight if 'loss' in key else value
            for key, value in losses.items()
        }

    def normalisation(self) -> Tuple[Tensor, Tensor]:
        """Mean and std of the data preprocessor (0-255 RGB), for strong augmentation."""
        preprocessor = self.data_preprocessor
        if not getattr(preprocessor, '_enable_normalize', False):
            raise ValueError('DACS: strong augmentation needs normalised inputs; give the data '
                             'preprocessor mean and std (SegDataPreProcessor(mean=..., std=...)).')
        return preprocessor.mean, preprocessor.std


def with_labels(data_samples: SampleList, labels: Tensor) -> SampleList:
    """New samples with the metainfo of ``data_samples`` and ``gt_sem_seg`` from ``labels``.

    Args:
        data_samples (list[SegDataSample]): Samples whose metainfo is kept.
        labels (Tensor): Labels (B, 1, H, W).

    Returns:
        list[SegDataSample]: One sample per image.
    """
    samples = []
    for sample, label in zip(data_samples, labels):
        new = SegDataSample(metainfo=sample.metainfo)
        new.gt_sem_seg = PixelData(data=label)
        samples.append(new)
    return samples
