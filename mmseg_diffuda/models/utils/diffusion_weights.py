"""The one loader of Stable Diffusion components used by every diffusion method.

Two ways to get each component (UNet, VAE, CLIP text encoder, tokenizer, noise scheduler):

- ``pretrained='<folder or hub id>'``: the diffusers layout written by ``save_pretrained`` /
  ``hf download`` (``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``), loaded
  with diffusers' / transformers' ``from_pretrained(..., subfolder=...)``. A hub id is looked up in
  the local Hugging Face cache (``local_files_only=True``, the default) or downloaded
  (``local_files_only=False``). A missing folder, subfolder or file raises
  :class:`DiffusionWeightsNotFoundError`, which names the folder, the expected layout and the
  download command, instead of the libraries' messages (diffusers talks about failing to connect
  to the hub; transformers' ``CLIPTokenizer`` even returns an empty tokenizer for a missing folder).
- ``pretrained='<file>.safetensors'`` or ``'.ckpt'``: a single-file checkpoint in the original
  LDM layout, loaded with diffusers' ``from_single_file`` (:mod:`.single_file_weights`).
- ``<component>_config=dict(...)``: a random-initialised model built from the explicit config
  (tests, toy runs, architecture checks of full-size configs). When ``pretrained`` is given too,
  the config is checked against the loaded one instead, so a config can state the architecture it
  expects (a wrong checkpoint fails here, not with a shape error deep in the model).

MADM (Xia et al., NeurIPS 2024) loads Stable Diffusion v1-4 this way (official
``modeling/meta_arch/ldm_diffusers.py``, ``_init_vae`` / ``_init_unet`` / ``_init_tokenizer`` /
``_init_text_encoder`` / ``_init_noise_scheduler``).
"""
import os
import os.path as osp
from typing import TYPE_CHECKING, Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

if TYPE_CHECKING:  # diffusers/transformers are imported when a loader runs (import time)
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

#: Subfolders of a diffusers Stable Diffusion folder and the files each must hold: every group
#: needs one file whose name starts with one of its prefixes.
SD_LAYOUT: Dict[str, Tuple[Tuple[str, ...], ...]] = dict(
    unet=(('config.json', ), ('diffusion_pytorch_model.', )),
    vae=(('config.json', ), ('diffusion_pytorch_model.', )),
    text_encoder=(('config.json', ), ('model.safetensors', 'model-', 'pytorch_model.')),
    tokenizer=(('tokenizer.json', 'vocab.json'), ('tokenizer.json', 'merges.txt')),
    scheduler=(('scheduler_config.json', ), ),
)
SD_COMPONENTS = tuple(SD_LAYOUT)
#: Large files of hub repositories that no component here reads (fp16 duplicates, original
#: LDM checkpoints, Flax/ONNX exports); skipped when downloading.
IGNORED_DOWNLOADS = ['*.fp16.*', '*.ckpt', '*.msgpack', '*.onnx', '*.h5']


#: Hub ids of the Stable Diffusion versions the configs use, by their local folder name.
KNOWN_HUB_IDS = {
    'stable-diffusion-v1-4': 'CompVis/stable-diffusion-v1-4',  # MADM
    'stable-diffusion-v1-5': 'stable-diffusion-v1-5/stable-diffusion-v1-5',  # ICCLD
    'stable-diffusion-2-1': 'stabilityai/stable-diffusion-2-1',  # DIFF
}


class DiffusionWeightsNotFoundError(FileNotFoundError):
    """Stable Diffusion weights are missing or incomplete (message says what and how to fix)."""


class SDComponents(NamedTuple):
    """The Stable Diffusion parts a method asked for (None where not requested).

    Attributes:
        unet (UNet2DConditionModel | None): The denoising UNet.
        vae (AutoencoderKL | None): The latent autoencoder.
        text_encoder (CLIPTextModel | None): The CLIP text encoder.
        tokenizer (CLIPTokenizer | None): Its tokenizer (None for config-built text encoders).
        scheduler (SchedulerMixin | None): The noise scheduler.
    """
    unet: Optional['UNet2DConditionModel']
    vae: Optional['AutoencoderKL']
    text_encoder: Optional['CLIPTextModel']
    tokenizer: Optional['CLIPTokenizer']
    scheduler: Optional[Any]


