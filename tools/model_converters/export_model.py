"""Export the student (or teacher) of a UDA checkpoint as a plain mmseg EncoderDecoder.

A UDA checkpoint holds the student, the EMA teacher and training-only parts (ImageNet encoder,
discriminator, auxiliary networks). This tool writes, into ``OUT_DIR``:

- ``<config name>.py``: an mmseg config with ``model = dict(type='EncoderDecoder', ...)``, the
  config's test/val data, evaluator and runtime, and no training settings. Types are mmseg's own
  where the network allows; where the backbone or head exists only in this project (DAFormer
  head, diffusion backbones), the config keeps that type and imports the plugin with
  ``custom_imports = dict(imports=['mmseg_diffuda'])``. The project's ``LoadImage`` /
  ``LoadSegLabel`` become mmcv's/mmseg's ``LoadImageFromFile`` / ``LoadAnnotations`` (the same
  decoding, without the load-time checks).
- ``<config name>.pth``: ``dict(meta=dict(dataset_meta, exported_from), state_dict)`` with the
  exported network's weights only; it loads with ``torch.load(weights_only=True)``. Backbones
  whose config states the whole Stable Diffusion architecture (``unet_config``, ``vae_config``,
  ``text_encoder_config``, ``scheduler_config``) are exported with ``pretrained=None``: the
  export needs no SD weights folder, every weight (prompt embeddings included) is in the file;
  pretrained MiT ``init_cfg`` is dropped for the same reason.

The student segmentors of this project differ from ``EncoderDecoder`` only in their training
passes (pixel weights, extra outputs, DIFF's conditional pass, LC-MSM's language head), so their
predictions are those of an ``EncoderDecoder`` with the same backbone and decode head. The
exported model scores the same mIoU with ``tools/test.py`` as the UDA checkpoint.

Example::

    python tools/model_converters/export_model.py \
        configs/toy/daformer_mitb0-tiny_toy.py work_dirs/daformer/iter_2000.pth exported/
    python tools/test.py exported/daformer_mitb0-tiny_toy.py exported/daformer_mitb0-tiny_toy.pth
"""
import argparse
import copy
import json
import os
import os.path as osp
from typing import Dict, Iterator, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from torch import Tensor

#: Project segmentors whose prediction is EncoderDecoder's, with the config keys and state-dict
#: prefixes that only their training uses.
PLAIN_SEGMENTORS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    'EncoderDecoder': ((), ()),
    'UDAEncoderDecoder': ((), ()),
    'LatentEncoderDecoder': ((), ()),
    'LatentFeatureEncoderDecoder': ((), ()),
    'DiffEncoderDecoder': (('conditional_pass', 'consistency_weight'), ()),
    'LanguageConditionedEncoderDecoder': (('language_head', ), ('language_head.', )),
}
#: Top-level config keys the exported config keeps (evaluation and runtime).
KEPT_KEYS = ('default_scope', 'env_cfg', 'vis_backends', 'visualizer', 'log_processor',
             'log_level', 'randomness', 'test_pipeline', 'test_dataloader', 'test_evaluator',
             'test_cfg', 'val_dataloader', 'val_evaluator', 'val_cfg', 'tta_model', 'tta_pipeline')
#: Default hooks of mmengine/mmseg that evaluation uses (the training ones are dropped).
KEPT_HOOKS = ('timer', 'logger', 'sampler_seed', 'visualization')
#: Backbone keys that state a whole Stable Diffusion architecture: with all of them the export
#: builds it without the SD weights folder (the checkpoint holds every weight).
SD_ARCHITECTURE_KEYS = ('unet_config', 'vae_config', 'text_encoder_config', 'scheduler_config')
PLUGIN = 'mmseg_diffuda'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a UDA checkpoint as a plain mmseg EncoderDecoder')
    parser.add_argument('config', help='training config of the checkpoint')
    parser.add_argument('checkpoint', help='UDA checkpoint (e.g. work_dirs/.../iter_N.pth)')
    parser.add_argument('out_dir', help='folder for the exported config and checkpoint')
    parser.add_argument('--teacher', action='store_true',
                        help='export the EMA teacher (default: the network the config '
                        'evaluates, the student unless model.evaluate_teacher=True)')
    return parser.parse_args()


