"""Frozen OpenCLIP text embeddings of class-name prompts, encoded once and cached.

LC-MSM (Kim et al., "LC-MSM: Language-Conditioned Masked Segmentation Model for Unsupervised
Domain Adaptation", Pattern Recognition 2024), official ``mmseg/models/uda/dacs_tigda.py``
(``DACSTigDA.__init__``): the ``ViT-H-14`` text tower of OpenCLIP (``laion2b_s32b_b79k``),
frozen, encodes ``"a photo of a {name}."`` for every class, with four Cityscapes classes renamed.
The official code re-encodes the prompts under ``no_grad`` every iteration; the frozen tower is
deterministic, so encoding once gives the same features (and frees the tower's memory).

``open_clip`` is imported when a text tower is first built, not with the package: only LC-MSM
configs need it, and importing it (with its model registry) slows every ``tools/*.py`` start.
"""
import json
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

import torch
from mmseg.datasets import CityscapesDataset
from mmseg.registry import MODELS
from torch import Tensor, nn

#: LC-MSM's class renames (official ``DACSTigDA.__init__``).
LCMSM_CLASS_RENAMES = {
    'person': 'pedestrian',
    'rider': 'driver',
    'bicycle': 'bike',
    'motorcycle': 'motorbike',
}
#: LC-MSM's prompt template.
LCMSM_PROMPT_TEMPLATE = 'a photo of a {}.'
#: Key prefixes of the text tower in a CLIP checkpoint (``CLIP`` layout; ``CustomTextCLIP``
#: checkpoints hold the same keys below ``text.``).
TEXT_TOWER_PREFIXES = ('token_embedding.', 'positional_embedding', 'transformer.', 'ln_final.',
                       'text_projection', 'cls_emb')


class OpenCLIPWeightsNotFoundError(FileNotFoundError):
    """OpenCLIP weights named in a config can be neither read nor downloaded."""


def class_prompts(class_names: Sequence[str],
                  template: str = LCMSM_PROMPT_TEMPLATE,
                  renames: Optional[Mapping[str, str]] = None) -> List[str]:
    """Prompt strings of the classes, after renaming.

    Args:
        class_names (Sequence[str]): Class names in label order.
        template (str): Format string with one ``{}`` for the name. Defaults to
            ``'a photo of a {}.'``.
        renames (Mapping[str, str], optional): Name replacements. Defaults to None (none).

    Returns:
        list[str]: One prompt per class.
    """
    renames = renames or {}
    return [template.format(renames.get(name, name)) for name in class_names]


def text_tower_config(model_name: str, text_cfg: Optional[dict] = None,
                      embed_dim: Optional[int] = None) -> Dict:
    """The text-tower config of an OpenCLIP architecture, with optional overrides.

    Args:
        model_name (str): OpenCLIP architecture, e.g. ``'ViT-H-14'``.
        text_cfg (dict, optional): Entries replacing those of the architecture's ``text_cfg``
            (e.g. ``dict(width=32, heads=2, layers=1)`` for a tiny tower). Defaults to None.
        embed_dim (int, optional): Output width replacing the architecture's ``embed_dim``.
            Defaults to None.

    Returns:
        dict: ``dict(embed_dim=int, text_cfg=open_clip.model.CLIPTextCfg)``.
    """
    from open_clip.model import CLIPTextCfg
    model_cfg = openclip_model_config(model_name)
    cfg = CLIPTextCfg(**{**model_cfg['text_cfg'], **(text_cfg or {})})
    if cfg.hf_model_name or cfg.hf_tokenizer_name:
        raise ValueError(f'OpenCLIP {model_name!r} uses a Hugging Face text model or tokenizer, '
                         'which needs the network; choose an architecture with the bundled CLIP '
                         'tokenizer (e.g. "ViT-H-14").')
    return dict(embed_dim=embed_dim or model_cfg['embed_dim'], text_cfg=cfg)


def openclip_model_config(model_name: str) -> Dict:
    """The model config of an OpenCLIP architecture name or a ``local-dir:<folder>`` model.

    ``local-dir:<folder>`` is open_clip's own schema for a model folder in the hub layout
    (``open_clip_config.json`` with ``model_cfg``, next to ``open_clip_pytorch_model.bin``), the
    format of the toy CLIP (``tools/pretrain_toy_models.py --models clip``).

    Args:
        model_name (str): e.g. ``'ViT-H-14'`` or ``'local-dir:data/toy_models/clip-tiny'``.

    Returns:
        dict: The ``model_cfg`` (``embed_dim``, ``vision_cfg``, ``text_cfg``).

    Raises:
        FileNotFoundError: A ``local-dir`` folder without ``open_clip_config.json``, naming the
            command that makes the toy CLIP.
        KeyError: An unknown architecture name.
    """
    import open_clip
    if model_name.startswith('local-dir:'):
        path = osp.join(model_name[len('local-dir:'):], 'open_clip_config.json')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'OpenCLIP model folder {model_name!r}: {osp.abspath(path)} does not exist. A '
                'local-dir model is a folder with open_clip_config.json and '
                'open_clip_pytorch_model.bin (the hub layout); the toy CLIP is made by '
                '`python tools/pretrain_toy_models.py --models clip`.')
        with open(path, encoding='utf-8') as f:
            return json.load(f)['model_cfg']
    model_cfg = open_clip.get_model_config(model_name)
    if model_cfg is None:
        raise KeyError(f'OpenCLIP has no architecture {model_name!r}; choose one of '
                       'open_clip.list_models() (LC-MSM uses "ViT-H-14") or a '
                       '"local-dir:<folder>" model.')
    return model_cfg


