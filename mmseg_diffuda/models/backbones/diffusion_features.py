"""Frozen multi-timestep Stable Diffusion features from DDIM inversion (DIFF's backbone)."""
from contextlib import nullcontext
from typing import TYPE_CHECKING, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import initialize
from mmseg.registry import MODELS
from mmseg.utils import OptConfigType
from torch import Tensor

from ..utils.ddim_inversion import (DIFF_SAVE_INDICES_37, DIFF_TIMESTEPS_37, ddim_step, eta_at,
                                    guided_eps, inversion_schedule, v_to_eps)
from ..utils.diffusion_weights import build_sd_components
from .diffusion_fusion import StrideAggregation, TopDownFusion
from .diffusion_taps import (LayerIndex, TapLayer, channels_by_stride, tap_to_map,
                             unet_tap_layers, unet_taps)
from .stable_diffusion import DTYPES, _plain, empty_prompt_ids

if TYPE_CHECKING:
    from transformers import CLIPTextConfig, CLIPTokenizer

#: The class prompts DIFF enables (official ``diff_config.yaml``, ``label_map``; the other 14
#: Cityscapes classes are commented out there): Cityscapes trainId -> prompt.
DIFF_CLASS_PROMPTS = (
    (1, 'A high quality photo; europe city; sidewalk, Paths for pedestrian use'),
    (3, 'A high quality photo; europe city; wall, Outer walls of buildings or structures'),
    (12, 'A high quality photo; europe city; rider, People riding bicycles, motorcycles'),
    (14, 'A high quality photo; europe city; truck, Larger vehicles used for cargo transport'),
    (16, 'A high quality photo; europe city; train, Vehicles on railway tracks'),
)


def prompt_ids(text: str, tokenizer: Optional['CLIPTokenizer'],
               text_config: 'CLIPTextConfig') -> Tensor:
    """Token ids of ``text``, padded to the text encoder's length.

    With a tokenizer (real weights) this is its output padded to ``model_max_length``, as the
    official ``get_tokens_embedding``. A config-built (random) text encoder has no vocabulary:
    ``""`` gets SD's ids (:func:`empty_prompt_ids`); other texts get one id per byte
    (``2 + byte mod (vocab - 2)``) between the start and end tokens, so different prompts give
    different embeddings in tests and toy runs.

    Args:
        text (str): The prompt.
        tokenizer (CLIPTokenizer, optional): The tokenizer.
        text_config (CLIPTextConfig): The text encoder's config.

    Returns:
        Tensor: Ids (1, L), long.
    """
    if tokenizer is not None or not text:
        if tokenizer is None:
            return empty_prompt_ids(None, text_config)
        return tokenizer(text, padding='max_length', max_length=tokenizer.model_max_length,
                         truncation=True, return_tensors='pt').input_ids
    length, vocab = text_config.max_position_embeddings, text_config.vocab_size
    body = [2 + b % (vocab - 2) for b in text.encode('utf-8')][:length - 2]
    ids = [text_config.bos_token_id] + body + [text_config.eos_token_id]
    ids += [text_config.eos_token_id] * (length - len(ids))
    return torch.tensor([ids], dtype=torch.long)


class InversionPlan(NamedTuple):
    """How the UNet batch of one inversion is laid out (one chunk of B rows per prompt).

    Attributes:
        embeddings (Tensor): Text embeddings of the UNet chunks (P_unet, L, D).
        chunk_weights (list[float]): Weight of each chunk in the cross-attention feature sum
            (the official sum over all chunks; 2 for a chunk that stands for two identical ones).
        text_chunks (list[int]): Per prompt, the chunk giving its conditional prediction.
        uncond_chunk (int, optional): Chunk of the unconditional prediction (CFG); None runs no
            guidance.
        masks (Tensor, optional): (P, B, 1, h, w) blend weights of the prompts' next latents
            (path control); None for one prompt without blending.
    """
    embeddings: Tensor
    chunk_weights: List[float]
    text_chunks: List[int]
    uncond_chunk: Optional[int]
    masks: Optional[Tensor]