def missing_weights_message(pretrained: str, problem: str,
                            components: Sequence[str] = SD_COMPONENTS) -> str:
    """The error text for missing or incomplete Stable Diffusion weights.

    Args:
        pretrained (str): The ``pretrained`` value (folder or hub id).
        problem (str): What is missing.
        components (Sequence[str]): Subfolders the caller needs.

    Returns:
        str: Message naming the folder, the expected layout and how to get the weights (the
        hub model the folder is named after, SD v1-4 otherwise).
    """
    layout = ', '.join(f'{name}/' for name in components)
    includes = ' '.join(f'--include "{name}/*"' for name in components)
    name = osp.basename(osp.normpath(pretrained))
    is_hub_id = _looks_like_hub_id(pretrained) and not osp.isdir(pretrained)
    if name in KNOWN_HUB_IDS:
        hub_id = KNOWN_HUB_IDS[name]
    else:
        hub_id = pretrained if is_hub_id else KNOWN_HUB_IDS['stable-diffusion-v1-4']
    target = f'pretrained/{name}' if pretrained == hub_id else pretrained
    return (f'Stable Diffusion weights not usable: {problem}. pretrained={pretrained!r} (a '
            f'path resolves from {os.getcwd()}) must be either (1) a diffusers folder, or the '
            'id of a hub model in the local Hugging Face cache, holding the subfolders '
            f'{layout} as written by save_pretrained or the hub (weights as safetensors/bin, '
            'config.json, tokenizer vocab.json + merges.txt, scheduler_config.json), or (2) a '
            'single-file checkpoint in the original LDM layout, *.safetensors or *.ckpt (e.g. '
            'v1-5-pruned-emaonly.safetensors), ideally with its LDM yaml next to it under the '
            'same name (*.yaml). Get '
            f'the folder with: hf download {hub_id} {includes} '
            f'--local-dir {target}  (huggingface_hub < 1.0: huggingface-cli download ...; log in '
            'with `hf auth login` first if the hub asks for the licence), then set pretrained to '
            'that folder; or pass local_files_only=False to download into the cache; or build '
            'random weights on purpose with pretrained=None and unet_config/vae_config/'
            'text_encoder_config/scheduler_config.')


def resolve_pretrained(pretrained: str, components: Sequence[str] = SD_COMPONENTS,
                       local_files_only: bool = True) -> str:
    """Return a local folder holding ``components`` of ``pretrained``, checking every file.

    Args:
        pretrained (str): A local diffusers folder or a hub id.
        components (Sequence[str]): Subfolders that must be present (keys of
            :data:`SD_LAYOUT`).
        local_files_only (bool): Only look in the local cache for hub ids (no download).
            Defaults to True.

    Returns:
        str: The folder (``pretrained`` itself or the cached hub snapshot).

    Raises:
        DiffusionWeightsNotFoundError: When the folder, a subfolder or a file is missing.
    """
    unknown = set(components) - set(SD_LAYOUT)
    if unknown:
        raise KeyError(f'Unknown Stable Diffusion components {sorted(unknown)}; known: '
                       f'{list(SD_LAYOUT)}.')
    root = osp.expanduser(pretrained)
    if not osp.isdir(root):
        root = _hub_snapshot(pretrained, components, local_files_only)
    for name in components:
        folder = osp.join(root, name)
        if not osp.isdir(folder):
            raise DiffusionWeightsNotFoundError(missing_weights_message(
                pretrained, f'the subfolder {name}/ is missing in {osp.abspath(root)}',
                components))
        files = os.listdir(folder)
        for prefixes in SD_LAYOUT[name]:
            if not any(f.startswith(prefixes) for f in files):
                raise DiffusionWeightsNotFoundError(missing_weights_message(
                    pretrained, f'{osp.abspath(folder)} has no file named '
                    f'{" or ".join(p + "*" for p in prefixes)}', components))
    return root


def _looks_like_hub_id(name: str) -> bool:
    """``owner/name`` with no path syntax: what the hub accepts as a repository id."""
    parts = name.split('/')
    return len(parts) == 2 and all(parts) and not name.startswith(('.', '~'))


def _hub_snapshot(repo_id: str, components: Sequence[str], local_files_only: bool) -> str:
    """Folder of the cached (or downloaded) hub snapshot of ``repo_id``."""
    if not _looks_like_hub_id(repo_id):
        raise DiffusionWeightsNotFoundError(missing_weights_message(
            repo_id, f'the folder {osp.abspath(osp.expanduser(repo_id))} does not exist',
            components))
    from huggingface_hub import snapshot_download
    try:
        return snapshot_download(
            repo_id,
            allow_patterns=[f'{name}/*' for name in components],
            ignore_patterns=IGNORED_DOWNLOADS,
            local_files_only=local_files_only)
    except (OSError, ValueError) as error:  # hub errors derive from both
        where = ('not in the local Hugging Face cache and no folder of that name exists'
                 if local_files_only else f'the download failed ({error})')
        raise DiffusionWeightsNotFoundError(missing_weights_message(
            repo_id, where, components)) from error


