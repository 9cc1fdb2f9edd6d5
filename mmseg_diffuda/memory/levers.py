"""Memory levers of the full-size configs, as config edits.

Each lever is a function ``(model_cfg, optim_cfg) -> autocast`` that edits the two config dicts
in place and returns whether the training step must run under autocast. A lever that does not
apply to a config raises a ``ValueError`` saying why, so a plan never reports a lever that
changed nothing.
"""
from typing import Callable, Dict, Sequence, Tuple

#: Backbone types built on Stable Diffusion whose UNet is trained (MADM, ICCLD).
TRAINED_UNET_BACKBONES = ('StableDiffusionBackbone', 'InterCoderDiffusionBackbone')
#: Backbone types whose frozen Stable Diffusion parts run without gradient (DIFF).
FROZEN_UNET_BACKBONES = ('DiffusionFeatureBackbone', )


def _student(model_cfg: dict) -> dict:
    return model_cfg.get('segmentor', model_cfg)


def _backbone(model_cfg: dict) -> dict:
    return _student(model_cfg)['backbone']


def _optimizers(optim_cfg: dict) -> list:
    if 'optimizer' in optim_cfg:
        return [optim_cfg['optimizer']]
    return [value['optimizer'] for value in optim_cfg.values()
            if isinstance(value, dict) and 'optimizer' in value]


def grad_ckpt(model_cfg: dict, optim_cfg: dict) -> bool:
    """Gradient checkpointing of the trained backbone (diffusers' UNet blocks; MiT ``with_cp``)."""
    backbone = _backbone(model_cfg)
    if backbone['type'] in TRAINED_UNET_BACKBONES:
        backbone['gradient_checkpointing'] = True
    elif backbone['type'] == 'MixVisionTransformer':
        backbone['with_cp'] = True
    else:
        raise ValueError(f'lever grad_ckpt: the {backbone["type"]} backbone is not trained '
                         '(no activations are kept for a backward), so it has nothing to '
                         'checkpoint.')
    return False


def head_ckpt(model_cfg: dict, optim_cfg: dict) -> bool:
    """Gradient checkpointing of the DAFormer head's embedding + fusion (``with_cp``)."""
    head = _student(model_cfg)['decode_head']
    if head['type'] not in ('DAFormerHead', 'LanguageConditionedHead'):
        raise ValueError(f'lever head_ckpt: the {head["type"]} head has no with_cp switch.')
    head['with_cp'] = True
    return False


def amp(model_cfg: dict, optim_cfg: dict) -> bool:
    """Mixed precision of the whole step (``AmpOptimWrapper``; DIFF's frozen passes too)."""
    backbone = _backbone(model_cfg)
    if backbone['type'] in FROZEN_UNET_BACKBONES:
        backbone['autocast_dtype'] = 'float16'
    wrappers = [optim_cfg] if 'optimizer' in optim_cfg else [
        value for value in optim_cfg.values() if isinstance(value, dict)]
    if all(wrapper.get('type') == 'AmpOptimWrapper' for wrapper in wrappers[:1]) \
            and backbone['type'] not in FROZEN_UNET_BACKBONES:
        raise ValueError('lever amp: the config already trains with AmpOptimWrapper.')
    return True


def frozen_half(model_cfg: dict, optim_cfg: dict) -> bool:
    """Frozen Stable Diffusion parts stored in float16 (the released SD weights' format)."""
    backbone = _backbone(model_cfg)
    if backbone['type'] not in TRAINED_UNET_BACKBONES + FROZEN_UNET_BACKBONES:
        raise ValueError(f'lever frozen_half: the {backbone["type"]} backbone has no frozen '
                         'Stable Diffusion part.')
    backbone['frozen_dtype'] = 'float16'
    return False


def no_s0(model_cfg: dict, optim_cfg: dict) -> bool:
    """MADM without the VAE-decoded stride-1 feature s0 (the head fuses three levels).

    A model change, not only a memory setting: see docs/methods/madm.md.
    """
    backbone = _backbone(model_cfg)
    if not backbone.get('use_decoded_feature'):
        raise ValueError('lever no_s0: the backbone has no decoded feature s0 '
                         '(use_decoded_feature is already off or absent).')
    drop_decoded_feature(_student(model_cfg))
    return False


def drop_decoded_feature(student_cfg: dict) -> None:
    """Turn off ``use_decoded_feature`` and drop the s0 level from the projections and head.

    Args:
        student_cfg (dict): The student segmentor config (edited in place).
    """
    backbone, head = student_cfg['backbone'], student_cfg['decode_head']
    backbone['use_decoded_feature'] = False
    backbone['projection_dims'] = list(backbone['projection_dims'])[1:]
    head['in_channels'] = list(head['in_channels'])[1:]
    head['in_index'] = list(range(len(head['in_channels'])))


def fused_adamw(model_cfg: dict, optim_cfg: dict) -> bool:
    """PyTorch's fused AdamW/Adam kernel (``fused=True``) instead of the ``foreach`` default."""
    optimizers = [opt for opt in _optimizers(optim_cfg) if opt.get('type') in ('AdamW', 'Adam')]
    if not optimizers:
        raise ValueError('lever fused_adamw: the config has no Adam/AdamW optimiser.')
    for optimizer in optimizers:
        optimizer.pop('foreach', None)
        optimizer['fused'] = True
    return False


#: Lever name -> config edit.
LEVERS: Dict[str, Callable[[dict, dict], bool]] = dict(
    grad_ckpt=grad_ckpt, head_ckpt=head_ckpt, amp=amp, frozen_half=frozen_half, no_s0=no_s0,
    fused_adamw=fused_adamw)


def apply_levers(model_cfg: dict, optim_cfg: dict,
                 levers: Sequence[str]) -> Tuple[dict, dict, bool]:
    """Apply ``levers`` to the model and optimiser configs (in place).

    Args:
        model_cfg (dict): The model config.
        optim_cfg (dict): The ``optim_wrapper`` config.
        levers (Sequence[str]): Names from :data:`LEVERS`.

    Returns:
        tuple[dict, dict, bool]: The configs and whether a lever asks for autocast.
    """
    autocast = False
    for name in levers:
        if name not in LEVERS:
            raise ValueError(f'unknown lever {name!r}; choose from {sorted(LEVERS)}.')
        autocast = LEVERS[name](model_cfg, optim_cfg) or autocast
    return model_cfg, optim_cfg, autocast


def random_weights(node: object) -> object:
    """Replace every pretrained checkpoint of a config by random initialisation (in place).

    ``pretrained=<path or tag>`` becomes None (the ``*_config`` dicts then build the
    architecture) and ``init_cfg=dict(type='Pretrained', ...)`` is removed.

    Args:
        node (object): A config dict (or any part of it).

    Returns:
        object: ``node``.
    """
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key == 'pretrained' and isinstance(value, str):
                node[key] = None
            elif key == 'init_cfg' and isinstance(value, dict) \
                    and value.get('type') == 'Pretrained':
                node[key] = None
            else:
                random_weights(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            random_weights(value)
    return node