def build_text_tower(model_name: str,
                     text_cfg: Optional[dict] = None,
                     embed_dim: Optional[int] = None,
                     pretrained: Optional[str] = None,
                     seed: int = 0) -> nn.Module:
    """Build an OpenCLIP text tower (``TextTransformer``), frozen and in eval mode.

    Only the text tower is built (not the image tower). With ``pretrained=None`` the weights
    are OpenCLIP's random initialisation drawn from a generator seeded with ``seed`` (the
    global random state is left untouched), so the same arguments give the same tower.

    Args:
        model_name (str): OpenCLIP architecture, e.g. ``'ViT-H-14'``.
        text_cfg (dict, optional): Overrides of the architecture's text config.
        embed_dim (int, optional): Override of the output width.
        pretrained (str, optional): A local checkpoint file of the CLIP model, or an OpenCLIP
            pretrained tag of ``model_name`` (e.g. ``'laion2b_s32b_b79k'``, taken from the
            Hugging Face cache or downloaded). Defaults to None (random weights).
        seed (int): Seed of the random initialisation. Defaults to 0.

    Returns:
        nn.Module: The text tower; ``tower(tokens)`` gives (N, embed_dim) features.
    """
    from open_clip.model import _build_text_tower
    cfg = text_tower_config(model_name, text_cfg, embed_dim)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tower = _build_text_tower(cfg['embed_dim'], cfg['text_cfg'])
    if pretrained is not None:
        load_text_tower_weights(tower, model_name, pretrained)
    return tower.eval().requires_grad_(False)


def load_text_tower_weights(tower: nn.Module, model_name: str, pretrained: str) -> None:
    """Load the text-tower part of an OpenCLIP checkpoint into ``tower``.

    Args:
        tower (nn.Module): A tower from :func:`build_text_tower`.
        model_name (str): The OpenCLIP architecture (for pretrained tags).
        pretrained (str): Local checkpoint file or OpenCLIP pretrained tag.

    Raises:
        OpenCLIPWeightsNotFoundError: The file does not exist, the tag is unknown, or the
            download failed (offline), naming the file/tag and the fix.
        RuntimeError: The checkpoint does not fit the tower's architecture.
    """
    from open_clip.factory import load_state_dict
    path = resolve_openclip_checkpoint(model_name, pretrained)
    state = text_tower_state_dict(load_state_dict(path))
    try:
        tower.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise RuntimeError(f'OpenCLIP checkpoint {path!r} does not fit the {model_name!r} text '
                           'tower of the config (different architecture or text_cfg '
                           f'overrides): {error}') from error


def resolve_openclip_checkpoint(model_name: str, pretrained: str) -> str:
    """Local path of the OpenCLIP weights ``pretrained`` (a file or a pretrained tag).

    Args:
        model_name (str): OpenCLIP architecture.
        pretrained (str): Local checkpoint file or OpenCLIP pretrained tag.

    Returns:
        str: A readable checkpoint file.
    """
    if osp.isfile(pretrained):
        return pretrained
    import open_clip
    tags = open_clip.list_pretrained_tags_by_model(model_name)
    if pretrained not in tags:
        raise OpenCLIPWeightsNotFoundError(
            f'OpenCLIP weights {pretrained!r} for {model_name!r}: no such file (relative paths '
            f'resolve from {osp.abspath(".")}) and not an OpenCLIP pretrained tag of this '
            f'architecture (tags: {tags}). Set pretrained= to an existing checkpoint file or '
            'to one of the tags (the toy CLIP: `python tools/pretrain_toy_models.py --models '
            'clip`).')
    pretrained_cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    hub_id = pretrained_cfg.get('hf_hub', '')
    try:
        path = open_clip.download_pretrained(pretrained_cfg)
    except Exception as error:  # huggingface_hub / urllib raise many types when offline
        raise OpenCLIPWeightsNotFoundError(
            f'Could not load the OpenCLIP weights {model_name!r} / {pretrained!r} (not in the '
            f'Hugging Face cache and the download failed: {error}). On a machine with internet '
            f'run: python -c "import open_clip; open_clip.create_model({model_name!r}, '
            f'pretrained={pretrained!r})" to fill the cache, or download '
            f'open_clip_pytorch_model.bin from https://huggingface.co/{hub_id.rstrip("/")} and '
            'set pretrained="<path to the file>" in the text_encoder config.') from error
    if not path or not osp.isfile(path):
        raise OpenCLIPWeightsNotFoundError(
            f'OpenCLIP gave no file for {model_name!r} / {pretrained!r}; download the checkpoint '
            'and set pretrained="<path to the file>" in the text_encoder config.')
    return path


