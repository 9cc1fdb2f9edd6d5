"""Label maps painted with a dataset palette, as images for the Stable Diffusion VAE.

MADM (Xia et al., NeurIPS 2024), "Label Palette and Latent Regression" (LPLR), official
``modeling/meta_arch/mtmadise.py`` (``convert_label_to_rgb``: the label map becomes a PIL ``P``
image whose palette is the dataset palette padded to 256 entries with black, then RGB scaled to
[-1, 1]).
"""
from typing import Sequence, Union

import torch
from mmseg.registry import DATASETS
from torch import Tensor, nn

PaletteSpec = Union[str, Sequence[Sequence[int]]]


def resolve_palette(palette: PaletteSpec) -> Tensor:
    """The palette as a (N, 3) uint8 tensor.

    Args:
        palette (str | Sequence[Sequence[int]]): ``[R, G, B]`` per class, or the registered name
            of a dataset whose ``METAINFO['palette']`` is used (e.g.
            ``'CityscapesMADM11Dataset'``), so the palette is written once, in the dataset.

    Returns:
        Tensor: (N, 3) uint8 colours.
    """
    if isinstance(palette, str):
        dataset = DATASETS.get(palette)
        if dataset is None:
            raise KeyError(f'LabelPalette: {palette!r} is not a registered dataset; give the '
                           'type of a dataset with METAINFO["palette"] or a list of [R, G, B].')
        palette = dataset.METAINFO.get('palette')
        if not palette:
            raise KeyError(f'LabelPalette: dataset {dataset.__name__} has no METAINFO palette.')
    colours = torch.as_tensor(palette, dtype=torch.long)
    if colours.dim() != 2 or colours.shape[1] != 3 or len(colours) == 0:
        raise ValueError(f'LabelPalette: the palette must be a list of [R, G, B], got shape '
                         f'{tuple(colours.shape)}.')
    if colours.min() < 0 or colours.max() > 255 or len(colours) > 256:
        raise ValueError('LabelPalette: palette colours must lie in [0, 255] and there can be '
                         'at most 256 of them (8-bit palette image).')
    return colours.to(torch.uint8)


class LabelPalette(nn.Module):
    """Paint integer label maps with a palette; return RGB images in [-1, 1].

    Label ``c < N`` gets colour ``palette[c]``; every other value, the ignore index 255
    included, gets black ``(0, 0, 0)``, which is what MADM's 256-entry palette image (padded with
    zeros) gives. Colours map to ``[-1, 1]`` by ``x / 127.5 - 1``, the VAE input range (black is
    ``-1``).

    Args:
        palette (str | Sequence[Sequence[int]]): See :func:`resolve_palette`.
    """

    def __init__(self, palette: PaletteSpec) -> None:
        super().__init__()
        colours = resolve_palette(palette)
        self.num_colours = len(colours)
        table = torch.zeros(256, 3)
        table[:len(colours)] = colours.float()
        # Not persistent: rebuilt from the config, so checkpoints do not depend on it.
        self.register_buffer('table', table / 127.5 - 1, persistent=False)

    def forward(self, labels: Tensor) -> Tensor:
        """Paint ``labels``.

        Args:
            labels (Tensor): Integer labels (B, 1, H, W) or (B, H, W) with values in [0, 255].

        Returns:
            Tensor: Images (B, 3, H, W) in [-1, 1], float32.
        """
        if labels.is_floating_point():
            raise TypeError('LabelPalette expects integer labels, got a floating-point tensor.')
        if labels.dim() == 4:
            if labels.shape[1] != 1:
                raise ValueError(f'LabelPalette expects labels (B, 1, H, W) or (B, H, W), got '
                                 f'{tuple(labels.shape)}.')
            labels = labels[:, 0]
        if labels.dim() != 3:
            raise ValueError(f'LabelPalette expects labels (B, 1, H, W) or (B, H, W), got '
                             f'{tuple(labels.shape)}.')
        if labels.numel() and (labels.min() < 0 or labels.max() > 255):
            raise ValueError('LabelPalette: labels must lie in [0, 255] (8-bit label maps).')
        return self.table[labels.long()].permute(0, 3, 1, 2).contiguous()
