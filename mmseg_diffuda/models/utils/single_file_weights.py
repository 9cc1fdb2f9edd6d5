"""Stable Diffusion components from one single-file checkpoint (``.safetensors`` / ``.ckpt``).

Most downloadable Stable Diffusion checkpoints are one file in the original LDM/CompVis layout
(``model.diffusion_model.*`` UNet, ``first_stage_model.*`` VAE, ``cond_stage_model.*`` text
encoder). They are loaded with diffusers' ``from_single_file``:

- UNet and VAE: ``UNet2DConditionModel.from_single_file`` / ``AutoencoderKL.from_single_file``.
  diffusers needs the architecture: the LDM ``original_config`` yaml (e.g. SD's
  ``v1-inference.yaml``) is read from ``<checkpoint name>.yaml`` next to the file, the
  convention of the usual SD front-ends; without it diffusers infers the SD version from the
  weights and reads that version's diffusers config from the Hugging Face cache (downloaded
  only with ``local_files_only=False``).
- Text encoder: built from ``text_encoder_config`` (the configs state it) and filled with the
  file's CLIP weights, converted by diffusers (``convert_ldm_clip_checkpoint`` for SD 1.x's
  CLIP, ``convert_open_clip_checkpoint`` for SD 2.x's OpenCLIP).
- Scheduler: from ``scheduler_config`` (a single file holds no scheduler config).
- Tokenizer: a single file holds none; a ``tokenizer/`` folder next to the file is used when
  present (``hf download <model> --include "tokenizer/*"``). Without it ``E("")`` is still exact
  (SD's start/end/padding ids from the text config) and other prompts get placeholder ids, with a
  warning.

Configs given with the file are checked against what was loaded, as for diffusers folders.
"""
import os.path as osp
from typing import Any, Dict, Optional, Sequence

from mmengine.logging import print_log
from torch import Tensor

from .diffusion_weights import (SD_COMPONENTS, DiffusionWeightsNotFoundError, SDComponents,
                                check_config, missing_weights_message)

#: File endings of single-file checkpoints.
SINGLE_FILE_SUFFIXES = ('.safetensors', '.ckpt')


def is_single_file(pretrained: Optional[str]) -> bool:
    """Whether ``pretrained`` names a single-file checkpoint (by its ending)."""
    return isinstance(pretrained, str) and pretrained.endswith(SINGLE_FILE_SUFFIXES)


def original_config_path(path: str) -> Optional[str]:
    """``<checkpoint name>.yaml`` next to the checkpoint, if it exists."""
    yaml = osp.splitext(path)[0] + '.yaml'
    return yaml if osp.isfile(yaml) else None


def _config_needed(component: str, config: Optional[dict], path: str) -> dict:
    """A config the single file cannot provide (error naming the key)."""
    if config is None:
        raise ValueError(f'{component}_config is required with the single-file checkpoint '
                         f'{path!r}: the file holds no {component} config. Set it as the '
                         'full-size configs do (configs/_base_/models/*_sd*.py).')
    return dict(config)


def _from_single_file(cls, checkpoint: Dict[str, Tensor], path: str, component: str,
                      local_files_only: bool):
    """``cls.from_single_file`` on the loaded state dict, with our error when it fails."""
    original_config = original_config_path(path)
    try:
        return cls.from_single_file(checkpoint, original_config=original_config,
                                    local_files_only=local_files_only)
    except (OSError, ValueError, KeyError) as error:
        yaml = osp.splitext(osp.abspath(path))[0] + '.yaml'
        how = (f'the original config {original_config} does not describe it'
               if original_config else
               f'no original config {yaml} exists and diffusers could not get its default '
               'config of the detected SD version (offline: not in the Hugging Face cache)')
        raise DiffusionWeightsNotFoundError(missing_weights_message(
            path, f'the {component} of the single-file checkpoint could not be read: {how} '
            f'({type(error).__name__}: {error}). Put the LDM yaml of the model (e.g. SD\'s '
            f'v1-inference.yaml) at {yaml}', (component, ))) from error


