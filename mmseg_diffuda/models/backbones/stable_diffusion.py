"""Stable Diffusion UNet features for semantic segmentation (MADM's backbone)."""
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import initialize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor, nn

from ..utils.diffusion_weights import build_sd_components
from .prompt import LearnablePrompt

if TYPE_CHECKING:
    from transformers import CLIPTextConfig, CLIPTokenizer

#: UNet up-blocks whose outputs (before their upsampler) are tapped, in output order
#: (increasing stride): SD's ``up_blocks[3]`` (stride 8), ``[2]`` (16), ``[1]`` (32).
TAPPED_UP_BLOCKS = (3, 2, 1)
#: ``frozen_dtype`` names accepted in configs.
DTYPES = dict(float32=torch.float32, float16=torch.float16, bfloat16=torch.bfloat16)

Extras = Dict[str, Optional[Tensor]]


def empty_prompt_ids(tokenizer: Optional['CLIPTokenizer'],
                     text_config: 'CLIPTextConfig') -> Tensor:
    """Token ids of the empty prompt ``""``, padded to the text encoder's length.

    With a tokenizer (real weights) this is its output for ``""`` padded to
    ``model_max_length``. A config-built text encoder has no vocabulary; its ids are built as
    SD's CLIP tokenizer builds them: start token, end token, then end tokens as padding
    (SD's tokenizer pads with ``<|endoftext|>``), from the config's ``bos_token_id`` and
    ``eos_token_id`` over ``max_position_embeddings`` positions.

    Args:
        tokenizer (CLIPTokenizer, optional): The tokenizer of the text encoder.
        text_config (CLIPTextConfig): The text encoder's config.

    Returns:
        Tensor: Ids (1, L), long.
    """
    if tokenizer is not None:
        return tokenizer('', padding='max_length', max_length=tokenizer.model_max_length,
                         truncation=True, return_tensors='pt').input_ids
    length = text_config.max_position_embeddings
    ids = [text_config.bos_token_id] + [text_config.eos_token_id] * (length - 1)
    return torch.tensor([ids], dtype=torch.long)


def shared_noise(channels: int, size: Tuple[int, int], seed: int) -> Tensor:
    """The fixed latent noise shared by every image, call and model instance.

    Args:
        channels (int): Latent channels.
        size (tuple[int, int]): Latent size (H, W) it is drawn at.
        seed (int): Seed of a private CPU generator (the global RNG is untouched).

    Returns:
        Tensor: Standard normal noise (1, channels, H, W).
    """
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, channels, *size, generator=generator, device='cpu')


class BottleneckProjection(nn.Module):
    """ResNet bottleneck block with GroupNorm that projects one feature map.

    1x1 -> 3x3 -> 1x1 convolutions (each followed by the norm; ReLU after the first two), a
    1x1 projection shortcut when the widths differ, ReLU after the sum. This is detectron2's
    ``BottleneckBlock`` (stride 1, ``norm='GN'``, MSRA init) that MADM stacks once per tapped
    feature (official ``modeling/backbone/feature_extractor.py``,
    ``AttentionFeatureExtractorBackbone``), rebuilt from mmcv ``ConvModule`` s, whose default
    init (Kaiming normal, fan-out, ReLU gain, zero bias; norm weight 1) is the same.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        bottleneck_channels (int): Width of the 1x1/3x3/1x1 path.
        norm_cfg (dict): Norm config (MADM: GroupNorm with 32 groups).
    """

    def __init__(self, in_channels: int, out_channels: int, bottleneck_channels: int,
                 norm_cfg: ConfigType) -> None:
        super().__init__()
        relu = dict(type='ReLU')
        self.conv1 = ConvModule(in_channels, bottleneck_channels, 1, norm_cfg=norm_cfg,
                                act_cfg=relu)
        self.conv2 = ConvModule(bottleneck_channels, bottleneck_channels, 3, padding=1,
                                norm_cfg=norm_cfg, act_cfg=relu)
        self.conv3 = ConvModule(bottleneck_channels, out_channels, 1, norm_cfg=norm_cfg,
                                act_cfg=None)
        self.shortcut = None
        if in_channels != out_channels:
            self.shortcut = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg,
                                       act_cfg=None)

    def forward(self, x: Tensor) -> Tensor:
        """Project (B, in, H, W) to (B, out, H, W)."""
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