def network_config(model_cfg: ConfigDict, teacher: bool) -> Tuple[ConfigDict, str]:
    """The exported network's config and the checkpoint prefix of its weights.

    Args:
        model_cfg (ConfigDict): ``cfg.model`` of the training config.
        teacher (bool): Export the teacher.

    Returns:
        tuple[ConfigDict, str]: The segmentor config (with the data preprocessor the UDA wrapper
        evaluates with) and the state-dict prefix (``''``, ``'student.'`` or
        ``'teacher.model.'``).

    Raises:
        ValueError: ``teacher`` for a model without an EMA teacher.
    """
    if 'segmentor' not in model_cfg:  # already a plain segmentor config
        if teacher:
            raise ValueError(f'--teacher: model.type={model_cfg.type!r} has no teacher.')
        return copy.deepcopy(model_cfg), ''
    use_teacher = teacher or model_cfg.get('evaluate_teacher', False)
    if use_teacher and model_cfg.get('ema', 'default') is None:
        raise ValueError(f'--teacher: model.type={model_cfg.type!r} has ema=None (no teacher).')
    segmentor = copy.deepcopy(model_cfg.segmentor)
    preprocessor = model_cfg.get('data_preprocessor') or segmentor.get('data_preprocessor')
    segmentor.data_preprocessor = copy.deepcopy(preprocessor)
    return segmentor, 'teacher.model.' if use_teacher else 'student.'


def plain_segmentor(segmentor: ConfigDict) -> Tuple[ConfigDict, Tuple[str, ...]]:
    """``EncoderDecoder`` config of a project segmentor; also its training-only prefixes.

    Args:
        segmentor (ConfigDict): The student's config.

    Returns:
        tuple[ConfigDict, tuple[str]]: The EncoderDecoder config and the state-dict prefixes to
        leave out.

    Raises:
        ValueError: A segmentor type whose prediction is not EncoderDecoder's.
    """
    if segmentor.type not in PLAIN_SEGMENTORS:
        raise ValueError(f'export: model.segmentor.type={segmentor.type!r} has no plain mmseg '
                         f'form; known: {sorted(PLAIN_SEGMENTORS)}.')
    keys, prefixes = PLAIN_SEGMENTORS[segmentor.type]
    plain = ConfigDict({k: v for k, v in segmentor.items() if k not in keys})
    plain.type = 'EncoderDecoder'
    plain.pop('pretrained', None)
    plain.train_cfg = dict()
    if isinstance(plain.backbone.get('init_cfg'), dict):  # weights come from the checkpoint
        plain.backbone.init_cfg = None
    if isinstance(plain.backbone.get('pretrained'), str) and all(
            key in plain.backbone for key in SD_ARCHITECTURE_KEYS):
        keep_vae_scaling(plain.backbone)
        plain.backbone.pretrained = None  # SD architecture from the *_config dicts
    return plain, prefixes


def keep_vae_scaling(backbone: ConfigDict) -> None:
    """Copy the VAE's ``scaling_factor`` of a pretrained SD folder into ``vae_config``.

    The scaling factor is a config value, not a weight: a config that states only the VAE's
    architecture (the toy configs: the toy VAE's factor is measured after its training) would build
    the export with diffusers' default 0.18215 instead of the value the model was trained with.

    Args:
        backbone (ConfigDict): The backbone config (``pretrained`` still set).

    Raises:
        FileNotFoundError: The folder's ``vae/config.json`` is missing.
    """
    if backbone.vae_config.get('scaling_factor') is not None:
        return
    path = osp.join(backbone.pretrained, 'vae', 'config.json')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'export: {path} is missing; the VAE scaling factor of pretrained='
            f'{backbone.pretrained!r} is needed to export its architecture without the folder. '
            'Run the export from the directory the config\'s paths are relative to.')
    with open(path, encoding='utf-8') as f:
        scaling_factor = json.load(f)['scaling_factor']
    backbone.vae_config = dict(backbone.vae_config, scaling_factor=scaling_factor)


def network_state_dict(state_dict: Dict[str, Tensor], prefix: str, model_cfg: ConfigDict,
                       dropped: Tuple[str, ...]) -> Dict[str, Tensor]:
    """The exported network's weights, keys relative to the network.

    A teacher's modules shared with the student (``ema.shared_modules``, e.g. MADM's UNet) are
    not in its state dict; they are taken from the student.

    Args:
        state_dict (dict[str, Tensor]): The UDA checkpoint's ``state_dict``.
        prefix (str): ``''``, ``'student.'`` or ``'teacher.model.'``.
        model_cfg (ConfigDict): ``cfg.model`` (for the shared modules).
        dropped (tuple[str]): Training-only prefixes (relative to the network).

    Returns:
        dict[str, Tensor]: The weights.
    """
    weights = {key[len(prefix):]: value for key, value in state_dict.items()
               if key.startswith(prefix)}
    if prefix == 'teacher.model.':
        ema = model_cfg.get('ema') or {}
        for name in ema.get('shared_modules', ()):
            shared = f'student.{name}.'
            weights.update({key[len('student.'):]: value for key, value in state_dict.items()
                            if key.startswith(shared)})
    if not weights:
        raise KeyError(f'export: the checkpoint has no "{prefix}*" weights; is it a checkpoint '
                       'of this config?')
    return {key: value for key, value in weights.items() if not key.startswith(dropped)}


