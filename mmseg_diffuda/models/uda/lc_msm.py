"""LC-MSM: language-conditioned masked segmentation on DAFormer self-training.

LC-MSM (Kim, Lee and Lee, "LC-MSM: Language-Conditioned Masked Segmentation Model for
Unsupervised Domain Adaptation", Pattern Recognition 148, 2024), official
``mmseg/models/uda/dacs_tigda.py`` (``DACSTigDA``), ``mmseg/models/segmentors/
tigda_encoder_decoder.py`` (``TigDAEncoderDecoder``) and
``mmseg/models/uda/masking_consistency_module.py``; built on DAFormer/MIC (:class:`DACS`).
"""
from typing import Dict, List, Optional

import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptSampleList, SampleList, add_prefix
from torch import Tensor

from ..utils.seg_loss import pixel_weighted_head_loss
from .dacs import DACS, MixedBatch
from .uda_encoder_decoder import UDAEncoderDecoder

#: The language head's text projection, relative to the student (shared with the teacher).
TEXT_PROJECTION = 'language_head.text_projection'


@MODELS.register_module()
class LanguageConditionedEncoderDecoder(UDAEncoderDecoder):
    """A UDAEncoderDecoder with a second, language-conditioned head for training.

    LC-MSM's ``TigDAEncoderDecoder``: one encoder, the main ``decode_head`` (DAFormer) and a
    ``language_head`` (:class:`LanguageConditionedHead`). Predictions (``predict``,
    ``encode_decode``, the ``'tensor'`` mode) use the main head only, as the official
    ``encode_decode``; the language head trains the shared encoder on masked images and gives
    the teacher's pseudo-labels:

    .. code:: text

        forward(mode='loss', use_language_head=False)   main head (+ auxiliary heads), as
                                                        UDAEncoderDecoder
        forward(mode='loss', use_language_head=True)    language head only ('lang.' losses,
                                                        optionally pixel-weighted)
        encode_decode_language(inputs, metas)           language-head logits at input size

    Args:
        language_head (ConfigType): Language head config (``LanguageConditionedHead``); its
            ``num_classes`` must be the main head's.
        **kwargs: :class:`EncoderDecoder` arguments (``backbone``, ``decode_head``, ``neck``,
            ``auxiliary_head``, ``train_cfg``, ``test_cfg``, ``data_preprocessor``,
            ``pretrained``, ``init_cfg``).
    """

    def __init__(self, language_head: ConfigType, **kwargs) -> None:
        super().__init__(**kwargs)
        self.language_head = MODELS.build(language_head)
        if self.language_head.num_classes != self.num_classes:
            raise ValueError(f'LanguageConditionedEncoderDecoder: language_head.num_classes '
                             f'({self.language_head.num_classes}) differs from decode_head.'
                             f'num_classes ({self.num_classes}); set both to the dataset\'s.')

    def forward(self, inputs: Tensor, data_samples: OptSampleList = None, mode: str = 'tensor',
                seg_weight: Optional[Tensor] = None, return_feats: bool = False,
                use_language_head: bool = False):
        """:meth:`UDAEncoderDecoder.forward`, or the language-head losses.

        Args:
            inputs (Tensor): Batch of normalised images, (B, 3, H, W).
            data_samples (list[SegDataSample], optional): With ``gt_sem_seg`` in loss mode.
            mode (str): One of ``'loss'``, ``'predict'``, ``'tensor'``. Defaults to
                ``'tensor'``.
            seg_weight (Tensor, optional): (B, H, W) loss weights; loss mode only.
            return_feats (bool): Return the encoder features too; main-head loss mode only.
            use_language_head (bool): In loss mode, the language head's losses replace the main
                head's. Defaults to False.

        Returns:
            What ``mode`` returns (losses, predictions or logits).
        """
        if not use_language_head:
            return super().forward(inputs, data_samples, mode, seg_weight, return_feats)
        if mode != 'loss' or return_feats:
            raise ValueError('LanguageConditionedEncoderDecoder: use_language_head only applies '
                             f'to mode="loss" without return_feats, got mode="{mode}", '
                             f'return_feats={return_feats}.')
        return self.language_loss(inputs, data_samples, seg_weight)

    def language_loss(self, inputs: Tensor, data_samples: SampleList,
                      seg_weight: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Losses of the language head, ``lang.``-prefixed, optionally pixel-weighted.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.
            seg_weight (Tensor, optional): Pixel weights (B, H, W). Defaults to None.

        Returns:
            dict[str, Tensor]: ``lang.loss_*`` and ``lang.acc_seg``.
        """
        logits = self.language_head(self.extract_feat(inputs))
        return add_prefix(
            pixel_weighted_head_loss(self.language_head, logits, data_samples, seg_weight),
            'lang')

    def encode_decode_language(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Language-head logits at the size given by the metas (official
        ``encode_decode_with_clip``)."""
        feats = self.extract_feat(inputs)
        return self.language_head.predict(feats, batch_img_metas, self.test_cfg)


@MODELS.register_module()
class LCMSM(DACS):
    """LC-MSM self-training: DAFormer plus language-conditioned masked segmentation.

    One iteration (official ``DACSTigDA.forward_train``), each loss term one student forward
    and one backward, then one optimiser step:

    .. code:: text

        train_losses(source, target)
          ├─ source_loss         main-head CE on the source + ImageNet feature distance (DACS)
          ├─ masked_source_loss  language head on the strongly augmented, block-masked source,
          │                      against the source labels (no pixel weight)
          ├─ pseudo_label        teacher pseudo-labels from the teacher's LANGUAGE head on the
          │                      full target, weight q (DAFormer's confidence ratio)
          ├─ mix                 ClassMix + strong augmentation (DACS)
          ├─ mixed_loss          main-head pixel-weighted CE on the mixed batch (DACS)
          └─ masked_mixed_loss   language head on the mixed image after a second strong
                                 augmentation draw and block masking, against the mixed labels
                                 with the mixed pixel weights

    Inference uses the student's main head (:class:`LanguageConditionedEncoderDecoder`).
    Both masked terms are scaled by ``mask_loss_weight`` (LC-MSM's ``mask_lambda``; the
    official scaling addresses a key its losses do not have, so only ``mask_lambda=1`` ever
    ran). The masked images get a new colour-jitter + blur draw with one blur sigma per batch
    (``mask_strong_aug``, as the official masking module) before ``masking``.

    The teacher is the EMA of the whole student, language head included, except the language
    head's text projection: officially the projection lives outside the segmentor, is trained
    only by the masked losses and the teacher's pseudo-label pass uses the student's projected
    text features. ``share_text_projection=True`` (default) reproduces that by sharing the
    student's projection with the teacher (:class:`EMATeacher` ``shared_modules``).

    Args:
        segmentor (ConfigType): Student config, a :class:`LanguageConditionedEncoderDecoder`.
        ema (ConfigType): :class:`EMATeacher` arguments. Defaults to ``dict(alpha=0.999)``
            (LC-MSM).
        share_text_projection (bool): The teacher uses the student's text projection instead of
            an EMA copy (official). Defaults to True.
        masking (ConfigType): Block mask generator. Defaults to
            ``dict(type='BlockMasking', mask_ratio=0.5, block_size=32)`` (LC-MSM config).
        **kwargs: Further :class:`DACS` arguments (``pseudo_threshold``, ``feature_distance``,
            ``strong_aug``, ``mask_strong_aug``, ``mask_loss_weight``, ...).
    """

    def __init__(self,
                 segmentor: ConfigType,
                 ema: ConfigType = dict(alpha=0.999),
                 share_text_projection: bool = True,
                 masking: ConfigType = dict(type='BlockMasking', mask_ratio=0.5, block_size=32),
                 **kwargs) -> None:
        if 'language_head' not in segmentor:
            raise TypeError('LCMSM needs a student with a language head: set model.segmentor.'
                            'type="LanguageConditionedEncoderDecoder" and model.segmentor.'
                            'language_head=dict(type="LanguageConditionedHead", ...).')
        if masking is None:
            raise ValueError('LCMSM trains its language head on masked images: set model.'
                             'masking, e.g. dict(type="BlockMasking", mask_ratio=0.5, '
                             'block_size=32).')
        if ema is not None and share_text_projection:
            shared = tuple(ema.get('shared_modules', ()))
            ema = dict(ema, shared_modules=shared + (TEXT_PROJECTION, ) * (
                TEXT_PROJECTION not in shared))
        super().__init__(segmentor, ema=ema, masking=masking, **kwargs)
        if not isinstance(self.student, LanguageConditionedEncoderDecoder):
            raise TypeError('LCMSM: model.segmentor.type must be "LanguageConditionedEncoder'
                            f'Decoder" (got {type(self.student).__name__}).')

    def train_losses(self, source: dict, target: Optional[dict],
                     optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """The four LC-MSM loss terms of one iteration, each with its own backward.

        Args:
            source (dict): Preprocessed source batch ``dict(inputs, data_samples)``.
            target (dict): Preprocessed target batch.
            optim_wrapper (OptimWrapper): Used for ``optim_context`` and ``backward``.

        Returns:
            dict[str, Tensor]: ``src.*``, ``masked_src.*``, ``mix.*``, ``masked_mix.*`` losses
            and accuracies, ``pseudo_confidence`` and ``mix_ratio``.
        """
        if target is None:
            raise KeyError('LCMSM needs target images: the batch has no "target"; use '
                           'UDADataset(source=..., target=...).')
        src_inputs, src_samples = source['inputs'], source['data_samples']
        tgt_inputs, tgt_samples = target['inputs'], target['data_samples']
        log_vars = self._backward_term('src', optim_wrapper, self.source_loss, src_inputs,
                                       src_samples)
        log_vars.update(self._backward_term('masked_src', optim_wrapper,
                                            self.masked_source_loss, src_inputs, src_samples))
        with optim_wrapper.optim_context(self):
            pseudo = self.pseudo_label(tgt_inputs, tgt_samples)
            mixed = self.mix(src_inputs, src_samples, tgt_inputs, tgt_samples, pseudo)
        log_vars.update(self._backward_term('mix', optim_wrapper, self.mixed_loss, mixed))
        log_vars.update(self._backward_term('masked_mix', optim_wrapper,
                                            self.masked_mixed_loss, mixed))
        self.record_pseudo_label_visuals(source, target, pseudo, mixed)
        log_vars['pseudo_confidence'] = torch.tensor(pseudo.confident_ratio)
        log_vars['mix_ratio'] = torch.tensor(mixed.mix_ratio)
        return log_vars

    def _backward_term(self, prefix: str, optim_wrapper: OptimWrapper, loss_fn,
                       *args) -> Dict[str, Tensor]:
        """Run ``loss_fn(*args)`` under the optimiser context and backward it."""
        with optim_wrapper.optim_context(self):
            losses = loss_fn(*args)
        return self.backward(losses, optim_wrapper, prefix)

    def masked_source_loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Language head on the augmented, block-masked source against its labels.

        Args:
            inputs (Tensor): Normalised source images (B, 3, H, W).
            data_samples (list[SegDataSample]): Source samples with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``lang.*`` losses times ``mask_loss_weight``.
        """
        return self.masked_language_loss(inputs, data_samples)

    def masked_mixed_loss(self, mixed: MixedBatch) -> Dict[str, Tensor]:
        """Language head on the re-augmented, block-masked mixed images.

        The targets are the mixed labels with the mixed pixel weights (1 on source pixels, the
        pseudo weight on target pixels), as the official code passes the mixed weight.

        Args:
            mixed (MixedBatch): Output of :meth:`mix`.

        Returns:
            dict[str, Tensor]: ``lang.*`` losses times ``mask_loss_weight``.
        """
        return self.masked_language_loss(mixed.inputs, mixed.data_samples, mixed.weight)

    def masked_language_loss(self, inputs: Tensor, data_samples: SampleList,
                             seg_weight: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """New strong-augmentation draw, block mask, language-head loss, ``mask_loss_weight``.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with the target ``gt_sem_seg``.
            seg_weight (Tensor, optional): Pixel weights (B, H, W). Defaults to None.

        Returns:
            dict[str, Tensor]: The student's language-head losses, scaled.
        """
        mean, std = self.normalisation()
        masked = self.masking(self.mask_strong_aug(inputs, mean, std))
        losses = self.student(masked, data_samples, mode='loss', seg_weight=seg_weight,
                              use_language_head=True)
        weight = self.mask_loss_weight
        return {name: value * weight if 'loss' in name else value
                for name, value in losses.items()}

    @torch.no_grad()
    def teacher_logits(self, inputs: Tensor, data_samples: SampleList) -> Tensor:
        """Logits of the teacher's language head on the full target (official
        ``encode_decode_with_clip``), teacher in train mode with dropout/DropPath off.

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo only).

        Returns:
            Tensor: Logits (B, num_classes, H, W).
        """
        metas = [dict(sample.metainfo, img_shape=inputs.shape[2:]) for sample in data_samples]
        with self.teacher.pseudo_label_mode():
            return self.teacher.model.encode_decode_language(inputs, metas)
