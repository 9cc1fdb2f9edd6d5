"""Write tiny diffusers models as one single-file checkpoint in the original LDM/CompVis layout.

The key names follow the LDM code the single-file checkpoints come from (``openaimodel.UNetModel``:
``input_blocks``/``middle_block``/``output_blocks``, ``ResBlock`` ``in_layers``/``out_layers``;
``autoencoder.Encoder/Decoder``: ``down.{i}.block.{j}``, ``mid.attn_1``; the decoder's ``up``
levels counted from the lowest resolution). diffusers' own loader converts them back, so the
test checks that path against the original tensors.
"""
import re
from pathlib import Path
from typing import Dict

import torch
import yaml
from torch import Tensor

#: diffusers ResnetBlock2D -> LDM ResBlock (UNet).
UNET_RESNET = (('norm1', 'in_layers.0'), ('conv1', 'in_layers.2'),
               ('time_emb_proj', 'emb_layers.1'), ('norm2', 'out_layers.0'),
               ('conv2', 'out_layers.3'), ('conv_shortcut', 'skip_connection'))
UNET_TOP = {'time_embedding.linear_1': 'time_embed.0', 'time_embedding.linear_2': 'time_embed.2',
            'conv_in': 'input_blocks.0.0', 'conv_norm_out': 'out.0', 'conv_out': 'out.2'}
VAE_ATTENTION = (('group_norm', 'norm'), ('to_q', 'q'), ('to_k', 'k'), ('to_v', 'v'),
                 ('to_out.0', 'proj_out'))

# Tiny architecture shared by the diffusers configs and the LDM yaml (norm groups: diffusers'
# LDM conversion uses its default of 32, so widths are multiples of 32).
UNET_CONFIG = dict(in_channels=4, out_channels=4, layers_per_block=1,
                   block_out_channels=[32, 64],
                   down_block_types=['CrossAttnDownBlock2D', 'DownBlock2D'],
                   up_block_types=['UpBlock2D', 'CrossAttnUpBlock2D'],
                   cross_attention_dim=16, attention_head_dim=2)
VAE_CONFIG = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
                  block_out_channels=[32, 64], down_block_types=['DownEncoderBlock2D'] * 2,
                  up_block_types=['UpDecoderBlock2D'] * 2, scaling_factor=0.18215)
TEXT_CONFIG = dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                   num_attention_heads=2, max_position_embeddings=77, hidden_act='quick_gelu',
                   bos_token_id=0, eos_token_id=1, pad_token_id=1)
ORIGINAL_CONFIG = dict(model=dict(params=dict(
    scale_factor=0.18215,
    unet_config=dict(params=dict(
        image_size=8, in_channels=4, out_channels=4, model_channels=32,
        attention_resolutions=[1], num_res_blocks=1, channel_mult=[1, 2], num_heads=2,
        use_spatial_transformer=True, transformer_depth=1, context_dim=16,
        use_linear_in_transformer=False)),
    first_stage_config=dict(params=dict(ddconfig=dict(
        z_channels=4, resolution=64, in_channels=3, out_ch=3, ch=32, ch_mult=[1, 2],
        num_res_blocks=1))))))


