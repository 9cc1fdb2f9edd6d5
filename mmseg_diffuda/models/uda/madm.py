"""MADM: modality adaptation with a Stable Diffusion UNet (DPLG + LPLR on DACS self-training).

MADM (Xia et al., "Unsupervised Modality Adaptation with Text-to-Image Diffusion Models for
Semantic Segmentation", NeurIPS 2024), official ``modeling/meta_arch/mtmadise.py`` (training
step, DPLG, label palette), ``modeling/meta_arch/cmdise.py`` (EMA teacher) and
``modeling/criterion.py`` (losses).
"""
import random
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor

from ..utils.class_mix import get_class_masks, mix
from ..utils.label_palette import LabelPalette
from ..utils.pseudo_label import PseudoLabel, pseudo_label_from_logits
from .dacs import DACS, MixedBatch, stack_labels, with_labels
from .uda_encoder_decoder import UDAEncoderDecoder

#: Student modules the MADM teacher uses instead of EMA copies (official ``ema_w_unet=False``:
#: the teacher is the EMA of the prompt, the projections and the head only).
MADM_SHARED_MODULES = ('backbone.unet', 'backbone.vae', 'backbone.text_encoder')
#: Accepted keys of ``dplg`` and ``lplr``.
DPLG_KEYS = ('timestep_range', 'end_iter')
LPLR_KEYS = ('palette', 'source_weight', 'target_weight', 'ignore_index')

Extras = Dict[str, Optional[Tensor]]
#: One timestep for the batch, (B,) timesteps, or None for the backbone's default.
Timesteps = Union[int, Tensor, None]


@MODELS.register_module()
class LatentEncoderDecoder(UDAEncoderDecoder):
    """UDAEncoderDecoder whose passes take a diffusion timestep and can return the UNet latent.

    MADM's student loss needs, from *one* backbone pass, both the segmentation losses and the
    UNet output latent (for the latent regression of LPLR), and its teacher pass needs a
    timestep (DPLG). Under ``MMSeparateDistributedDataParallel`` such a pass has to go through
    the student's ``forward`` (one forward, one backward), so the loss mode gets a
    ``return_extras`` option:

    .. code:: text

        forward(mode='loss', seg_weight, return_extras=True)
          └─ loss(): backbone.forward_with_extras() -> (features, extras)
                     decode head losses (pixel-weighted if seg_weight is given)
                     returns (losses, extras); extras['unet_latent'] is in the graph

    ``extract_feat`` and ``encode_decode`` take an optional ``timesteps`` (None: the
    backbone's ``default_timestep``). The backbone must provide ``forward_with_extras``
    (:class:`StableDiffusionBackbone`). Predictions and checkpoints are those of
    :class:`UDAEncoderDecoder`.
    """

    def forward(self,
                inputs: Tensor,
                data_samples: OptSampleList = None,
                mode: str = 'tensor',
                seg_weight: Optional[Tensor] = None,
                return_feats: bool = False,
                return_extras: bool = False):
        """Dispatch like :meth:`UDAEncoderDecoder.forward`, plus ``return_extras``.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample], optional): Samples (``gt_sem_seg`` for
                ``'loss'``).
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``. Defaults to ``'tensor'``.
            seg_weight (Tensor, optional): Pixel weights (B, H, W) (``'loss'`` only).
            return_feats (bool): Also return the features (``'loss'`` only).
            return_extras (bool): Return ``(losses, extras)`` with the backbone extras of the
                same pass (``'loss'`` only). Defaults to False.

        Returns:
            The output of the mode.
        """
        if not return_extras:
            return super().forward(inputs, data_samples, mode, seg_weight, return_feats)
        if mode != 'loss' or return_feats:
            raise ValueError('LatentEncoderDecoder: return_extras only applies to mode="loss" '
                             f'without return_feats, got mode="{mode}", return_feats='
                             f'{return_feats}.')
        return self.loss_with_extras(inputs, data_samples, seg_weight)

    def loss_with_extras(self, inputs: Tensor, data_samples: SampleList,
                         seg_weight: Optional[Tensor] = None) -> Tuple[dict, Extras]:
        """Head losses and the backbone extras (``unet_latent``, ...) of one pass.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.
            seg_weight (Tensor, optional): Pixel weights (B, H, W). Defaults to None.

        Returns:
            tuple[dict, dict]: Losses (as :meth:`UDAEncoderDecoder.loss`) and extras.
        """
        feats, extras = self.extract_feat_with_extras(inputs)
        return self.head_losses(feats, data_samples, seg_weight), extras

    def extract_feat_with_extras(self, inputs: Tensor,
                                 timesteps: Timesteps = None) -> Tuple[List[Tensor], Extras]:
        """Features (after the neck, if any) and the backbone extras of the same pass."""
        if not hasattr(self.backbone, 'forward_with_extras'):
            raise TypeError(f'LatentEncoderDecoder needs a backbone with forward_with_extras '
                            f'(StableDiffusionBackbone), got {type(self.backbone).__name__}.')
        feats, extras = self.backbone.forward_with_extras(inputs, timesteps)
        if self.with_neck:
            feats = self.neck(feats)
        return feats, extras

    def extract_feat(self, inputs: Tensor, timesteps: Timesteps = None) -> List[Tensor]:
        """Features at diffusion timestep(s) ``timesteps`` (None: the backbone default)."""
        feats = self.backbone(inputs, timesteps=timesteps)
        if self.with_neck:
            feats = self.neck(feats)
        return feats

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict],
                      timesteps: Timesteps = None) -> Tensor:
        """Logits at input size, the backbone noised at ``timesteps`` (None: default)."""
        feats = self.extract_feat(inputs, timesteps)
        return self.decode_head.predict(feats, batch_img_metas, self.test_cfg)