def text_tower_state_dict(state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """The text-tower entries of a CLIP state dict, named as in ``TextTransformer``.

    Args:
        state (Mapping[str, Tensor]): State dict of a ``CLIP`` (text keys at the top level) or
            ``CustomTextCLIP`` (text keys below ``text.``) model.

    Returns:
        dict[str, Tensor]: The text tower's entries (image tower and logit scale dropped).
    """
    if any(key.startswith('text.') for key in state):
        return {key[len('text.'):]: value for key, value in state.items()
                if key.startswith('text.')}
    return {key: value for key, value in state.items() if key.startswith(TEXT_TOWER_PREFIXES)}


@torch.no_grad()
def encode_prompts(tower: nn.Module, tokenizer, prompts: Sequence[str]) -> Tensor:
    """Encode prompts with a text tower (no gradient, float32).

    Args:
        tower (nn.Module): An OpenCLIP text tower.
        tokenizer: OpenCLIP tokenizer; ``tokenizer(prompts)`` gives (N, context_length) ids.
        prompts (Sequence[str]): The prompts.

    Returns:
        Tensor: Features (N, embed_dim), not normalised (LC-MSM normalises after projecting).
    """
    return tower(tokenizer(list(prompts))).float()


@MODELS.register_module()
class OpenCLIPClassEmbeddings(nn.Module):
    """Text embeddings of class-name prompts from a frozen OpenCLIP text tower.

    The prompts are encoded once at construction; the result is the buffer ``embeddings``
    (num_classes, embed_dim) and the tower is discarded (the official LC-MSM keeps the whole
    CLIP model and re-encodes every iteration without gradient: same values). The buffer is in
    the state dict, so a checkpoint carries the embeddings it was trained with. The tokenizer
    is OpenCLIP's bundled BPE tokenizer (no network).

    Args:
        class_names (Sequence[str], optional): Class names in label order. Defaults to None:
            the 19 Cityscapes evaluation classes (mmseg's ``CityscapesDataset``), the label
            set of GTA5/SYNTHIA -> Cityscapes.
        model_name (str): OpenCLIP architecture. Defaults to ``'ViT-H-14'`` (LC-MSM).
        pretrained (str, optional): Local checkpoint file or OpenCLIP pretrained tag
            (LC-MSM: ``'laion2b_s32b_b79k'``). None builds random weights (tests, toy, build
            checks). Defaults to None.
        text_cfg (dict, optional): Overrides of the architecture's text config (a tiny tower:
            ``dict(width=32, heads=2, layers=1)``). Defaults to None.
        embed_dim (int, optional): Override of the output width. Defaults to None.
        template (str): Prompt template. Defaults to ``'a photo of a {}.'`` (LC-MSM).
        renames (Mapping[str, str], optional): Class renames. Defaults to LC-MSM's
            (person -> pedestrian, rider -> driver, bicycle -> bike, motorcycle -> motorbike).
        seed (int): Seed of the random weights when ``pretrained`` is None. Defaults to 0.
    """

    def __init__(self,
                 class_names: Optional[Sequence[str]] = None,
                 model_name: str = 'ViT-H-14',
                 pretrained: Optional[str] = None,
                 text_cfg: Optional[dict] = None,
                 embed_dim: Optional[int] = None,
                 template: str = LCMSM_PROMPT_TEMPLATE,
                 renames: Optional[Mapping[str, str]] = LCMSM_CLASS_RENAMES,
                 seed: int = 0) -> None:
        super().__init__()
        if class_names is None:
            class_names = CityscapesDataset.METAINFO['classes']
        if not class_names:
            raise ValueError('OpenCLIPClassEmbeddings: class_names is empty; give the class '
                             'names in label order (or None for the 19 Cityscapes classes).')
        self.class_names = tuple(class_names)
        self.prompts = class_prompts(self.class_names, template, renames)
        tower = build_text_tower(model_name, text_cfg, embed_dim, pretrained, seed)
        import open_clip
        tokenizer = open_clip.get_tokenizer(
            model_name, context_length=text_tower_config(model_name, text_cfg)['text_cfg']
            .context_length)
        self.register_buffer('embeddings', encode_prompts(tower, tokenizer, self.prompts))

    @property
    def embed_dim(self) -> int:
        """Width of the embeddings."""
        return self.embeddings.shape[1]

    def forward(self) -> Tensor:
        """Return the cached embeddings (num_classes, embed_dim)."""
        return self.embeddings
