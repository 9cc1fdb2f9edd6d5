"""ICCLD: DACS self-training of a latent-diffusion segmenter with adversarial latent alignment.

ICCLD (Yu, Sun, Chi, Yang, Luo, "Adversarially Domain-adaptive Latent Diffusion for
Unsupervised Semantic Segmentation", CVPR 2025 Workshops, arXiv 2412.16859; v1 "CICLD") has no
public code. Its abstract fixes a latent-diffusion segmenter with an inter-coder connection
(:class:`~mmseg_diffuda.models.backbones.InterCoderDiffusionBackbone`) and adversarial
alignment of latent feature distributions across the source, mixed and target domains during
the latent diffusion process. Everything else is our interpretation, listed in the class
docstring and in ``docs/methods/iccld.md`` with the precedent of each choice.
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor, nn

from . import optim_constructor  # noqa: F401  (registers ChildOptimWrapperConstructor)
from .dacs import DACS
from .latent_discriminator import domain_accuracy, domain_confusion_loss
from .madm import MADM_SHARED_MODULES, LatentEncoderDecoder

#: The three domains of ICCLD, in the order of the discriminator's classes.
DOMAINS = ('source', 'mixed', 'target')
#: Log prefix of each domain's student pass (DACS's ``src`` / ``mix``).
PASS_PREFIX = dict(source='src', mixed='mix', target='tgt')

#: Features (detached) and timesteps of one student pass, the discriminator's training input.
DomainFeatures = Dict[str, Tuple[Tensor, Tensor]]


@MODELS.register_module()
class LatentFeatureEncoderDecoder(LatentEncoderDecoder):
    """:class:`LatentEncoderDecoder` whose ``'tensor'`` mode can return the backbone extras.

    ICCLD aligns the student's UNet features of *unlabelled target* images, a pass without a
    segmentation loss. Under ``MMSeparateDistributedDataParallel`` that pass must still go
    through the student's ``forward`` (DDP all-reduces only gradients of passes made through
    the wrapper), hence ``forward(inputs, mode='tensor', return_extras=True)`` ->
    ``(features, extras)``. All other modes are those of :class:`LatentEncoderDecoder`.
    """

    def forward(self,
                inputs: Tensor,
                data_samples: OptSampleList = None,
                mode: str = 'tensor',
                seg_weight: Optional[Tensor] = None,
                return_feats: bool = False,
                return_extras: bool = False):
        """Dispatch like :meth:`LatentEncoderDecoder.forward`, plus tensor-mode extras.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample], optional): Samples.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``. Defaults to ``'tensor'``.
            seg_weight (Tensor, optional): Pixel weights (``'loss'`` only).
            return_feats (bool): Also return the features (``'loss'`` only).
            return_extras (bool): ``'loss'``: ``(losses, extras)``; ``'tensor'``:
                ``(features, extras)`` of one backbone pass. Defaults to False.

        Returns:
            The output of the mode.
        """
        if mode == 'tensor' and return_extras:
            return self.extract_feat_with_extras(inputs)
        return super().forward(inputs, data_samples, mode, seg_weight, return_feats,
                               return_extras)


@MODELS.register_module()
class ICCLD(DACS):
    """DACS with a latent-diffusion student and a three-domain latent discriminator.

    One iteration (GAN update order of AdaptSegNet, Tsai et al., CVPR 2018, official
    ``train_gta2cityscapes_multi.py``, and ADVENT, Vu et al., CVPR 2019, official
    ``advent/domain_adaptation/train_UDA.py``: segmenter terms with the discriminator frozen,
    then the discriminator on detached features, then both optimisers step):

    .. code:: text

        train_step: EMA teacher update (UDASegmentor), then
        train_losses(source, target)
          ├─ source pass   CE(source) + lambda_adv L_G(D(f_S, t_S))      one backward
          ├─ pseudo_label  teacher at t = pseudo_label_timestep (clean latent)
          ├─ mix           ClassMix + strong augmentation (DACS)          -> mixed domain
          ├─ mixed pass    weighted CE(mixed) + lambda_adv L_G(D(f_M, t_M))   one backward
          ├─ target pass   lambda_adv L_G(D(f_T, t_T)) (features only)   one backward
          └─ discriminator_update   CE(D([f_S, f_M, f_T].detach()), [0, 1, 2])  own backward
                                    and step of the discriminator's optimiser
        then one step of the student's optimiser (UDASegmentor.train_step)

    ``f`` is a raw UNet decoder tap of the student pass (``extras['unet_features']``,
    ``adversarial_feature`` picks the level; default the deepest, stride 32) and ``t`` the
    pass's own diffusion timesteps (drawn by the backbone in training), so the alignment acts
    on noised latents of the diffusion process. During the segmenter terms the discriminator's
    parameters are frozen (``requires_grad=False``, AdaptSegNet/ADVENT), so its gradients come
    only from its own loss, and its input there is detached, so the student gets none from it.

    Generator objective ``L_G``:

    - ``domain_confusion=True`` (default): cross-entropy against the uniform distribution over
      the domains (Tzeng et al., ICCV 2015), applied to every aligned domain: the three
      distributions are pulled together symmetrically, and the discriminator's accuracy should
      fall toward chance, ``1 / len(domains)``.
    - ``domain_confusion=False``: AdaptSegNet's label flip, CE against the *source* label for
      every non-source domain (the source is the reference distribution).

    Domain labels: every position of a source / mixed / target feature map gets the index of
    its domain in ``domains``; a ClassMix image is one "mixed" sample (ICCLD v1's third
    domain), not split into its source and target pixels.

    Without a discriminator (``discriminator=None``, the ablation) the iteration is exactly
    :meth:`DACS.train_losses` with this student.

    Args:
        segmentor (ConfigType): Student config, a :class:`LatentFeatureEncoderDecoder` (with an
            :class:`InterCoderDiffusionBackbone`, whose extras hold ``unet_features``).
        data_preprocessor (OptConfigType): Preprocessor config (defaults to the student's).
        ema (ConfigType): :class:`EMATeacher` arguments. Defaults to alpha 0.999 with the UNet,
            VAE and text encoder shared (MADM's memory-saving teacher).
        evaluate_teacher (bool): Evaluate the teacher instead of the student. Defaults to False.
        pseudo_threshold (float, optional): Confidence threshold of the pseudo weight.
            Defaults to 0.968.
        pseudo_ignore_top (int): Rows at the top with pseudo weight 0. Defaults to 0.
        pseudo_ignore_bottom (int): Rows at the bottom with pseudo weight 0. Defaults to 0.
        batch_wide_classmix (bool): ClassMix classes from the whole source batch. Defaults to
            True.
        strong_aug (ConfigType): Strong augmentation of the mixed images.
        pseudo_label_timestep (int): Diffusion timestep of the teacher pass. Defaults to 0.
        discriminator (dict, optional): Discriminator config (e.g.
            ``LatentDomainDiscriminator``; its ``num_domains`` is set to ``len(domains)``);
            None: no adversarial alignment. Defaults to None.
        adversarial_weight (float): lambda_adv. Defaults to 0.001 (ADVENT; AdaptSegNet's
            output level).
        adversarial_feature (int): Index of the aligned level in ``extras['unet_features']``
            (0: stride 8, 1: 16, 2 or -1: 32). Defaults to -1.
        domains (Sequence[str]): Aligned domains, a subset of ``('source', 'mixed',
            'target')`` in that order, at least two. Defaults to all three.
        domain_confusion (bool): Generator objective (see above). Defaults to True.
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
                 pseudo_ignore_top: int = 0,
                 pseudo_ignore_bottom: int = 0,
                 batch_wide_classmix: bool = True,
                 strong_aug: ConfigType = dict(type='StrongAugmentation'),
                 pseudo_label_timestep: int = 0,
                 discriminator: OptConfigType = None,
                 adversarial_weight: float = 0.001,
                 adversarial_feature: int = -1,
                 domains: Sequence[str] = DOMAINS,
                 domain_confusion: bool = True,
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
            batch_wide_classmix=batch_wide_classmix,
            strong_aug=strong_aug,
            pretrained=pretrained,
            train_cfg=train_cfg,
            init_cfg=init_cfg)
        if not isinstance(self.student, LatentFeatureEncoderDecoder):
            raise TypeError('ICCLD aligns the features of target passes without labels: set '
                            'model.segmentor.type="LatentFeatureEncoderDecoder" (got '
                            f'{type(self.student).__name__}).')
        self.pseudo_label_timestep = pseudo_label_timestep
        self.domains = self._check_domains(domains, domain_confusion)
        self.domain_confusion = domain_confusion
        self.adversarial_weight = adversarial_weight
        self.adversarial_feature = adversarial_feature
        self.discriminator = None
        if discriminator is not None:
            self.discriminator = MODELS.build(dict(discriminator,
                                                   num_domains=len(self.domains)))
        self._discriminator_wrapper: Optional[OptimWrapper] = None

    @staticmethod
    def _check_domains(domains: Sequence[str], confusion: bool) -> Tuple[str, ...]:
        domains = tuple(domains)
        if (len(domains) < 2 or len(set(domains)) != len(domains)
                or [d for d in DOMAINS if d in domains] != list(domains)):
            raise ValueError(f'ICCLD: domains must be at least two of {DOMAINS}, in that order, '
                             f'got {domains}.')
        if not confusion and 'source' not in domains:
            raise ValueError('ICCLD: domain_confusion=False pulls the other domains toward the '
                             'source, so domains must include "source".')
        return domains

    @property
    def discriminator_module(self) -> Optional[nn.Module]:
        """The discriminator without its DDP wrapper (for the frozen generator-term passes)."""
        disc = self.discriminator
        return disc.module if is_model_wrapper(disc) else disc

    # ------------------------------------------------------------------ optimisers
    def train_step(self, data: dict, optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One iteration; with a discriminator, ``optim_wrapper`` holds both optimisers.

        Args:
            data (dict): ``dict(source=..., target=...)`` from ``UDADataset``.
            optim_wrapper (OptimWrapper | OptimWrapperDict): With a discriminator, an
                ``OptimWrapperDict`` with ``student`` and ``discriminator`` (config:
                ``constructor='ChildOptimWrapperConstructor'``); without, the student's wrapper.

        Returns:
            dict[str, Tensor]: Losses and statistics (``disc.*`` for the discriminator).
        """
        student_wrapper, disc_wrapper = self.split_optim_wrapper(optim_wrapper)
        self._discriminator_wrapper = disc_wrapper
        try:
            return super().train_step(data, student_wrapper)
        finally:
            self._discriminator_wrapper = None

    def split_optim_wrapper(self, optim_wrapper: OptimWrapper
                            ) -> Tuple[OptimWrapper, Optional[OptimWrapper]]:
        """The student's and the discriminator's wrappers, checked against the model.

        Args:
            optim_wrapper (OptimWrapper | OptimWrapperDict): What the runner built.

        Returns:
            tuple[OptimWrapper, OptimWrapper | None]: Student and discriminator wrappers.
        """
        example = ("optim_wrapper=dict(constructor='ChildOptimWrapperConstructor', "
                   'student=dict(...), discriminator=dict(...))')
        if not isinstance(optim_wrapper, OptimWrapperDict):
            if self.discriminator is not None:
                raise TypeError('ICCLD with a discriminator needs one optimiser per network: '
                                f'set {example} (configs/_base_/uda/iccld.py).')
            return optim_wrapper, None
        expected = {'student'} | ({'discriminator'} if self.discriminator is not None else set())
        if set(optim_wrapper.keys()) != expected:
            raise KeyError(f'ICCLD: optim_wrapper must hold exactly {sorted(expected)}, got '
                           f'{sorted(optim_wrapper.keys())} ({example}).')
        return optim_wrapper['student'], optim_wrapper.optim_wrappers.get('discriminator')

    # ------------------------------------------------------------------ iteration
    def train_losses(self, source: dict, target: Optional[dict],
                     optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """DACS terms with the adversarial terms, then the discriminator update.

        Args:
            source (dict): Preprocessed source batch ``dict(inputs, data_samples)``.
            target (dict): Preprocessed target batch.
            optim_wrapper (OptimWrapper): The student's wrapper.

        Returns:
            dict[str, Tensor]: ``src.*``, ``mix.*``, ``tgt.*`` losses (``loss_adv``),
            ``disc.*`` (domain CE and accuracies), ``pseudo_confidence``, ``mix_ratio``.
        """
        if self.discriminator is None:
            return super().train_losses(source, target, optim_wrapper)
        if target is None:
            raise KeyError('ICCLD needs target images: the batch has no "target"; use '
                           'UDADataset(source=..., target=...).')
        if self._discriminator_wrapper is None:
            raise RuntimeError('ICCLD.train_losses runs inside train_step, which provides the '
                               "discriminator's optimiser wrapper.")
        tgt_inputs, tgt_samples = target['inputs'], target['data_samples']
        features: DomainFeatures = {}
        log_vars = self.student_pass(optim_wrapper, 'source', features, source['inputs'],
                                     source['data_samples'])
        with optim_wrapper.optim_context(self):
            pseudo = self.pseudo_label(tgt_inputs, tgt_samples)
            mixed = self.mix(source['inputs'], source['data_samples'], tgt_inputs, tgt_samples,
                             pseudo)
        log_vars.update(self.student_pass(optim_wrapper, 'mixed', features, mixed.inputs,
                                          mixed.data_samples, mixed.weight))
        if 'target' in self.domains:
            log_vars.update(self.student_pass(optim_wrapper, 'target', features, tgt_inputs))
        log_vars.update(self.discriminator_update(features, self._discriminator_wrapper))
        self.record_pseudo_label_visuals(source, target, pseudo, mixed)
        log_vars['pseudo_confidence'] = torch.tensor(pseudo.confident_ratio)
        log_vars['mix_ratio'] = torch.tensor(mixed.mix_ratio)
        return log_vars

    def student_pass(self,
                     optim_wrapper: OptimWrapper,
                     domain: str,
                     features: DomainFeatures,
                     inputs: Tensor,
                     data_samples: OptSampleList = None,
                     seg_weight: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """One student forward (CE if labelled + adversarial term) and its backward.

        Args:
            optim_wrapper (OptimWrapper): The student's wrapper.
            domain (str): ``'source'``, ``'mixed'`` or ``'target'`` (no labels: no CE).
            features (dict): Receives the pass's detached features and timesteps.
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample], optional): Labelled samples (not for target).
            seg_weight (Tensor, optional): Pixel weights of the CE (mixed batch).

        Returns:
            dict[str, Tensor]: Detached log variables prefixed by the pass.
        """
        with optim_wrapper.optim_context(self):
            if domain == 'target':
                losses: Dict[str, Tensor] = {}
                _, extras = self.student(inputs, mode='tensor', return_extras=True)
            else:
                losses, extras = self.student(inputs, data_samples, mode='loss',
                                              seg_weight=seg_weight, return_extras=True)
            feats, steps = self.aligned_features(extras)
            features[domain] = (feats.detach(), steps)
            losses.update(self.generator_loss(feats, steps, domain))
        return self.backward(losses, optim_wrapper, PASS_PREFIX[domain])

    def aligned_features(self, extras: dict) -> Tuple[Tensor, Tensor]:
        """The discriminator's input from a pass's extras: a UNet tap and the timesteps."""
        if extras.get('unet_features') is None:
            raise KeyError('ICCLD: the backbone extras hold no "unet_features"; use '
                           'backbone type="InterCoderDiffusionBackbone".')
        return extras['unet_features'][self.adversarial_feature], extras['timesteps']

    def generator_loss(self, feats: Tensor, timesteps: Tensor,
                       domain: str) -> Dict[str, Tensor]:
        """lambda_adv x L_G of one domain's features, the discriminator frozen.

        Args:
            feats (Tensor): Student features (in the graph).
            timesteps (Tensor): (B,) timesteps of the features.
            domain (str): The features' domain.

        Returns:
            dict[str, Tensor]: ``loss_adv`` (empty for an unaligned domain, and for the source
            under the label-flip objective).
        """
        if domain not in self.domains or (not self.domain_confusion and domain == 'source'):
            return {}
        with self.frozen_discriminator():
            logits = self.discriminator_module(feats, timesteps)
        if self.domain_confusion:
            loss = domain_confusion_loss(logits)
        else:
            loss = F.cross_entropy(logits.float(), self.domain_labels(logits, 'source'))
        return dict(loss_adv=self.adversarial_weight * loss)

    @contextmanager
    def frozen_discriminator(self) -> Iterator[None]:
        """Discriminator parameters without gradients for the block (AdaptSegNet's G step)."""
        params = list(self.discriminator_module.parameters())
        flags = [p.requires_grad for p in params]
        for param in params:
            param.requires_grad_(False)
        try:
            yield
        finally:
            for param, flag in zip(params, flags):
                param.requires_grad_(flag)

    def discriminator_update(self, features: DomainFeatures,
                             disc_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """Train the discriminator on the detached features of all aligned domains; step it.

        One forward of the (possibly DDP-wrapped) discriminator on the concatenated batch,
        one backward and one step of its own optimiser wrapper.

        Args:
            features (dict): ``{domain: (detached features, timesteps)}``.
            disc_wrapper (OptimWrapper): The discriminator's wrapper.

        Returns:
            dict[str, Tensor]: ``disc.domain_ce``, ``disc.acc`` and ``disc.acc_<domain>``.
        """
        domains = [d for d in self.domains if d in features]
        feats = torch.cat([features[d][0] for d in domains])
        steps = torch.cat([features[d][1] for d in domains])
        with disc_wrapper.optim_context(self.discriminator):
            logits = self.discriminator(feats, steps)
            parts = logits.split([features[d][0].shape[0] for d in domains])
            labels = torch.cat([self.domain_labels(part, d) for part, d in zip(parts, domains)])
            loss = F.cross_entropy(logits.float(), labels)
        disc_wrapper.backward(loss)
        disc_wrapper.step()
        disc_wrapper.zero_grad()
        log_vars = {'disc.domain_ce': loss.detach(),
                    'disc.acc': domain_accuracy(logits.detach(), labels)}
        for part, domain in zip(parts, domains):
            log_vars[f'disc.acc_{domain}'] = domain_accuracy(
                part.detach(), self.domain_labels(part, domain))
        return log_vars

    def domain_labels(self, logits: Tensor, domain: str) -> Tensor:
        """The domain's class index at every position of ``logits`` (B, K, h, w) -> (B, h, w).

        Args:
            logits (Tensor): Discriminator output for a batch of one domain.
            domain (str): The domain.

        Returns:
            Tensor: Long labels.
        """
        return torch.full((logits.shape[0], *logits.shape[2:]), self.domains.index(domain),
                          dtype=torch.long, device=logits.device)

    # ------------------------------------------------------------------ teacher
    @torch.no_grad()
    def teacher_logits(self, inputs: Tensor, data_samples: SampleList) -> Tensor:
        """Teacher logits of the target at ``pseudo_label_timestep`` (not a training draw).

        Args:
            inputs (Tensor): Normalised target images (B, 3, H, W).
            data_samples (list[SegDataSample]): Target samples (metainfo only).

        Returns:
            Tensor: Logits (B, num_classes, H, W).
        """
        metas: List[dict] = [dict(s.metainfo, img_shape=inputs.shape[2:]) for s in data_samples]
        teacher = self.teacher.model
        with self.teacher.pseudo_label_mode():
            return teacher.encode_decode(inputs, metas, timesteps=self.pseudo_label_timestep)