def masked_latent_l1(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """MADM's masked L1 latent regression: ``sum(|pred - target| * mask) / numel``.

    The sum is divided by the total number of elements (B x C x h x w), not by the mask sum
    (official ``modeling/criterion.py``, ``vae_decoder_loss`` with ``L1``).

    Args:
        pred (Tensor): Predicted latent (B, C, h, w).
        target (Tensor): Target latent (B, C, h, w).
        mask (Tensor): Weights (B, 1, h, w), broadcast over the channels.

    Returns:
        Tensor: Scalar loss (float32).
    """
    if pred.shape != target.shape:
        raise ValueError(f'masked_latent_l1: pred {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} differ.')
    l1 = (pred.float() - target.float()).abs() * mask.float()
    return l1.sum() / l1.numel()


@MODELS.register_module()
class MADM(DACS):
    """MADM self-training: DACS with a diffusion backbone, DPLG and LPLR.

    One iteration, one method per paper component:

    .. code:: text

        train_step (UDASegmentor): EMA update of the teacher (prompt, projections, head;
                                   the UNet, VAE and text encoder are shared, not averaged)
        train_losses(source, target)
          ├─ source_loss        source CE (+ LPLR on the source labels)
          │                     one student forward, one backward
          ├─ class_mix          ClassMix masks + mixed, strong-augmented images (DACS)
          ├─ dplg_timestep      DPLG: t = int(k (1 - it / E)) for it <= E, else 0
          ├─ pseudo_label       teacher argmax + scalar confidence weight q, the teacher's
          │                     latent noised at t (DPLG)
          ├─ mixed_labels       mixed labels and pixel weights
          └─ mixed_loss         pixel-weighted CE on the mixed batch (+ LPLR on the mixed
                                labels, mask x q), one student forward, one backward
        latent_regression       LPLR: palette(labels) -> VAE latent; masked L1 against the
                                student's UNet output latent of the same pass

    Fidelity notes (official code):

    - The teacher shares the student's UNet (``ema_w_unet=False``): pseudo-labels use the
      *current* UNet with the EMA prompt, projections and head (``ema.shared_modules``).
    - ClassMix masks and the mixed images (with strong augmentation) are built before the
      pseudo-labels, as in the official loop (:meth:`class_mix` and :meth:`mixed_labels` split
      :meth:`DACS.mix`, which MADM does not call); the draws only depend on the order through the
      random generators (the teacher pass draws none from torch; DPLG uses Python's
      ``random``, as the official ``random.randint``).
    - DPLG draws ``k`` only while ``it <= E``; afterwards ``t = 0`` without a draw.
    - The pseudo weight is one scalar for the batch (DAFormer), no pseudo-label crop, no
      ImageNet feature distance and no MIC masking (the released configs switch them off).
    - LPLR on the mixed batch regresses the *mixed* labels (source pixels pasted in) and scales
      the whole mask by the scalar pseudo weight, also on pasted source pixels (official
      ``target_color_gt_mask *= pseudo_weight``), while the CE gives those pixels weight 1.
    - Pseudo-labels come from the teacher in train mode with dropout off
      (:meth:`EMATeacher.pseudo_label_mode`, as DAFormer); the official teacher leaves the
      head's Dropout2d on.
    - The iteration counter is the checkpointed ``local_iter`` buffer, so a resumed run
      continues the DPLG schedule and the EMA ramp (the official counter restarts at 0).

    Args:
        segmentor (ConfigType): Student config, a :class:`LatentEncoderDecoder` with a
            :class:`StableDiffusionBackbone`.
        data_preprocessor (OptConfigType): Preprocessor config (defaults to the student's).
        ema (ConfigType): :class:`EMATeacher` arguments. Defaults to alpha 0.999 with the UNet,
            VAE and text encoder shared.
        evaluate_teacher (bool): Evaluate the teacher instead of the student. Defaults to False.
        pseudo_threshold (float, optional): Confidence threshold of the pseudo weight.
            Defaults to 0.968.
        batch_wide_classmix (bool): ClassMix classes from the whole source batch (official).
            Defaults to True.
        strong_aug (ConfigType): Strong augmentation of the mixed images.
        dplg (dict, optional): ``dict(timestep_range=(lo, hi), end_iter=E)``: ``k`` is drawn
            from ``[lo, hi]`` (both inclusive); None keeps the backbone's default timestep for
            the teacher. Defaults to None.
        lplr (dict, optional): ``dict(palette, source_weight, target_weight, ignore_index=255)``:
            ``palette`` is a list of ``[R, G, B]`` or a registered dataset type whose
            ``METAINFO['palette']`` is used; a weight of None switches that term off. None
            switches LPLR off. Defaults to None.
        pretrained (str, optional): Must be None (mmseg's API sets it); see
            :class:`UDASegmentor`.
        train_cfg (OptConfigType): Must be None or empty (mmseg's API sets it).
        init_cfg (OptMultiConfig): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 data_preprocessor: OptConfigType = None,
                 ema: ConfigType = dict(alpha=0.999, shared_modules=MADM_SHARED_MODULES),
                 evaluate_teacher: bool = False,
                 pseudo_threshold: Optional[float] = 0.968,
                 batch_wide_classmix: bool = True,
                 strong_aug: ConfigType = dict(type='StrongAugmentation'),
                 dplg: OptConfigType = None,
                 lplr: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            segmentor,
            data_preprocessor=data_preprocessor,
            ema=ema,
            evaluate_teacher=evaluate_teacher,
            pseudo_threshold=pseudo_threshold,
            batch_wide_classmix=batch_wide_classmix,
            strong_aug=strong_aug,
            pretrained=pretrained,
            train_cfg=train_cfg,
            init_cfg=init_cfg)
        if not isinstance(self.student, LatentEncoderDecoder):
            raise TypeError('MADM needs the UNet latent and timesteps of the student passes: '
                            'set model.segmentor.type="LatentEncoderDecoder" (got '
                            f'{type(self.student).__name__}).')
        self.dplg = self._check_dplg(dplg)
        self.lplr_weights, self.palette, self.lplr_ignore_index = self._build_lplr(lplr)

    @staticmethod
    def _check_dplg(dplg: OptConfigType) -> Optional[dict]:
        """Validate ``dplg`` and return ``dict(timestep_range=(lo, hi), end_iter=E)``."""
        if dplg is None:
            return None
        if set(dplg) != set(DPLG_KEYS):
            raise KeyError(f'MADM: dplg takes exactly the keys {DPLG_KEYS}, got {sorted(dplg)}.')
        low, high = (int(v) for v in dplg['timestep_range'])
        end_iter = int(dplg['end_iter'])
        if not 0 <= low <= high or end_iter <= 0:
            raise ValueError('MADM: dplg needs 0 <= timestep_range[0] <= timestep_range[1] and '
                             f'end_iter > 0, got {dplg}.')
        return dict(timestep_range=(low, high), end_iter=end_iter)

    @staticmethod
    def _build_lplr(lplr: OptConfigType):
        """Validate ``lplr``; return the per-term weights, the palette and the ignore index."""
        if lplr is None:
            return dict(source=None, target=None), None, 255
        unknown = sorted(set(lplr) - set(LPLR_KEYS))
        if unknown or 'palette' not in lplr:
            raise KeyError(f'MADM: lplr takes palette (required), source_weight, target_weight '
                           f'and ignore_index; got {sorted(lplr)}.')
        weights = dict(source=lplr.get('source_weight'), target=lplr.get('target_weight'))
        if all(weight is None for weight in weights.values()):
            raise ValueError('MADM: lplr has neither source_weight nor target_weight; set one '
                             '(or lplr=None to switch LPLR off).')
        return weights, LabelPalette(lplr['palette']), int(lplr.get('ignore_index', 255))

    # ------------------------------------------------------------------ iteration
    def train_losses(self, source: dict, target: Optional[dict],
                     optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """Source term, then the mixed target term (see the class docstring for the order).

        Args:
            source (dict): Preprocessed source batch ``dict(inputs, data_samples)``.
            target (dict): Preprocessed target batch.
            optim_wrapper (OptimWrapper): Used for ``optim_context`` and ``backward``.

        Returns:
            dict[str, Tensor]: ``src.*`` and ``mix.*`` losses (``loss_lplr`` when enabled),
            ``pseudo_confidence``, ``mix_ratio`` and ``dplg_timestep``.
        """
        if target is None:
            raise KeyError('MADM needs target images: the batch has no "target"; use '
                           'UDADataset(source=..., target=...).')
        src_inputs, src_samples = source['inputs'], source['data_samples']
        tgt_inputs, tgt_samples = target['inputs'], target['data_samples']
        with optim_wrapper.optim_context(self):
            src_losses = self.source_loss(src_inputs, src_samples)
        log_vars = self.backward(src_losses, optim_wrapper, 'src')

        timestep = self.dplg_timestep(int(self.local_iter))
        with optim_wrapper.optim_context(self):
            masks, mixed_inputs = self.class_mix(src_inputs, src_samples, tgt_inputs)
            pseudo = self.pseudo_label(tgt_inputs, tgt_samples, timestep)
            mixed = self.mixed_labels(masks, mixed_inputs, src_samples, tgt_samples, pseudo)
            mix_losses = self.mixed_loss(mixed, pseudo.confident_ratio)
        log_vars.update(self.backward(mix_losses, optim_wrapper, 'mix'))
        self.record_pseudo_label_visuals(source, target, pseudo, mixed)

        log_vars['pseudo_confidence'] = torch.tensor(pseudo.confident_ratio)
        log_vars['mix_ratio'] = torch.tensor(mixed.mix_ratio)
        log_vars['dplg_timestep'] = torch.tensor(float(timestep))
        return log_vars

    def dplg_timestep(self, iteration: int) -> int:
        """DPLG timestep of the teacher pass at ``iteration`` (MADM Sec. 3, DPLG).

        ``t = int(k (1 - it / E))`` with ``k ~ U{lo, ..., hi}`` (Python's ``random.randint``,
        both ends inclusive) for ``it <= E``; ``t = 0`` afterwards (no draw), i.e. the
        pseudo-labels come from progressively less noisy latents.

        Args:
            iteration (int): Training iteration, counted from 0.

        Returns:
            int: The timestep (0 without DPLG).
        """
        if self.dplg is None or iteration > self.dplg['end_iter']:
            return 0
        low, high = self.dplg['timestep_range']
        k = random.randint(low, high)
        return int(k * (1 - iteration / self.dplg['end_iter']))

    def source_loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Source CE and, with the source LPLR term, its latent regression (one pass).

        Args:
            inputs (Tensor): Normalised source images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``decode.*`` losses (+ ``loss_lplr``).
        """
        weight = self.lplr_weights['source']
        if weight is None:
            return self.student(inputs, data_samples, mode='loss')
        losses, extras = self.student(inputs, data_samples, mode='loss', return_extras=True)
        losses['loss_lplr'] = weight * self.latent_regression(
            extras['unet_latent'], stack_labels(data_samples), scale=1.0)
        return losses

    def class_mix(self, src_inputs: Tensor, src_samples: SampleList,
                  tgt_inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """ClassMix masks and the strongly augmented mixed images (DACS).

        Args:
            src_inputs (Tensor): Normalised source images (B, 3, H, W).
            src_samples (list[SegDataSample]): Source samples with ``gt_sem_seg``.
            tgt_inputs (Tensor): Normalised target images (B, 3, H, W).

        Returns:
            tuple[Tensor, Tensor]: Masks (B, 1, H, W) and mixed images (B, 3, H, W).
        """
        masks = torch.cat(get_class_masks(stack_labels(src_samples), self.batch_wide_classmix))
        mean, std = self.normalisation()
        return masks, self.strong_aug(mix(masks, src_inputs, tgt_inputs), mean, std)

    @torch.no_grad()
    def pseudo_label(self, inputs: Tensor, data_samples: SampleList,
                     timestep: int = 0) -> PseudoLabel:
        """Teacher pseudo-labels of the target, the latent noised at ``timestep`` (DPLG).

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo only).
            timestep (int): Diffusion timestep of the teacher pass. Defaults to 0.

        Returns:
            PseudoLabel: ``label``, ``weight`` (the scalar q everywhere), ``confident_ratio``.
        """
        logits = self.teacher_logits(inputs, data_samples, timestep)
        return pseudo_label_from_logits(logits, self.pseudo_threshold, self.pseudo_ignore_top,
                                        self.pseudo_ignore_bottom)

    @torch.no_grad()
    def teacher_logits(self, inputs: Tensor, data_samples: SampleList,
                       timestep: int = 0) -> Tensor:
        """Teacher logits at input size, its latent noised at ``timestep``, dropout off.

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo only).
            timestep (int): Diffusion timestep of the teacher pass. Defaults to 0.

        Returns:
            Tensor: Logits (B, num_classes, H, W).
        """
        batch_img_metas = [dict(s.metainfo, img_shape=inputs.shape[2:]) for s in data_samples]
        with self.teacher.pseudo_label_mode():
            return self.teacher.model.encode_decode(inputs, batch_img_metas, timesteps=timestep)

    def mixed_labels(self, masks: Tensor, mixed_inputs: Tensor, src_samples: SampleList,
                     tgt_samples: SampleList, pseudo: PseudoLabel) -> MixedBatch:
        """Mixed labels ``M y_S + (1 - M) p_T`` and weights ``M + (1 - M) q`` (DACS).

        Args:
            masks (Tensor): ClassMix masks (B, 1, H, W).
            mixed_inputs (Tensor): The mixed images of :meth:`class_mix`.
            src_samples (list[SegDataSample]): Source samples with ``gt_sem_seg``.
            tgt_samples (list[SegDataSample]): Target samples (metainfo).
            pseudo (PseudoLabel): The target pseudo-labels.

        Returns:
            MixedBatch: Images, samples with the mixed labels, pixel weights, mix ratio.
        """
        labels = mix(masks, stack_labels(src_samples), pseudo.label[:, None])
        weight = mix(masks, torch.ones_like(pseudo.weight[:, None]), pseudo.weight[:, None])
        return MixedBatch(inputs=mixed_inputs, data_samples=with_labels(tgt_samples, labels),
                          weight=weight[:, 0], mix_ratio=masks.mean().item())

    def mixed_loss(self, mixed: MixedBatch, pseudo_weight: float = 1.0) -> Dict[str, Tensor]:
        """Pixel-weighted CE on the mixed batch and, with the target LPLR term, its regression.

        Args:
            mixed (MixedBatch): Output of :meth:`mixed_labels`.
            pseudo_weight (float): Scalar pseudo weight q that scales the LPLR mask.

        Returns:
            dict[str, Tensor]: ``decode.*`` losses (+ ``loss_lplr``).
        """
        weight = self.lplr_weights['target']
        if weight is None:
            return self.student(mixed.inputs, mixed.data_samples, mode='loss',
                                seg_weight=mixed.weight)
        losses, extras = self.student(mixed.inputs, mixed.data_samples, mode='loss',
                                      seg_weight=mixed.weight, return_extras=True)
        losses['loss_lplr'] = weight * self.latent_regression(
            extras['unet_latent'], stack_labels(mixed.data_samples), scale=pseudo_weight)
        return losses

    def latent_regression(self, unet_latent: Tensor, labels: Tensor, scale: float) -> Tensor:
        """LPLR: L1 between the UNet output latent and the latent of the painted labels.

        ``labels`` are painted with the palette (ignore -> black), mapped to [-1, 1], resized
        like the student's input (``prepare_images``) and encoded by the frozen VAE (posterior
        mean x scaling factor, no gradient). The valid-label mask is nearest-resized to the
        latent size and multiplied by ``scale``; see :func:`masked_latent_l1`.

        Args:
            unet_latent (Tensor): The student's UNet output (B, C, h, w), in the graph.
            labels (Tensor): Labels (B, 1, H, W).
            scale (float): Mask scale (1 on the source, the pseudo weight q on the target).

        Returns:
            Tensor: The unweighted LPLR loss.
        """
        backbone = self.student_module.backbone
        with torch.no_grad():
            images = self.palette(labels).to(unet_latent.device)
            target = backbone.encode_latent(backbone.prepare_images(images))
            valid = (labels != self.lplr_ignore_index).float()
            mask = F.interpolate(valid, size=unet_latent.shape[2:], mode='nearest') * scale
        return masked_latent_l1(unet_latent, target, mask)