def _from_pretrained(cls, root: str, subfolder: str, pretrained: str, **kwargs):
    """``cls.from_pretrained(root, subfolder=...)`` with our error for unreadable files."""
    try:
        return cls.from_pretrained(root, subfolder=subfolder, local_files_only=True, **kwargs)
    except OSError as error:
        raise DiffusionWeightsNotFoundError(missing_weights_message(
            pretrained, f'{cls.__name__} could not be read from {osp.join(root, subfolder)} '
            f'({error})', (subfolder, ))) from error


def _normalise(value):
    """Tuples as lists, so config values from Python and from JSON compare equal."""
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


def check_config(component: str, loaded: dict, expected: Optional[dict]) -> None:
    """Raise if a loaded config differs from the expected one on any key it names.

    Args:
        component (str): The component's name (``unet``, ``vae``, ...), for the message.
        loaded (dict): The config of the loaded model.
        expected (dict, optional): The keys and values the caller requires; None skips.

    Raises:
        ValueError: Naming every differing key with both values.
    """
    if not expected:
        return
    missing = object()
    diffs = [
        f'{key}: config {value!r}, weights {loaded.get(key, "<absent>")!r}'
        for key, value in expected.items()
        if _normalise(loaded.get(key, missing)) != _normalise(value)
    ]
    if diffs:
        raise ValueError(f'The pretrained {component} does not match {component}_config: '
                         f'{"; ".join(diffs)}. Point pretrained to the model the config '
                         f'describes, or drop {component}_config to accept the weights as '
                         'they are.')


def _require_config(component: str, config: Optional[dict]) -> dict:
    """The config of a component built without ``pretrained`` (error if absent)."""
    if config is None:
        raise ValueError(f'No {component}: give pretrained=<Stable Diffusion folder or hub '
                         f'id> to load it, or {component}_config=dict(...) to build it with '
                         'random weights.')
    return dict(config)


def _load_model(component: str, cls, build_random: Callable[[dict], Any],
                pretrained: Optional[str], config: Optional[dict], local_files_only: bool):
    """Load ``component`` of ``pretrained`` (config checked) or build it randomly from ``config``.

    Args:
        component (str): Subfolder of the SD folder (``'unet'``, ``'vae'``, ...).
        cls: The model class (``from_pretrained``).
        build_random (Callable): Builds the random model from the config dict.
        pretrained (str, optional): Diffusers folder or hub id; None builds random weights.
        config (dict, optional): Architecture config (required without ``pretrained``).
        local_files_only (bool): No download for hub ids.

    Returns:
        The model.
    """
    if pretrained is None:
        return build_random(_require_config(component, config))
    root = resolve_pretrained(pretrained, (component, ), local_files_only)
    model = _from_pretrained(cls, root, component, pretrained)
    check_config(component, model.config.to_dict() if hasattr(model.config, 'to_dict')
                 else dict(model.config), config)
    return model


def load_unet(pretrained: Optional[str] = None, config: Optional[dict] = None,
              local_files_only: bool = True) -> 'UNet2DConditionModel':
    """The denoising UNet, loaded (``pretrained``) or random from ``config``.

    Args:
        pretrained (str, optional): Diffusers folder or hub id. Defaults to None.
        config (dict, optional): ``UNet2DConditionModel`` config; checked against the loaded one
            when ``pretrained`` is given. Defaults to None.
        local_files_only (bool): No download for hub ids. Defaults to True.

    Returns:
        UNet2DConditionModel: The UNet (float32).
    """
    from diffusers import UNet2DConditionModel
    return _load_model('unet', UNet2DConditionModel, UNet2DConditionModel.from_config,
                       pretrained, config, local_files_only)


def load_vae(pretrained: Optional[str] = None, config: Optional[dict] = None,
             local_files_only: bool = True) -> 'AutoencoderKL':
    """The latent autoencoder, loaded (``pretrained``) or random from ``config``.

    Args:
        pretrained (str, optional): Diffusers folder or hub id. Defaults to None.
        config (dict, optional): ``AutoencoderKL`` config (checked when ``pretrained`` is
            given). Defaults to None.
        local_files_only (bool): No download for hub ids. Defaults to True.

    Returns:
        AutoencoderKL: The VAE (float32).
    """
    from diffusers import AutoencoderKL
    return _load_model('vae', AutoencoderKL, AutoencoderKL.from_config, pretrained, config,
                       local_files_only)


def load_text_encoder(pretrained: Optional[str] = None, config: Optional[dict] = None,
                      local_files_only: bool = True) -> 'CLIPTextModel':
    """The CLIP text encoder, loaded (``pretrained``) or random from ``config``.

    Args:
        pretrained (str, optional): Diffusers folder or hub id. Defaults to None.
        config (dict, optional): ``CLIPTextConfig`` arguments (checked when ``pretrained`` is
            given). Defaults to None.
        local_files_only (bool): No download for hub ids. Defaults to True.

    Returns:
        CLIPTextModel: The text encoder (float32).
    """
    from transformers import CLIPTextConfig, CLIPTextModel
    return _load_model('text_encoder', CLIPTextModel,
                       lambda cfg: CLIPTextModel(CLIPTextConfig(**cfg)), pretrained, config,
                       local_files_only)