@MODELS.register_module()
class DiffusionFeatureBackbone(BaseModule):
    """Frozen Stable Diffusion features over a DDIM inversion, aggregated per stride and fused.

    DIFF (Ji et al., ICASSP 2025), official ``mmseg/models/backbones/diff_encoder.py``,
    ``.../diff/src/archs/diffusion_extractor.py``, ``.../stable_diffusion/diffusion.py``
    (``generalized_steps``), ``.../stable_diffusion/resnet.py`` (taps),
    ``.../archs/aggregation_network.py`` and ``.../models/finecoder.py``; settings from
    ``.../diff/configs/diff_config.yaml``. One forward:

    .. code:: text

        x in [-1, 1] (data preprocessor mean = std = 127.5)
        z_0 = VAE posterior *sample* x scaling_factor                    frozen, no_grad
        DDIM inversion over scheduler_timesteps (upwards from t = 0), no_grad:
          step i: eps = UNet(z, t_i, prompts)   CFG (scale 5) against the negative prompt
                  z <- sqrt(a_next) x0 + c1 noise + c2 eps,  eta = 1 only for 10 < t_i < 250
                  at the kept indices: taps of every up-block ResNet residual branch (first
                  chunk) and every up-block transformer block output (summed over chunks)
        per stride: concatenate the taps over the kept steps (layer-major)
        StrideAggregation: GN bottleneck per stride -> 512@s8, 1024@s16, 2048@s32
        TopDownFusion -> [256@s4, 512@s8, 1024@s16, 2048@s32]       (for the DAFormer head)

    With ``labels`` (the GT of training images) the inversion is *path controlled* (DIFF's
    conditional branch, "IPKL"): each enabled class present in the batch adds its prompt, each
    prompt's guided prediction gives its own next latent, and the latents are averaged with the
    nearest-resized class masks (the plain prompt covers the whole image).

    Cheaper than the official extractor, same features (tests compare both loops):

    - ``stop_after_last_save``: the loop ends after the last kept evaluation (the official one
      runs 3 more of its 37 UNet calls; features are identical, the RNG stream afterwards is not
      used by anything);
    - ``skip_identical_cfg``: when the prompt and the negative prompt are the same text (DIFF:
      both ``""``), guidance leaves eps unchanged, so the plain pass runs one chunk instead of
      two and counts its cross-attention features twice (the official sum over the two identical
      chunks); in the path-controlled pass the ``""`` chunk duplicates the unconditional one and
      is dropped the same way (K + 2 -> K + 1 chunks);
    - the stride-64 branch, which the official fusion drops, is neither tapped nor aggregated;
    - prompt embeddings are computed once and kept as buffers; the text encoder is not kept;
    - :meth:`encode_latent` and :meth:`features_from_latent` let a segmentor encode once and
      run both passes on the same latent.

    The UNet output is taken as eps, as the official code does for ``stable-diffusion-2-1``
    (a v-prediction checkpoint); ``convert_v_prediction=True`` converts v to eps instead.

    Args:
        pretrained (str, optional): Stable Diffusion folder or hub id (see
            :func:`~mmseg_diffuda.models.utils.diffusion_weights.build_sd_components`); None
            builds random models from the ``*_config`` dicts. Defaults to None.
        unet_config (dict, optional): ``UNet2DConditionModel`` config. Defaults to None.
        vae_config (dict, optional): ``AutoencoderKL`` config. Defaults to None.
        text_encoder_config (dict, optional): ``CLIPTextConfig`` arguments. Defaults to None.
        scheduler_config (dict, optional): ``DDIMScheduler`` config (only its betas are used).
            Defaults to None.
        local_files_only (bool): Never download. Defaults to True.
        scheduler_timesteps (Sequence[int]): Inversion timesteps. Defaults to DIFF's 37.
        save_indices (Sequence[int]): Loop indices whose features are kept, in concatenation
            order. Defaults to DIFF's 9 (t = 91, 52, 30, 22, 18, 14, 11, 7, 3).
        eta (float): DDIM eta inside ``eta_window``. Defaults to 1.0.
        eta_window (tuple[float, float]): ``(s_tmin, s_tmax)``, exclusive. Defaults to (10, 250).
        guidance_scale (float, optional): CFG scale; None runs the UNet on the prompt alone.
            Defaults to 5.0.
        prompt (str): Prompt of the plain pass. Defaults to ``''``.
        negative_prompt (str): Unconditional prompt. Defaults to ``''``.
        class_prompts (Sequence[tuple[int, str]]): ``(class id, prompt)`` pairs of the
            path-controlled pass. Defaults to DIFF's 5.
        resnet_taps (Sequence[tuple[int, int]], optional): ``(up-block, layer)`` ResNets; None:
            all. Defaults to None.
        attention_taps (Sequence[tuple[int, int]], optional): Attention blocks; None: all.
        feature_strides (Sequence[int]): Strides aggregated and fused. Defaults to (8, 16, 32).
        projection_dims (Sequence[int]): Aggregated channels per stride of
            ``feature_strides``. Defaults to (512, 1024, 2048).
        projection_norm_groups (int): GroupNorm groups of the aggregation. Defaults to 16.
        fusion_channels (int): Channels of the stride-4 output. Defaults to 256.
        fusion_norm_groups (int): GroupNorm groups of the fusion. Defaults to 32.
        stop_after_last_save (bool): End the inversion after the last kept step. Defaults to
            True (False: the official loop).
        skip_identical_cfg (bool): Drop duplicate prompt chunks (see above). Defaults to True
            (False: the official batch).
        convert_v_prediction (bool): Read the UNet output as v (needs a v-prediction
            scheduler config). Defaults to False (the official reading as eps).
        frozen_dtype (str, optional): Dtype of the stored UNet and VAE (``'float16'``,
            ``'bfloat16'``); None keeps float32. Defaults to None.
        autocast_dtype (str, optional): Autocast dtype of the diffusion passes; None: off.
            Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 unet_config: OptConfigType = None,
                 vae_config: OptConfigType = None,
                 text_encoder_config: OptConfigType = None,
                 scheduler_config: OptConfigType = None,
                 local_files_only: bool = True,
                 scheduler_timesteps: Sequence[int] = DIFF_TIMESTEPS_37,
                 save_indices: Sequence[int] = DIFF_SAVE_INDICES_37,
                 eta: float = 1.0,
                 eta_window: Tuple[float, float] = (10, 250),
                 guidance_scale: Optional[float] = 5.0,
                 prompt: str = '',
                 negative_prompt: str = '',
                 class_prompts: Sequence[Tuple[int, str]] = DIFF_CLASS_PROMPTS,
                 resnet_taps: Optional[Sequence[LayerIndex]] = None,
                 attention_taps: Optional[Sequence[LayerIndex]] = None,
                 feature_strides: Sequence[int] = (8, 16, 32),
                 projection_dims: Sequence[int] = (512, 1024, 2048),
                 projection_norm_groups: int = 16,
                 fusion_channels: int = 256,
                 fusion_norm_groups: int = 32,
                 stop_after_last_save: bool = True,
                 skip_identical_cfg: bool = True,
                 convert_v_prediction: bool = False,
                 frozen_dtype: Optional[str] = None,
                 autocast_dtype: Optional[str] = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        from diffusers import DDIMScheduler
        parts = build_sd_components(
            pretrained, _plain(unet_config), _plain(vae_config), _plain(text_encoder_config),
            _plain(scheduler_config), local_files_only, scheduler_class=DDIMScheduler)
        self.unet, self.vae = parts.unet, parts.vae
        self.schedule = inversion_schedule(scheduler_timesteps, save_indices)
        self.register_buffer('alphas_cumprod', parts.scheduler.alphas_cumprod.float().clone(),
                             persistent=False)
        self.eta, self.eta_window = float(eta), tuple(eta_window)
        self.guidance_scale = guidance_scale
        self.stop_after_last_save = stop_after_last_save
        self.convert_v_prediction = self._check_prediction(convert_v_prediction,
                                                           parts.scheduler)
        self.autocast_dtype = _dtype(autocast_dtype, 'autocast_dtype')
        self.scaling_factor = float(self.vae.config.scaling_factor)
        self.vae_scale = 2**(len(self.vae.config.block_out_channels) - 1)
        self.size_divisor = self.vae_scale * 2**(len(self.unet.config.down_block_types) - 1)
        self.feature_strides = tuple(sorted(feature_strides))
        self.tap_layers = unet_tap_layers(self.unet, self.vae_scale, resnet_taps,
                                          attention_taps, self.feature_strides)
        self._register_prompts(parts, prompt, negative_prompt, class_prompts)
        # Equal texts embed equally (the text encoder is deterministic).
        self.skip_identical_cfg = skip_identical_cfg and prompt == negative_prompt
        self.aggregation, self.fusion = self._build_fusion(
            projection_dims, projection_norm_groups, fusion_channels, fusion_norm_groups)
        self._freeze(_dtype(frozen_dtype, 'frozen_dtype'))

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _check_prediction(convert_v_prediction: bool, scheduler) -> bool:
        """Refuse the v conversion for an eps-prediction scheduler."""
        prediction = scheduler.config.get('prediction_type', 'epsilon')
        if convert_v_prediction and prediction != 'v_prediction':
            raise ValueError('convert_v_prediction=True reads the UNet output as v, but the '
                             f'scheduler config has prediction_type={prediction!r}; set '
                             "scheduler_config.prediction_type='v_prediction' (SD 2.1 768-v) "
                             'or convert_v_prediction=False.')
        return convert_v_prediction

    @torch.no_grad()
    def _register_prompts(self, parts, prompt: str, negative_prompt: str,
                          class_prompts: Sequence[Tuple[int, str]]) -> None:
        """Embed every fixed prompt once (buffers); the text encoder is not kept."""
        text_encoder, tokenizer = parts.text_encoder, parts.tokenizer
        if self.unet.config.cross_attention_dim != text_encoder.config.hidden_size:
            raise ValueError(f'unet cross_attention_dim ({self.unet.config.cross_attention_dim})'
                             f' must equal the text encoder hidden_size '
                             f'({text_encoder.config.hidden_size}).')
        text_encoder.eval()

        def embed(text: str) -> Tensor:
            ids = prompt_ids(text, tokenizer, text_encoder.config)
            return text_encoder(input_ids=ids).last_hidden_state.float()

        ids = [int(class_id) for class_id, _ in class_prompts]
        if len(set(ids)) != len(ids):
            raise ValueError(f'class_prompts has repeated class ids: {ids}.')
        self.class_ids = ids
        self.register_buffer('cond_embedding', embed(prompt)[0])
        self.register_buffer('uncond_embedding', embed(negative_prompt)[0])
        embeddings = [embed(text)[0] for _, text in class_prompts]
        self.register_buffer(
            'class_embeddings', torch.stack(embeddings) if embeddings else
            self.cond_embedding.new_zeros((0, ) + self.cond_embedding.shape))

    def _build_fusion(self, projection_dims: Sequence[int], norm_groups: int,
                      fusion_channels: int, fusion_norm_groups: int):
        """Aggregation per stride and the top-down fusion."""
        if len(projection_dims) != len(self.feature_strides):
            raise ValueError(f'projection_dims {list(projection_dims)} needs one entry per '
                             f'feature stride {list(self.feature_strides)}.')
        if self.feature_strides != tuple(self.vae_scale * 2**k for k in range(3)):
            raise ValueError('The fusion takes the three strides '
                             f'{[self.vae_scale * 2**k for k in range(3)]} (DIFF: 8, 16, 32), '
                             f'got feature_strides={list(self.feature_strides)}.')
        per_step = self.channels_by_stride
        num_saved = len(self.schedule.save_indices)
        aggregation = StrideAggregation(
            {s: per_step[s] * num_saved for s in self.feature_strides},
            dict(zip(self.feature_strides, projection_dims)), norm_groups)
        fusion = TopDownFusion(projection_dims, fusion_channels, fusion_norm_groups)
        return aggregation, fusion

    def _freeze(self, frozen_dtype: Optional[torch.dtype]) -> None:
        """The SD models never train (no gradient, eval mode, optional half storage)."""
        for module in (self.unet, self.vae):
            module.requires_grad_(False)
            module.eval()
            if frozen_dtype is not None:
                module.to(frozen_dtype)

    @property
    def channels_by_stride(self) -> Dict[int, int]:
        """Tapped channels per stride of one kept evaluation (before stacking timesteps)."""
        return channels_by_stride(self.tap_layers)

    @property
    def out_channels(self) -> List[int]:
        """Channels of the four outputs (strides 4, 8, 16, 32)."""
        return ([self.fusion.fuse4.deconv.out_channels] +
                [norm.num_channels for norm in self.fusion.norms])

    def init_weights(self) -> None:
        """Apply ``init_cfg`` only: the SD models keep their weights and the aggregation and
        fusion are initialised when built (MSRA fan-out convolutions, unit GroupNorm)."""
        if self.init_cfg:
            initialize(self, self.init_cfg)
        self._is_init = True

    def train(self, mode: bool = True) -> 'DiffusionFeatureBackbone':
        """Set the mode; the frozen UNet and VAE always stay in eval mode."""
        super().train(mode)
        self.unet.eval()
        self.vae.eval()
        return self

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: Tensor, labels: Optional[Tensor] = None) -> List[Tensor]:
        """Fused features ``[s4, s8, s16, s32]`` of images in [-1, 1].

        Args:
            inputs (Tensor): (B, 3, H, W), H and W multiples of ``size_divisor`` (64 for SD).
            labels (Tensor, optional): Class ids (B, 1, H, W) or (B, H, W) for the
                path-controlled pass; None for the plain pass. Defaults to None.

        Returns:
            list[Tensor]: Four feature maps in increasing stride order.
        """
        return self.features_from_latent(self.encode_latent(inputs), labels)

    def features_from_latent(self, latent: Tensor,
                             labels: Optional[Tensor] = None) -> List[Tensor]:
        """Fused features of a latent from :meth:`encode_latent` (trainable part with grad).

        Args:
            latent (Tensor): (B, C, h, w) scaled latent.
            labels (Tensor, optional): Labels for the path-controlled pass. Defaults to None.

        Returns:
            list[Tensor]: ``[s4, s8, s16, s32]``.
        """
        feats = self.diffusion_features(latent, labels)
        return self.fusion(self.aggregation(feats))

    @torch.no_grad()
    def encode_latent(self, inputs: Tensor) -> Tensor:
        """VAE posterior sample x scaling factor (official ``latent_dist.sample()``).

        Args:
            inputs (Tensor): Images in [-1, 1] (B, 3, H, W).

        Returns:
            Tensor: Latent (B, C, H / 8, W / 8), float32, without gradient.
        """
        height, width = inputs.shape[2:]
        if height % self.size_divisor or width % self.size_divisor:
            raise ValueError(
                f'DiffusionFeatureBackbone: input size {height}x{width} is not a multiple of '
                f'{self.size_divisor} (VAE x{self.vae_scale} and the UNet downsamplings); use '
                'crops/test scales that are multiples of it or data_preprocessor '
                f'size_divisor={self.size_divisor}.')
        with self._autocast(inputs.device):
            posterior = self.vae.encode(inputs.to(self.vae.dtype)).latent_dist
            return (posterior.sample() * self.scaling_factor).float()

    @torch.no_grad()
    def diffusion_features(self, latent: Tensor,
                           labels: Optional[Tensor] = None) -> Dict[int, Tensor]:
        """Run the inversion; return the kept taps stacked per stride.

        Args:
            latent (Tensor): (B, C, h, w) scaled latent.
            labels (Tensor, optional): Labels for the path-controlled pass. Defaults to None.

        Returns:
            dict[int, Tensor]: Stride -> (B, channels_by_stride[s] x kept steps, H/s, W/s).
        """
        plan = self.inversion_plan(latent, labels)
        kept = set(self.schedule.save_indices)
        saved: Dict[int, Dict[TapLayer, Tensor]] = {}
        x = latent.float()
        for index in range(self.schedule.num_evaluations(self.stop_after_last_save)):
            t, t_next = self.schedule.steps[index]
            eps, taps = self.guided_prediction(x, t, plan, capture=index in kept)
            if index in kept:
                saved[index] = taps
            x = self.inversion_step(x, eps, t, t_next, plan)
        return {
            stride: torch.cat([saved[i][layer] for layer in self.tap_layers
                               if layer.stride == stride for i in self.schedule.save_indices],
                              dim=1)
            for stride in self.feature_strides
        }

    def inversion_plan(self, latent: Tensor, labels: Optional[Tensor]) -> InversionPlan:
        """Lay out the prompt chunks of the UNet batch for this pass.

        Args:
            latent (Tensor): (B, C, h, w), for the mask size.
            labels (Tensor, optional): Labels; the enabled classes present anywhere in the batch
                get a prompt (official ``torch.unique`` over the batch).

        Returns:
            InversionPlan: The layout.
        """
        classes = self.present_classes(labels)
        guided = self.guidance_scale is not None
        skip = self.skip_identical_cfg
        if not classes:  # plain pass (also for labels without an enabled class, as officially)
            if not guided:
                return InversionPlan(self.cond_embedding[None], [1.0], [0], None, None)
            if skip:
                return InversionPlan(self.cond_embedding[None], [2.0], [0], None, None)
            return InversionPlan(torch.stack([self.uncond_embedding, self.cond_embedding]),
                                 [1.0, 1.0], [1], 0, None)
        class_emb = self.class_embeddings[[self.class_ids.index(c) for c in classes]]
        masks = self.class_masks(labels, classes, latent)
        if guided and skip:
            embeddings = torch.cat([self.uncond_embedding[None], class_emb])
            return InversionPlan(embeddings, [2.0] + [1.0] * len(classes),
                                 list(range(len(classes) + 1)), 0, masks)
        head = ([self.uncond_embedding, self.cond_embedding] if guided else
                [self.cond_embedding])
        embeddings = torch.cat([torch.stack(head), class_emb])
        offset = len(head) - 1
        return InversionPlan(embeddings, [1.0] * len(embeddings),
                             list(range(offset, offset + len(classes) + 1)),
                             0 if guided else None, masks)

    def present_classes(self, labels: Optional[Tensor]) -> List[int]:
        """Enabled class ids present in ``labels`` (ascending); [] without labels."""
        if labels is None or not self.class_ids:
            return []
        present = set(torch.unique(labels).tolist())
        return sorted(c for c in self.class_ids if c in present)

    @staticmethod
    def class_masks(labels: Tensor, classes: Sequence[int], latent: Tensor) -> Tensor:
        """Blend weights (P, B, 1, h, w): ones for the plain prompt, then each class's
        nearest-resized mask (official ``F.interpolate(mode='nearest')``)."""
        if labels.dim() == 3:
            labels = labels[:, None]
        size = latent.shape[2:]
        masks = [torch.ones_like(latent[:, :1])]
        masks += [F.interpolate((labels == c).to(latent.dtype), size=size, mode='nearest')
                  for c in classes]
        return torch.stack(masks)

    def guided_prediction(self, x: Tensor, timestep: int, plan: InversionPlan,
                          capture: bool) -> Tuple[Tensor, Dict[TapLayer, Tensor]]:
        """One UNet evaluation of every chunk; guided eps per prompt and the taps.

        Args:
            x (Tensor): Current latent (B, C, h, w), float32.
            timestep (int): Evaluation timestep.
            plan (InversionPlan): Chunk layout.
            capture (bool): Tap the UNet (kept evaluation).

        Returns:
            tuple[Tensor, dict]: eps (P * B, C, h, w) float32 (prompt-major) and the taps as
            (B, C, h', w') maps (empty without ``capture``).
        """
        batch, chunks = x.shape[0], plan.embeddings.shape[0]
        unet_in = x.repeat(chunks, 1, 1, 1)
        context = plan.embeddings.repeat_interleave(batch, dim=0)
        step = torch.tensor(timestep, device=x.device)
        with unet_taps(self.unet, self.tap_layers if capture else []) as raw, \
                self._autocast(x.device):
            out = self.unet(unet_in.to(self.unet.dtype), step,
                            encoder_hidden_states=context.to(self.unet.dtype)).sample.float()
        if self.convert_v_prediction:
            out = v_to_eps(out, unet_in, self.alphas_cumprod[timestep])
        out = out.view(chunks, batch, *out.shape[1:])
        eps_text = out[plan.text_chunks]
        eps_uncond = None if plan.uncond_chunk is None else out[plan.uncond_chunk]
        eps = guided_eps(eps_uncond, eps_text, self.guidance_scale if eps_uncond is not None
                         else None)
        taps = {layer: self._chunk_feature(layer, value, plan, x)
                for layer, value in raw.items()} if capture else {}
        return eps.flatten(0, 1), taps

    def _chunk_feature(self, layer: TapLayer, value: Tensor, plan: InversionPlan,
                       x: Tensor) -> Tensor:
        """ResNet: the first chunk; attention: the weighted sum over chunks (official)."""
        batch = x.shape[0]
        feature = tap_to_map(layer, value, tuple(x.shape[2:]), self.vae_scale)
        if layer.kind == 'resnet':
            return feature[:batch]
        feature = feature.view(len(plan.chunk_weights), batch, *feature.shape[1:])
        weights = feature.new_tensor(plan.chunk_weights).view(-1, 1, 1, 1, 1)
        return (feature * weights).sum(0)

    def inversion_step(self, x: Tensor, eps: Tensor, timestep: int, next_timestep: int,
                       plan: InversionPlan) -> Tensor:
        """Move every prompt's latent to ``next_timestep`` and blend them (path control).

        Args:
            x (Tensor): Current latent (B, C, h, w).
            eps (Tensor): Guided eps (P * B, C, h, w).
            timestep (int): ``t_i``.
            next_timestep (int): ``t_next_i``.
            plan (InversionPlan): Chunk layout (``masks``).

        Returns:
            Tensor: Next latent (B, C, h, w).
        """
        num_prompts = eps.shape[0] // x.shape[0]
        noise = torch.randn_like(eps)  # drawn at every step, as officially
        x_next = ddim_step(x.repeat(num_prompts, 1, 1, 1), eps, self.alphas_cumprod[timestep],
                           self.alphas_cumprod[next_timestep],
                           eta_at(timestep, self.eta, self.eta_window), noise)
        if plan.masks is None:
            return x_next
        x_next = x_next.view(num_prompts, *x.shape)
        return (x_next * plan.masks).sum(0) / plan.masks.sum(0)

    def _autocast(self, device: torch.device):
        """Autocast context of the diffusion passes (a no-op when off)."""
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.autocast_dtype)


def _dtype(value: Union[str, torch.dtype, None], key: str) -> Optional[torch.dtype]:
    """Resolve the dtype name ``value`` of config key ``key`` (None stays None)."""
    if value is None or isinstance(value, torch.dtype):
        return value
    try:
        return DTYPES[value]
    except KeyError:
        raise ValueError(f'{key}: expected None or one of {sorted(DTYPES)}, got '
                         f'{value!r}.') from None