def load_single_file_text_encoder(checkpoint: Dict[str, Tensor], config: dict, path: str):
    """CLIP text encoder of ``config`` with the file's (converted) text-encoder weights.

    Args:
        checkpoint (dict[str, Tensor]): The file's state dict.
        config (dict): ``CLIPTextConfig`` arguments.
        path (str): The file (for errors).

    Returns:
        CLIPTextModel: The text encoder.
    """
    from diffusers.loaders.single_file_utils import (convert_ldm_clip_checkpoint,
                                                     convert_open_clip_checkpoint,
                                                     is_open_clip_model)
    from transformers import CLIPTextConfig, CLIPTextModel
    model = CLIPTextModel(CLIPTextConfig(**config))
    if is_open_clip_model(checkpoint):  # SD 2.x: OpenCLIP layout
        weights = convert_open_clip_checkpoint(model, checkpoint)
    else:  # SD 1.x: Hugging Face CLIP under cond_stage_model.transformer.
        weights = convert_ldm_clip_checkpoint(checkpoint)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [key for key in missing if not key.endswith('position_ids')]
    if missing or unexpected:
        raise DiffusionWeightsNotFoundError(missing_weights_message(
            path, f'its text encoder does not match text_encoder_config (missing '
            f'{missing[:3]}, unexpected {unexpected[:3]}, {len(missing)}/{len(unexpected)} in '
            'all)', ('text_encoder', )))
    return model


def load_single_file_components(path: str, configs: Dict[str, Optional[dict]],
                                components: Sequence[str] = SD_COMPONENTS,
                                local_files_only: bool = True,
                                scheduler_class: Optional[type] = None) -> SDComponents:
    """Load the requested Stable Diffusion parts of a single-file checkpoint.

    Args:
        path (str): The ``.safetensors`` or ``.ckpt`` file (LDM/CompVis layout).
        configs (dict[str, dict | None]): ``unet``/``vae`` configs (checked against the loaded
            models), ``text_encoder`` (``CLIPTextConfig`` arguments) and ``scheduler`` configs
            (required for those parts), as :func:`build_sd_components` takes them.
        components (Sequence[str]): Which parts to load. Defaults to all five.
        local_files_only (bool): diffusers may not download default configs. Defaults to True.
        scheduler_class (type, optional): Scheduler class. Defaults to ``DDPMScheduler``.

    Returns:
        SDComponents: The requested parts (tokenizer None unless a ``tokenizer/`` folder lies
        next to the file).

    Raises:
        DiffusionWeightsNotFoundError: Missing or unreadable file, naming both accepted forms.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from diffusers.loaders.single_file_utils import load_single_file_checkpoint
    path = osp.expanduser(path)
    wanted = set(components)
    if not osp.isfile(path):
        raise DiffusionWeightsNotFoundError(missing_weights_message(
            path, f'the file {osp.abspath(path)} does not exist', components))
    try:
        checkpoint = load_single_file_checkpoint(path, local_files_only=True)
    except Exception as error:  # safetensors/torch raise many types for a damaged file
        raise DiffusionWeightsNotFoundError(missing_weights_message(
            path, f'the file could not be read ({type(error).__name__}: {error})',
            components)) from error
    parts: Dict[str, Any] = dict.fromkeys(SD_COMPONENTS)
    if 'unet' in wanted:
        parts['unet'] = _from_single_file(UNet2DConditionModel, checkpoint, path, 'unet',
                                          local_files_only)
        check_config('unet', dict(parts['unet'].config), configs.get('unet'))
    if 'vae' in wanted:
        parts['vae'] = _from_single_file(AutoencoderKL, checkpoint, path, 'vae',
                                         local_files_only)
        check_config('vae', dict(parts['vae'].config), configs.get('vae'))
    if 'text_encoder' in wanted:
        parts['text_encoder'] = load_single_file_text_encoder(
            checkpoint, _config_needed('text_encoder', configs.get('text_encoder'), path), path)
    if 'tokenizer' in wanted:
        parts['tokenizer'] = _sibling_tokenizer(path)
    if 'scheduler' in wanted:
        if scheduler_class is None:
            from diffusers import DDPMScheduler as scheduler_class
        parts['scheduler'] = scheduler_class.from_config(
            _config_needed('scheduler', configs.get('scheduler'), path))
    return SDComponents(**parts)


def _sibling_tokenizer(path: str):
    """The CLIP tokenizer of a ``tokenizer/`` folder next to ``path``, else None (warned)."""
    folder = osp.join(osp.dirname(osp.abspath(path)), 'tokenizer')
    if osp.isdir(folder):
        from transformers import CLIPTokenizer
        return CLIPTokenizer.from_pretrained(folder, local_files_only=True)
    print_log(f'{path}: a single-file checkpoint holds no tokenizer and {folder} does not exist; '
              'E("") is exact, other prompts get placeholder ids. For class-name prompts put '
              'SD\'s tokenizer/ folder next to the file.', logger='current', level=30)
    return None