def unet_to_ldm(state: Dict[str, Tensor], config: dict) -> Dict[str, Tensor]:
    """diffusers ``UNet2DConditionModel`` keys -> ``model.diffusion_model.*`` LDM keys."""
    per_level = config['layers_per_block'] + 1
    attention = ['CrossAttn' in t for t in config['up_block_types']]
    out = {}
    for key, value in state.items():
        name = key
        for old, new in UNET_TOP.items():
            if name.startswith(old + '.'):
                name = new + name[len(old):]
        match = re.match(r'(down|up)_blocks\.(\d+)\.(resnets|attentions|downsamplers|upsamplers)'
                         r'\.(\d+)\.(.*)', name)
        if match:
            kind, level, part, index, rest = match.groups()
            level, index = int(level), int(index)
            if kind == 'down':
                if part == 'downsamplers':
                    name = f'input_blocks.{(level + 1) * per_level}.0.op.{rest[len("conv."):]}'
                else:
                    block = 1 + level * per_level + index
                    name = f'input_blocks.{block}.{0 if part == "resnets" else 1}.{rest}'
            elif part == 'upsamplers':
                name = (f'output_blocks.{level * per_level + per_level - 1}.'
                        f'{2 if attention[level] else 1}.{rest}')
            else:
                name = (f'output_blocks.{level * per_level + index}.'
                        f'{0 if part == "resnets" else 1}.{rest}')
            is_resnet = part == 'resnets'
        else:
            match = re.match(r'mid_block\.(resnets|attentions)\.(\d+)\.(.*)', name)
            is_resnet = bool(match) and match.group(1) == 'resnets'
            if match:
                part, index, rest = match.groups()
                block = 2 * int(index) if part == 'resnets' else 1
                name = f'middle_block.{block}.{rest}'
        if is_resnet:
            for old, new in UNET_RESNET:
                name = re.sub(rf'\.{re.escape(old)}\.', f'.{new}.', name)
        out[f'model.diffusion_model.{name}'] = value
    return out


def vae_to_ldm(state: Dict[str, Tensor], config: dict) -> Dict[str, Tensor]:
    """diffusers ``AutoencoderKL`` keys -> ``first_stage_model.*`` LDM keys."""
    levels = len(config['block_out_channels'])
    out = {}
    for key, value in state.items():
        name = key.replace('conv_norm_out', 'norm_out')
        name = re.sub(r'encoder\.down_blocks\.(\d+)\.resnets\.', r'encoder.down.\1.block.', name)
        name = re.sub(r'encoder\.down_blocks\.(\d+)\.downsamplers\.0\.',
                      r'encoder.down.\1.downsample.', name)
        name = re.sub(r'decoder\.up_blocks\.(\d+)\.(resnets|upsamplers)\.',
                      lambda m: f'decoder.up.{levels - 1 - int(m.group(1))}.'
                      f'{"block." if m.group(2) == "resnets" else "upsample."}', name)
        name = re.sub(r'upsample\.0\.', 'upsample.', name)
        name = re.sub(r'mid_block\.resnets\.(\d+)\.',
                      lambda m: f'mid.block_{int(m.group(1)) + 1}.', name)
        name = name.replace('conv_shortcut', 'nin_shortcut')
        if 'mid_block.attentions.0.' in name:
            name = name.replace('mid_block.attentions.0.', 'mid.attn_1.')
            for old, new in VAE_ATTENTION:
                name = name.replace(f'attn_1.{old}.', f'attn_1.{new}.')
            if name.endswith('weight') and value.dim() == 2:  # LDM uses 1x1 convolutions
                value = value[:, :, None, None]
        out[f'first_stage_model.{name}'] = value
    return out


def write_single_file(folder: Path, name: str, seed: int = 0) -> dict:
    """Tiny random UNet, VAE and CLIP text encoder as ``folder/name`` plus ``<stem>.yaml``.

    Args:
        folder (Path): Output folder.
        name (str): File name ending in ``.safetensors`` or ``.ckpt``.
        seed (int): Seed of the random weights.

    Returns:
        dict: The diffusers models (``unet``, ``vae``, ``text_encoder``) and the ``path``.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextConfig, CLIPTextModel
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**UNET_CONFIG)
    vae = AutoencoderKL(**VAE_CONFIG)
    text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG))
    state = {**unet_to_ldm(unet.state_dict(), UNET_CONFIG),
             **vae_to_ldm(vae.state_dict(), VAE_CONFIG),
             **{f'cond_stage_model.transformer.{k}': v
                for k, v in text_encoder.state_dict().items()}}
    state = {k: v.contiguous().clone() for k, v in state.items()}
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    if name.endswith('.safetensors'):
        save_file(state, str(path))
    else:  # the CompVis .ckpt: a pickled dict with the weights under "state_dict"
        torch.save(dict(state_dict=state, global_step=0), path)
    path.with_suffix('.yaml').write_text(yaml.safe_dump(ORIGINAL_CONFIG))
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, path=path)