def load_tokenizer(pretrained: Optional[str] = None,
                   local_files_only: bool = True) -> Optional['CLIPTokenizer']:
    """The CLIP tokenizer of ``pretrained`` (None without ``pretrained``).

    Args:
        pretrained (str, optional): Diffusers folder or hub id. Defaults to None.
        local_files_only (bool): No download for hub ids. Defaults to True.

    Returns:
        CLIPTokenizer | None: The tokenizer.
    """
    from transformers import CLIPTokenizer
    if pretrained is None:
        return None
    root = resolve_pretrained(pretrained, ('tokenizer', ), local_files_only)
    return _from_pretrained(CLIPTokenizer, root, 'tokenizer', pretrained)


def load_scheduler(pretrained: Optional[str] = None, config: Optional[dict] = None,
                   local_files_only: bool = True,
                   scheduler_class: Optional[type] = None) -> Any:
    """The noise scheduler, loaded (``pretrained``) or from ``config``.

    Args:
        pretrained (str, optional): Diffusers folder or hub id. Defaults to None.
        config (dict, optional): Scheduler config (checked when ``pretrained`` is given).
            Defaults to None.
        local_files_only (bool): No download for hub ids. Defaults to True.
        scheduler_class (type, optional): A diffusers scheduler class; SD folders hold a PNDM
            config, which the DDPM and DDIM schedulers read (as MADM does). Defaults to None
            (``DDPMScheduler``).

    Returns:
        SchedulerMixin: The scheduler.
    """
    if scheduler_class is None:
        from diffusers import DDPMScheduler as scheduler_class
    if pretrained is None:
        return scheduler_class.from_config(_require_config('scheduler', config))
    root = resolve_pretrained(pretrained, ('scheduler', ), local_files_only)
    scheduler = _from_pretrained(scheduler_class, root, 'scheduler', pretrained)
    check_config('scheduler', dict(scheduler.config), config)
    return scheduler


def build_sd_components(pretrained: Optional[str] = None,
                        unet_config: Optional[dict] = None,
                        vae_config: Optional[dict] = None,
                        text_encoder_config: Optional[dict] = None,
                        scheduler_config: Optional[dict] = None,
                        local_files_only: bool = True,
                        components: Sequence[str] = SD_COMPONENTS,
                        scheduler_class: Optional[type] = None) -> SDComponents:
    """Load or build the Stable Diffusion components a method needs.

    The whole folder is checked first, so one error lists the layout when anything is missing.

    Args:
        pretrained (str, optional): Diffusers folder, hub id or single-file checkpoint
            (``.safetensors``/``.ckpt``, see :mod:`.single_file_weights`); None builds random
            models from the configs. Defaults to None.
        unet_config (dict, optional): UNet config (random build, or check of the loaded one).
        vae_config (dict, optional): VAE config.
        text_encoder_config (dict, optional): ``CLIPTextConfig`` arguments.
        scheduler_config (dict, optional): Scheduler config.
        local_files_only (bool): No download for hub ids. Defaults to True.
        components (Sequence[str]): Which parts to load; the others are None. The tokenizer
            is only loaded with ``pretrained``. Defaults to all five.
        scheduler_class (type, optional): Scheduler class. Defaults to None
            (``DDPMScheduler``).

    Returns:
        SDComponents: The requested parts.
    """
    wanted = set(components)
    unknown = wanted - set(SD_COMPONENTS)
    if unknown:
        raise KeyError(f'Unknown Stable Diffusion components {sorted(unknown)}; known: '
                       f'{list(SD_COMPONENTS)}.')
    from .single_file_weights import is_single_file, load_single_file_components
    if is_single_file(pretrained):
        configs = dict(unet=unet_config, vae=vae_config, text_encoder=text_encoder_config,
                       scheduler=scheduler_config)
        return load_single_file_components(pretrained, configs, components, local_files_only,
                                           scheduler_class)
    root = None
    if pretrained is not None:
        root = resolve_pretrained(pretrained, [c for c in SD_COMPONENTS if c in wanted],
                                  local_files_only)
    parts: List = [
        load_unet(root, unet_config) if 'unet' in wanted else None,
        load_vae(root, vae_config) if 'vae' in wanted else None,
        load_text_encoder(root, text_encoder_config) if 'text_encoder' in wanted else None,
        load_tokenizer(root) if 'tokenizer' in wanted else None,
        load_scheduler(root, scheduler_config, scheduler_class=scheduler_class)
        if 'scheduler' in wanted else None,
    ]
    return SDComponents(*parts)