@MODELS.register_module()
class StableDiffusionBackbone(BaseModule):
    """Multi-scale segmentation features from a Stable Diffusion UNet (MADM's backbone).

    MADM (Xia et al., NeurIPS 2024), official ``modeling/meta_arch/ldm_diffusers.py``
    (``LdmDiffusers``), ``modeling/meta_arch/ldm_base.py`` (learnable prompt) and
    ``modeling/backbone/feature_extractor.py`` (projections). One forward:

    .. code:: text

        x in [-1, 1] (data preprocessor mean = std = 127.5), resized to input_size if set
        z   = VAE posterior mean * scaling_factor           frozen VAE, no_grad
        z_t = scheduler.add_noise(z, eps, t)                eps: fixed seeded noise drawn at
                                                            noise_size, bicubic-resized;
                                                            t = 0 unless given
        c, dt = tanh(a_u) E("") + tanh(a_c) P, tanh(a_t) tau     (LearnablePrompt)
        UNet(z_t, t, c), time embedding + dt                (forward hook on time_embedding)
          taps: up_blocks[3], [2], [1] before their upsamplers   (strides 8, 16, 32)
          unet_latent = conv_out output                     (for latent regression, with grad)
        s0  = VAE decoder(unet_latent), no_grad, detached   (full resolution, not clipped)
        out = [proj(s0), proj(tap8), proj(tap16), proj(tap32)]   (bottleneck + GroupNorm)

    Outputs and extras: ``forward(inputs, timesteps=None)`` returns the list of projected
    features ordered by increasing stride (``[s0, s3, s4, s5]``; ``[s3, s4, s5]`` with
    ``use_decoded_feature=False``), which is what mmseg's ``EncoderDecoder.extract_feat`` and
    a ``DAFormerHead`` expect. A method that needs more of the same pass calls
    :meth:`forward_with_extras`, which returns ``(features, extras)`` with ``extras`` a dict:
    ``latent`` (clean image latent), ``noisy_latent``, ``timesteps``, ``unet_latent`` (the
    UNet output, in the graph, for MADM's latent regression) and ``decoded`` (the s0 image, or
    None). The backbone keeps no state between calls, so student, teacher and repeated passes
    cannot read each other's outputs. :meth:`encode_latent` gives the latent of any image
    (MADM's label-palette targets).

    Module names: ``unet``, ``vae``, ``text_encoder``, ``prompt``, ``projections``. MADM's
    teacher shares the UNet (and the frozen VAE / text encoder) with the student:
    ``EMATeacher(student, shared_modules=['backbone.unet', 'backbone.vae',
    'backbone.text_encoder'])``; the teacher then has its own (EMA) prompt and projections.
    The hooks are registered on the shared UNet for one call and removed in ``finally``.

    Fidelity and choices:

    - ``E("")`` is computed once, through the tokenizer and ``CLIPTextModel`` (the original
      calls private encoder internals for the same value), and stored as a persistent buffer,
      so a checkpoint holds the embedding it was trained with. The noise is a non-persistent
      buffer, regenerated from the seed.
    - The UNet is trained; MADM's ``exclude_unused_params`` freezes the UNet parameters that
      get no gradient from the tapped features, i.e. ``conv_norm_out`` and ``conv_out``
      (``freeze_unet_output=True``); gradients still flow through them into the UNet from the
      latent regression loss.
    - Input sizes (after ``input_size``) must be multiples of ``size_divisor`` (64 for SD: the
      8x VAE times the UNet's three downsamplings), so every tap has its exact stride and s0
      the image size.

    Memory levers (all off = the original computation, in float32): ``frozen_dtype`` keeps the
    VAE and text encoder in float16/bfloat16, inputs cast to it and outputs back (the original
    stores the VAE in float16: ``frozen_dtype='float16'``), ``gradient_checkpointing``
    checkpoints the UNet blocks (diffusers), ``use_decoded_feature=False`` drops the
    full-resolution s0 feature (the head then takes three levels; not the original).
    Attention is diffusers' default (PyTorch SDPA).

    Args:
        pretrained (str, optional): Stable Diffusion folder or hub id (see
            :func:`~mmseg_diffuda.models.utils.diffusion_weights.build_sd_components`); None
            builds random models from the ``*_config`` dicts. Defaults to None.
        unet_config (dict, optional): ``UNet2DConditionModel`` config (random build, or the
            architecture the loaded UNet must have). Defaults to None.
        vae_config (dict, optional): ``AutoencoderKL`` config. Defaults to None.
        text_encoder_config (dict, optional): ``CLIPTextConfig`` arguments. Defaults to None.
        scheduler_config (dict, optional): ``DDPMScheduler`` config. Defaults to None.
        local_files_only (bool): Never download (hub ids must be cached). Defaults to True.
        input_size (tuple[int, int], optional): Bilinear resize of the input (H, W) before the
            VAE (MADM: 512x512); None keeps the input size. Defaults to None.
        noise_size (tuple[int, int]): Latent size the shared noise is drawn at. Defaults to
            (64, 64) (SD at 512x512).
        noise_seed (int): Seed of the shared noise. Defaults to 42 (MADM).
        default_timestep (int): Timestep when ``forward`` gets none. Defaults to 0 (MADM: even
            the clean path gets the t=0 noise level).
        learnable_prompt (bool): Learn MADM's gated prompt and time offset; False conditions on
            ``E("")`` alone. Defaults to True.
        use_decoded_feature (bool): Add the VAE-decoded UNet output as the stride-1 feature s0.
            Defaults to True.
        projection_dims (Sequence[int]): Output channels per output level, s0 first (MADM:
            (128, 512, 512, 512)); one entry less without s0. Defaults to (128, 512, 512, 512).
        projection_bottleneck (int): Bottleneck width of every projection. Defaults to 128.
        projection_norm_cfg (dict): Norm of the projections. Defaults to GroupNorm(32).
        finetune_unet (bool): Train the UNet. Defaults to True.
        freeze_unet_output (bool): Keep ``conv_norm_out`` / ``conv_out`` frozen (MADM).
            Defaults to True.
        gradient_checkpointing (bool): Diffusers' gradient checkpointing of the UNet.
            Defaults to False.
        frozen_dtype (str | torch.dtype, optional): Dtype of the frozen VAE and text encoder
            (``'float16'``, ``'bfloat16'``); None keeps float32. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 unet_config: OptConfigType = None,
                 vae_config: OptConfigType = None,
                 text_encoder_config: OptConfigType = None,
                 scheduler_config: OptConfigType = None,
                 local_files_only: bool = True,
                 input_size: Optional[Tuple[int, int]] = None,
                 noise_size: Tuple[int, int] = (64, 64),
                 noise_seed: int = 42,
                 default_timestep: int = 0,
                 learnable_prompt: bool = True,
                 use_decoded_feature: bool = True,
                 projection_dims: Sequence[int] = (128, 512, 512, 512),
                 projection_bottleneck: int = 128,
                 projection_norm_cfg: ConfigType = dict(
                     type='GN', num_groups=32, requires_grad=True),
                 finetune_unet: bool = True,
                 freeze_unet_output: bool = True,
                 gradient_checkpointing: bool = False,
                 frozen_dtype: Union[str, torch.dtype, None] = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        parts = build_sd_components(
            pretrained, _plain(unet_config), _plain(vae_config), _plain(text_encoder_config),
            _plain(scheduler_config), local_files_only)
        self.unet, self.vae, self.text_encoder = parts.unet, parts.vae, parts.text_encoder
        self.scheduler = parts.scheduler
        self._check_architecture()
        self.input_size = None if input_size is None else tuple(input_size)
        self.default_timestep = default_timestep
        self.use_decoded_feature = use_decoded_feature
        self.scaling_factor = float(self.vae.config.scaling_factor)
        self.vae_scale = 2**(len(self.vae.config.block_out_channels) - 1)
        self.size_divisor = self.vae_scale * 2**(len(self.unet.config.down_block_types) - 1)

        self.text_encoder.eval()
        self.register_buffer('empty_prompt_embedding',
                             self._encode_empty_prompt(parts.tokenizer))
        self.register_buffer(
            'shared_noise',
            shared_noise(self.vae.config.latent_channels, tuple(noise_size), noise_seed),
            persistent=False)
        self.prompt = None
        if learnable_prompt:
            seq_len, embed_dim = self.empty_prompt_embedding.shape[1:]
            self.prompt = LearnablePrompt(seq_len, embed_dim, self.time_embed_dim)
        self.projections = self._build_projections(projection_dims, projection_bottleneck,
                                                   projection_norm_cfg)
        self._freeze(finetune_unet, freeze_unet_output, _dtype(frozen_dtype))
        if gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()

    # ------------------------------------------------------------------ construction
    def _check_architecture(self) -> None:
        """Reject models whose parts do not fit together or have no SD-like up path."""
        unet, vae, text = self.unet.config, self.vae.config, self.text_encoder.config
        if len(unet.up_block_types) != 4:
            raise ValueError('StableDiffusionBackbone taps up_blocks[1..3] of an SD UNet with '
                             f'4 up-blocks; unet_config has {len(unet.up_block_types)}.')
        if unet.in_channels != vae.latent_channels:
            raise ValueError(f'unet in_channels ({unet.in_channels}) must equal the VAE '
                             f'latent_channels ({vae.latent_channels}).')
        if unet.cross_attention_dim != text.hidden_size:
            raise ValueError(f'unet cross_attention_dim ({unet.cross_attention_dim}) must '
                             f'equal the text encoder hidden_size ({text.hidden_size}).')

    @property
    def time_embed_dim(self) -> int:
        """Width of the UNet time embedding (4x the first block width in SD)."""
        return self.unet.time_embedding.linear_2.out_features

    @property
    def feature_channels(self) -> List[int]:
        """Channels of the raw features before projection, in output order."""
        tapped = list(self.unet.config.block_out_channels[:3])  # up_blocks[3], [2], [1]
        return ([self.vae.config.out_channels] if self.use_decoded_feature else []) + tapped

    @property
    def strides(self) -> List[int]:
        """Stride of each output feature relative to the (resized) input image."""
        tapped = [self.vae_scale * 2**i for i in range(3)]
        return ([1] if self.use_decoded_feature else []) + tapped

    @torch.no_grad()
    def _encode_empty_prompt(self, tokenizer: Optional['CLIPTokenizer']) -> Tensor:
        """``E("")``: the text encoder's last hidden state for the empty prompt (1, L, D)."""
        ids = empty_prompt_ids(tokenizer, self.text_encoder.config)
        return self.text_encoder(input_ids=ids).last_hidden_state.float()

    def _build_projections(self, dims: Sequence[int], bottleneck: int,
                           norm_cfg: ConfigType) -> ModuleList:
        """One bottleneck projection per output level."""
        channels = self.feature_channels
        if len(dims) != len(channels):
            raise ValueError(
                f'projection_dims has {len(dims)} entries but the backbone outputs '
                f'{len(channels)} levels (use_decoded_feature={self.use_decoded_feature}): '
                'give one per level, s0 first (MADM: (128, 512, 512, 512)), and the same '
                'numbers as the decode head in_channels.')
        return ModuleList([
            BottleneckProjection(c_in, c_out, bottleneck, norm_cfg)
            for c_in, c_out in zip(channels, dims)
        ])

    def _freeze(self, finetune_unet: bool, freeze_unet_output: bool,
                frozen_dtype: Optional[torch.dtype]) -> None:
        """Freeze VAE and text encoder (optionally in half precision), set the UNet's flags."""
        for module in (self.vae, self.text_encoder):
            module.requires_grad_(False)
            module.eval()
            if frozen_dtype is not None:
                module.to(frozen_dtype)
        self.unet.requires_grad_(finetune_unet)
        if finetune_unet and freeze_unet_output:
            for module in (self.unet.conv_norm_out, self.unet.conv_out):
                if module is not None:
                    module.requires_grad_(False)

    def init_weights(self) -> None:
        """Apply ``init_cfg`` only; nothing else is re-initialised.

        The SD models keep their loaded (or config-built) weights, and the prompt and the
        projections are initialised when built. mmengine's default recursion would also call
        the transformers text encoder's own ``init_weights``.
        """
        if self.init_cfg:
            initialize(self, self.init_cfg)
        self._is_init = True

    def train(self, mode: bool = True) -> 'StableDiffusionBackbone':
        """Set the mode; the frozen VAE and text encoder always stay in eval mode."""
        super().train(mode)
        self.vae.eval()
        self.text_encoder.eval()
        return self

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: Tensor, timesteps: Union[int, Tensor, None] = None) -> List[Tensor]:
        """Projected multi-scale features, ordered by increasing stride.

        Args:
            inputs (Tensor): Images in [-1, 1] (B, 3, H, W).
            timesteps (int | Tensor, optional): Diffusion timestep(s) of the noise, one int or
                (B,) ints; None uses ``default_timestep``. Defaults to None.

        Returns:
            list[Tensor]: ``[s0, s3, s4, s5]`` (or ``[s3, s4, s5]``).
        """
        return self.forward_with_extras(inputs, timesteps)[0]

    def forward_with_extras(self, inputs: Tensor,
                            timesteps: Union[int, Tensor, None] = None
                            ) -> Tuple[List[Tensor], Extras]:
        """Features plus the latents of the same pass.

        Args:
            inputs (Tensor): Images in [-1, 1] (B, 3, H, W).
            timesteps (int | Tensor, optional): As in :meth:`forward`.

        Returns:
            tuple[list[Tensor], dict]: The features and ``dict(latent, noisy_latent,
            timesteps, unet_latent, decoded)`` (``decoded`` None without s0).
        """
        images = self.prepare_images(inputs)
        latent = self.encode_latent(images)
        steps = self.timestep_tensor(timesteps, latent.shape[0], latent.device)
        noisy_latent = self.add_shared_noise(latent, steps)
        taps, unet_latent = self.unet_features(noisy_latent, steps)
        decoded = self.decode_latent(unet_latent) if self.use_decoded_feature else None
        raw = ([decoded] if decoded is not None else []) + taps
        feats = [projection(x) for projection, x in zip(self.projections, raw)]
        extras = dict(latent=latent, noisy_latent=noisy_latent, timesteps=steps,
                      unet_latent=unet_latent, decoded=decoded)
        return feats, extras

    def prepare_images(self, inputs: Tensor) -> Tensor:
        """Resize to ``input_size`` (bilinear, as MADM) and check the size divisor.

        Args:
            inputs (Tensor): Images (B, 3, H, W).

        Returns:
            Tensor: Images the VAE and UNet can take.
        """
        if self.input_size is not None and tuple(inputs.shape[2:]) != self.input_size:
            inputs = F.interpolate(inputs, size=self.input_size, mode='bilinear',
                                   align_corners=False)
        height, width = inputs.shape[2:]
        if height % self.size_divisor or width % self.size_divisor:
            raise ValueError(
                f'StableDiffusionBackbone: input size {height}x{width} is not a multiple of '
                f'{self.size_divisor} (VAE x{self.vae_scale} and the UNet downsamplings); set '
                'the backbone input_size, a crop size that is a multiple of it, or '
                f'data_preprocessor size_divisor={self.size_divisor} (padding).')
        return inputs

    @torch.no_grad()
    def encode_latent(self, images: Tensor) -> Tensor:
        """SD latent of images in [-1, 1]: VAE posterior mean x scaling factor (no sampling).

        Args:
            images (Tensor): (B, 3, H, W) in [-1, 1].

        Returns:
            Tensor: Latent (B, C, H / s, W / s) in the images' dtype, without gradient.
        """
        posterior = self.vae.encode(images.to(self.vae.dtype)).latent_dist
        return (posterior.mean * self.scaling_factor).to(images.dtype)

    @torch.no_grad()
    def decode_latent(self, latent: Tensor) -> Tensor:
        """Frozen VAE decoding of a latent, detached and not clipped (MADM's s0).

        Args:
            latent (Tensor): (B, C, h, w) scaled latent.

        Returns:
            Tensor: Image (B, 3, h * s, w * s) in the latent's dtype, without gradient.
        """
        sample = self.vae.decode((latent / self.scaling_factor).to(self.vae.dtype)).sample
        return sample.to(latent.dtype)

    def timestep_tensor(self, timesteps: Union[int, Tensor, None], batch_size: int,
                        device: torch.device) -> Tensor:
        """Timesteps as a (B,) long tensor, checked against the scheduler's range.

        Args:
            timesteps (int | Tensor, optional): One value or (B,) values; None uses
                ``default_timestep``.
            batch_size (int): B.
            device (torch.device): Device of the result.

        Returns:
            Tensor: (B,) long timesteps.
        """
        if timesteps is None:
            timesteps = self.default_timestep
        steps = torch.as_tensor(timesteps, device=device).long()
        if steps.dim() == 0:
            steps = steps.expand(batch_size)
        num_steps = self.scheduler.config.num_train_timesteps
        if steps.shape != (batch_size, ):
            raise ValueError(f'timesteps must be one value or {batch_size} values (one per '
                             f'image), got shape {tuple(steps.shape)}.')
        if steps.device.type != 'meta' and (steps.min() < 0 or steps.max() >= num_steps):
            raise ValueError(f'timesteps must lie in [0, {num_steps}), got {steps.tolist()}.')
        return steps

    def add_shared_noise(self, latent: Tensor, timesteps: Tensor) -> Tensor:
        """``scheduler.add_noise`` with the shared noise (bicubic-resized to the latent size).

        Args:
            latent (Tensor): Clean latent (B, C, h, w).
            timesteps (Tensor): (B,) timesteps.

        Returns:
            Tensor: ``sqrt(abar_t) z + sqrt(1 - abar_t) eps``.
        """
        noise = self.shared_noise
        if noise.shape[2:] != latent.shape[2:]:
            noise = F.interpolate(noise, size=latent.shape[2:], mode='bicubic',
                                  align_corners=False)
        noise = noise.to(latent).expand_as(latent)
        return self.scheduler.add_noise(latent, noise, timesteps)

    def conditioning(self) -> Tuple[Tensor, Optional[Tensor]]:
        """Text condition (1, L, D) and time-embedding offset (1, T) or None."""
        if self.prompt is None:
            return self.empty_prompt_embedding, None
        return self.prompt(self.empty_prompt_embedding)

    def unet_features(self, noisy_latent: Tensor, timesteps: Tensor) -> Tuple[List[Tensor], Tensor]:
        """Run the UNet once; return the tapped features and its output latent.

        Args:
            noisy_latent (Tensor): (B, C, h, w).
            timesteps (Tensor): (B,) timesteps.

        Returns:
            tuple[list[Tensor], Tensor]: Taps at strides 8/16/32 (SD) and the ``conv_out``
            output (B, C, h, w).
        """
        condition, time_offset = self.conditioning()
        condition = condition.expand(noisy_latent.shape[0], -1, -1)
        with self.unet_taps(time_offset) as taps:
            unet_latent = self.unet(noisy_latent, timesteps,
                                    encoder_hidden_states=condition).sample
        missing = [i for i in TAPPED_UP_BLOCKS if i not in taps]
        if missing:
            raise RuntimeError(f'UNet up_blocks {missing} were not run; the UNet is not '
                               'laid out like Stable Diffusion\'s.')
        return [taps[i] for i in TAPPED_UP_BLOCKS], unet_latent

    @contextmanager
    def unet_taps(self, time_offset: Optional[Tensor]) -> Iterator[Dict[int, Tensor]]:
        """Forward hooks on the UNet for one call, removed on exit (also on errors).

        - ``up_blocks[i]`` with an upsampler: a pre-hook on the upsampler stores its input,
          i.e. the block's output before upsampling (MADM's ``unet_block_indices_type='after'``
          of the block's last layer); the last block (no upsampler): a hook on its output.
        - ``time_embedding``: when ``time_offset`` is given, a hook returns the embedding plus
          the offset, which is where MADM adds it (before any class embedding).

        Args:
            time_offset (Tensor, optional): (1, T) offset of the time embedding.

        Yields:
            dict[int, Tensor]: Filled during the UNet call, keyed by up-block index.
        """
        taps: Dict[int, Tensor] = {}
        handles = []
        try:
            for index in TAPPED_UP_BLOCKS:
                block = self.unet.up_blocks[index]
                if block.upsamplers:
                    handles.append(block.upsamplers[0].register_forward_pre_hook(
                        partial(_store_input, taps, index)))
                else:
                    handles.append(block.register_forward_hook(
                        partial(_store_output, taps, index)))
            if time_offset is not None:
                handles.append(self.unet.time_embedding.register_forward_hook(
                    partial(_add_offset, time_offset)))
            yield taps
        finally:
            for handle in handles:
                handle.remove()


def _store_input(taps: Dict[int, Tensor], index: int, module: nn.Module, args: tuple) -> None:
    """Forward pre-hook: keep the first positional input."""
    taps[index] = args[0]


def _store_output(taps: Dict[int, Tensor], index: int, module: nn.Module, args: tuple,
                  output: Tensor) -> None:
    """Forward hook: keep the output."""
    taps[index] = output


def _add_offset(offset: Tensor, module: nn.Module, args: tuple, output: Tensor) -> Tensor:
    """Forward hook: return the time embedding plus the learned offset."""
    return output + offset.to(output.dtype)


def _plain(config: OptConfigType) -> Optional[dict]:
    """A ConfigDict as a plain dict (diffusers and transformers take plain dicts)."""
    if config is None:
        return None
    return config.to_dict() if hasattr(config, 'to_dict') else dict(config)


def _dtype(value: Union[str, torch.dtype, None]) -> Optional[torch.dtype]:
    """``frozen_dtype`` as a torch dtype."""
    if value is None or isinstance(value, torch.dtype):
        return value
    if value not in DTYPES:
        raise ValueError(f'frozen_dtype must be one of {sorted(DTYPES)} (or None), got '
                         f'{value!r}.')
    return DTYPES[value]
