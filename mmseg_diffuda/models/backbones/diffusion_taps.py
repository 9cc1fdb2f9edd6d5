"""Forward hooks on the up path of a Stable Diffusion UNet, as DIFF taps it.

DIFF (Ji et al., ICASSP 2025), official ``mmseg/models/backbones/diff/src/archs/stable_diffusion/
resnet.py`` (``init_ca_resnet_func``, ``collect_dims_by_stride``) and ``diffusion.py``
(``collect_stride_feats_with_timesteplist``). The official code replaces the ``forward`` of
the tapped modules; here plain forward hooks read the same values and are removed after each
UNet call:

- ResNet ``up_blocks[i].resnets[j]``: the residual branch before the skip-add, i.e. the output of
  its ``conv2`` (a hook on ``conv2``);
- attention ``up_blocks[i].attentions[j]``: the output of its first ``BasicTransformerBlock``
  (tokens ``(N, h * w, C)`` in raster order, reshaped to ``(N, C, h, w)``).
"""
from contextlib import contextmanager
from functools import partial
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from torch import Tensor, nn

LayerIndex = Tuple[int, int]


class TapLayer(NamedTuple):
    """One tapped layer.

    Attributes:
        kind (str): ``'resnet'`` or ``'attention'`` (how its output is read).
        block (int): Up-block index ``i``.
        layer (int): Index ``j`` inside the block.
        channels (int): Channels of the tapped feature.
        stride (int): Stride of the feature relative to the image.
    """
    kind: str
    block: int
    layer: int
    channels: int
    stride: int


def up_block_stride(unet: nn.Module, block: int, vae_scale: int) -> int:
    """Image stride of ``unet.up_blocks[block]`` (before its upsampler).

    Args:
        unet (nn.Module): A diffusers ``UNet2DConditionModel``.
        block (int): Up-block index.
        vae_scale (int): Downsampling of the VAE (8 for SD).

    Returns:
        int: The stride, e.g. 64, 32, 16, 8 for SD's up-blocks 0..3.
    """
    return vae_scale * 2**(len(unet.up_blocks) - 1 - block)


def unet_tap_layers(unet: nn.Module, vae_scale: int,
                    resnet_taps: Optional[Sequence[LayerIndex]] = None,
                    attention_taps: Optional[Sequence[LayerIndex]] = None,
                    strides: Optional[Sequence[int]] = None) -> List[TapLayer]:
    """The tapped layers, ResNets first, each group in (block, layer) order (official order).

    Args:
        unet (nn.Module): A diffusers ``UNet2DConditionModel``.
        vae_scale (int): Downsampling of the VAE.
        resnet_taps (Sequence[tuple[int, int]], optional): ``(block, layer)`` of the tapped
            ResNets; None taps every up-block ResNet (DIFF's ``idxs_resnet``). Defaults to None.
        attention_taps (Sequence[tuple[int, int]], optional): ``(block, layer)`` of the tapped
            attentions; None taps every up-block attention (DIFF's ``idxs_ca``).
        strides (Sequence[int], optional): Keep only layers at these strides; None keeps all.

    Returns:
        list[TapLayer]: The layers.

    Raises:
        IndexError: For a ``(block, layer)`` the UNet does not have.
    """
    layers = []
    for kind, attr, wanted in (('resnet', 'resnets', resnet_taps),
                               ('attention', 'attentions', attention_taps)):
        for i, block in enumerate(unet.up_blocks):
            modules = getattr(block, attr, None) or []
            for j, module in enumerate(modules):
                if wanted is not None and (i, j) not in {tuple(w) for w in wanted}:
                    continue
                stride = up_block_stride(unet, i, vae_scale)
                if strides is not None and stride not in strides:
                    continue
                channels = (module.conv2.out_channels if kind == 'resnet' else
                            module.transformer_blocks[0].attn1.to_q.in_features)
                layers.append(TapLayer(kind, i, j, channels, stride))
        found = {(layer.block, layer.layer) for layer in layers if layer.kind == kind}
        missing = [tuple(w) for w in (wanted or []) if tuple(w) not in found and (
            strides is None or up_block_stride(unet, w[0], vae_scale) in strides)]
        if missing:
            raise IndexError(f'The UNet has no up-block {attr} at (block, layer) {missing}; '
                             f'it has {len(unet.up_blocks)} up-blocks.')
    return layers


def channels_by_stride(layers: Sequence[TapLayer]) -> Dict[int, int]:
    """Channels per stride of one evaluation (DIFF's ``collect_dims_by_stride``).

    Args:
        layers (Sequence[TapLayer]): The tapped layers.

    Returns:
        dict[int, int]: Stride -> summed channels.
    """
    dims: Dict[int, int] = {}
    for layer in layers:
        dims[layer.stride] = dims.get(layer.stride, 0) + layer.channels
    return dims


def _tapped_module(unet: nn.Module, layer: TapLayer) -> nn.Module:
    """The module whose output is the tapped value."""
    block = unet.up_blocks[layer.block]
    if layer.kind == 'resnet':
        return block.resnets[layer.layer].conv2
    return block.attentions[layer.layer].transformer_blocks[0]


def _store(store: Dict[TapLayer, Tensor], layer: TapLayer, module: nn.Module, args: tuple,
           output) -> None:
    """Forward hook: keep the module's output (the first one for tuple outputs)."""
    store[layer] = output[0] if isinstance(output, tuple) else output


@contextmanager
def unet_taps(unet: nn.Module, layers: Sequence[TapLayer]) -> Iterator[Dict[TapLayer, Tensor]]:
    """Forward hooks on ``layers`` for the calls inside the block, removed on exit (errors too).

    Args:
        unet (nn.Module): The UNet.
        layers (Sequence[TapLayer]): Layers to tap.

    Yields:
        dict[TapLayer, Tensor]: Raw outputs, filled during the UNet call (the last call wins).
    """
    store: Dict[TapLayer, Tensor] = {}
    handles = []
    try:
        for layer in layers:
            handles.append(_tapped_module(unet, layer).register_forward_hook(
                partial(_store, store, layer)))
        yield store
    finally:
        for handle in handles:
            handle.remove()


def tap_to_map(layer: TapLayer, value: Tensor, latent_size: Tuple[int, int],
               vae_scale: int) -> Tensor:
    """A tapped value as a feature map ``(N, C, h, w)``.

    Args:
        layer (TapLayer): The layer it came from.
        value (Tensor): ResNet maps ``(N, C, h, w)`` or transformer tokens ``(N, h * w, C)``.
        latent_size (tuple[int, int]): Size of the UNet input latent.
        vae_scale (int): Downsampling of the VAE.

    Returns:
        Tensor: ``(N, C, h, w)``.
    """
    if layer.kind == 'resnet':
        return value
    scale = layer.stride // vae_scale
    height, width = latent_size[0] // scale, latent_size[1] // scale
    return value.transpose(1, 2).reshape(value.shape[0], layer.channels, height, width)