def plain_pipeline(pipeline: list) -> list:
    """Replace the project's checked loaders by mmcv's/mmseg's (same decoding)."""
    steps = []
    for step in copy.deepcopy(pipeline):
        if step['type'] == 'LoadImage':
            step['type'] = 'LoadImageFromFile'
        elif step['type'] == 'LoadSegLabel':
            step = {k: v for k, v in step.items() if k not in ('num_classes', 'ignore_index')}
            step['type'] = 'LoadAnnotations'
        steps.append(step)
    return steps


def iter_types(node) -> Iterator[str]:
    """Every string ``type`` in a nested config."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node['type']
        for value in node.values():
            yield from iter_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from iter_types(value)


def plugin_types(cfg: dict) -> list:
    """The ``type`` names of ``cfg`` that only this project registers."""
    import mmseg.registry as registries
    from mmengine.registry import Registry

    import mmseg_diffuda  # noqa: F401  (registers the plugin's types)
    init_default_scope('mmseg')
    found = set()
    for name in set(iter_types(cfg)):
        for registry in vars(registries).values():
            if isinstance(registry, Registry):
                cls = registry.get(name)
                if cls is not None and getattr(cls, '__module__', '').startswith(PLUGIN):
                    found.add(name)
    return sorted(found)


def export_config(cfg: Config, network: ConfigDict) -> Config:
    """The plain evaluation config around ``network``.

    Args:
        cfg (Config): The training config.
        network (ConfigDict): The EncoderDecoder config.

    Returns:
        Config: The exported config (``custom_imports`` only if a plugin type remains).
    """
    out = {key: copy.deepcopy(cfg[key]) for key in KEPT_KEYS if key in cfg}
    out['model'] = network
    out.setdefault('default_scope', 'mmseg')
    out.setdefault('test_cfg', dict(type='TestLoop'))
    out['default_hooks'] = {k: v for k, v in cfg.get('default_hooks', {}).items()
                            if k in KEPT_HOOKS}
    out['load_from'], out['resume'] = None, False
    if 'test_pipeline' in out:
        out['test_pipeline'] = plain_pipeline(out['test_pipeline'])
    for split in ('test_dataloader', 'val_dataloader'):
        dataset = out.get(split, {}).get('dataset', {})
        if 'pipeline' in dataset:
            dataset['pipeline'] = plain_pipeline(dataset['pipeline'])
    if plugin_types(out):
        out['custom_imports'] = dict(imports=[PLUGIN], allow_failed_imports=False)
    return Config(out)


def export(config: str, checkpoint: str, out_dir: str,
           teacher: bool = False) -> Tuple[str, str]:
    """Write the plain config and checkpoint of ``checkpoint`` into ``out_dir``.

    Args:
        config (str): The training config.
        checkpoint (str): The UDA checkpoint.
        out_dir (str): Output folder (created).
        teacher (bool): Export the EMA teacher. Defaults to False (the evaluated network).

    Returns:
        tuple[str, str]: Paths of the written config and checkpoint.
    """
    cfg = Config.fromfile(config)
    network, prefix = network_config(cfg.model, teacher)
    network, dropped = plain_segmentor(network)
    source = torch.load(checkpoint, map_location='cpu', weights_only=True)
    state_dict = source.get('state_dict', source)
    weights = network_state_dict(state_dict, prefix, cfg.model, dropped)
    meta: Dict[str, object] = dict(
        exported_from=dict(config=osp.abspath(config), checkpoint=osp.abspath(checkpoint),
                           network=prefix.rstrip('.') or 'model'))
    source_meta: Optional[dict] = source.get('meta')
    if source_meta and 'dataset_meta' in source_meta:
        meta['dataset_meta'] = source_meta['dataset_meta']
    os.makedirs(out_dir, exist_ok=True)
    name = osp.splitext(osp.basename(config))[0]
    cfg_path, ckpt_path = osp.join(out_dir, f'{name}.py'), osp.join(out_dir, f'{name}.pth')
    export_config(cfg, network).dump(cfg_path)
    torch.save(dict(meta=meta, state_dict=weights), ckpt_path)
    return cfg_path, ckpt_path


def main() -> None:
    args = parse_args()
    cfg_path, ckpt_path = export(args.config, args.checkpoint, args.out_dir, args.teacher)
    kept = plugin_types(Config.fromfile(cfg_path).to_dict())
    print(f'Wrote {cfg_path} and {ckpt_path}')
    print('Plugin types kept (custom_imports=mmseg_diffuda): ' + ', '.join(kept) if kept else
          'Only mmseg/mmcv types: the config needs no plugin.')


if __name__ == '__main__':
    main()
