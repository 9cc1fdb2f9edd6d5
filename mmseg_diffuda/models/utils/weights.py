"""Checks on pretrained-weight paths named in a config.

mmengine only warns when an ``init_cfg=dict(type='Pretrained', checkpoint=...)`` file is missing
and then trains from random weights; :func:`check_pretrained_exists` turns that into an error.
"""
import os.path as osp
from typing import Iterator, Tuple, Union

from mmengine.config import Config

#: Suffixes that mark a ``pretrained=`` string as a checkpoint file (other strings, e.g. a
#: diffusers hub id, are resolved by the component that reads them).
CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.ckpt', '.bin', '.safetensors')


#: Folder of the toy foundation models (tools/pretrain_toy_models.py) in the configs.
TOY_MODELS_DIR = 'data/toy_models/'


def check_pretrained_exists(cfg: Union[Config, dict]) -> None:
    """Raise if a local pretrained checkpoint named in ``cfg`` does not exist.

    Checked: every ``init_cfg`` of type ``Pretrained`` (its ``checkpoint``) and every string
    ``pretrained=`` value ending in a checkpoint suffix. URLs and other ``scheme://`` locations
    are left to the loader. Relative paths are resolved against the working directory, as
    mmengine does.

    Args:
        cfg (Config | dict): The full config (or any part of it).

    Raises:
        FileNotFoundError: Naming the config key, the path and the fix.
    """
    data = cfg.to_dict() if isinstance(cfg, Config) else cfg
    for key, path in _pretrained_paths(data, prefix=''):
        if '://' in path or osp.isfile(path) or (TOY_MODELS_DIR in path and osp.isdir(path)):
            continue
        if TOY_MODELS_DIR in path:
            raise FileNotFoundError(
                f'Toy foundation model not found: {key} = {path!r} (relative paths resolve from '
                f'{osp.abspath(".")}). Make the toy models once per machine with '
                '`python tools/pretrain_toy_models.py` (about 15 minutes on 2 CPU cores; cached '
                'in ~/.cache/mmseg-diffuda/toy_models and linked into data/toy_models), run from '
                'the repository root, or use the config\'s random-init variant '
                '(configs/toy/random-init/) to train without pretraining on purpose.')
        raise FileNotFoundError(
            f'Pretrained weights not found: {key} = {path!r} (relative paths resolve from '
            f'{osp.abspath(".")}). mmengine would only warn and train from random weights. '
            'Get the file as the comment next to this key in the model config explains (MiT: '
            'mmseg\'s converted mit_b*.pth release, or SegFormer\'s ImageNet weights converted '
            'with mmseg\'s tools/model_converters/mit2mmseg.py), start from the directory the path '
            f'is relative to, point to it with --cfg-options {key}=<path>, or set that init_cfg to '
            'None to train from random weights on purpose.')


def _pretrained_paths(node: object, prefix: str) -> Iterator[Tuple[str, str]]:
    """Yield ``(dotted key, path)`` for every pretrained checkpoint path below ``node``."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and isinstance(node.get('checkpoint'), str):
            yield f'{prefix}checkpoint', node['checkpoint']
        for key, value in node.items():
            if key == 'pretrained' and isinstance(value, str) \
                    and (value.lower().endswith(CHECKPOINT_SUFFIXES) or TOY_MODELS_DIR in value):
                yield f'{prefix}{key}', value
            else:
                yield from _pretrained_paths(value, f'{prefix}{key}.')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _pretrained_paths(value, f'{prefix}{index}.')
