"""MADM's learnable text conditioning and time-embedding offset of the Stable Diffusion UNet."""
from typing import Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn


class LearnablePrompt(BaseModule):
    """Gated learnable prompt and time-embedding offset (MADM's "learnable condition").

    MADM (Xia et al., NeurIPS 2024) conditions the UNet on no class names: the text condition
    starts from the CLIP embedding of the empty prompt ``E("")`` and learns

    .. math::

        c = \\tanh(\\alpha_u) \\odot E(\\text{""}) + \\tanh(\\alpha_c) \\odot P, \\qquad
        \\Delta_t = \\tanh(\\alpha_t) \\odot \\tau

    with ``P`` (1 x L x D, truncated normal, std 0.02), gates ``alpha_u``, ``alpha_c``
    (1 x L x D, uniform in [0, 1)), ``alpha_t`` (time-embedding width, zeros, so the offset is 0
    at initialisation) and ``tau`` (1 x 1 x width, truncated normal, std 0.02). ``Delta_t`` is
    added to the UNet's time embedding. Official ``modeling/meta_arch/ldm_base.py``
    (``ClipFeatureProject`` with ``learnable_cond_prompt=True``, ``learnable_cond_time=True``,
    ``without_prompt_alpha=False``, ``clip_state='no'``); the parameter names follow it.

    Args:
        seq_len (int): Text sequence length L (77 for CLIP).
        embed_dim (int): Text embedding width D (768 for SD v1).
        time_embed_dim (int): Width of the UNet time embedding (1280 for SD v1).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, seq_len: int, embed_dim: int, time_embed_dim: int,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.prompt_embed = nn.Parameter(torch.empty(1, seq_len, embed_dim))
        self.alpha_uncond_prompt = nn.Parameter(torch.rand(1, seq_len, embed_dim))
        self.alpha_cond_prompt = nn.Parameter(torch.rand(1, seq_len, embed_dim))
        self.alpha_cond_time = nn.Parameter(torch.zeros(time_embed_dim))
        self.time_embed = nn.Parameter(torch.empty(1, 1, time_embed_dim))
        # timm's trunc_normal_ in the original: cut at +-2 (absolute), i.e. +-100 std.
        nn.init.trunc_normal_(self.prompt_embed, std=0.02, a=-2.0, b=2.0)
        nn.init.trunc_normal_(self.time_embed, std=0.02, a=-2.0, b=2.0)

    def text_condition(self, base: Tensor) -> Tensor:
        """``tanh(alpha_u) * E("") + tanh(alpha_c) * P``.

        Args:
            base (Tensor): The empty-prompt embedding ``E("")`` (1, L, D).

        Returns:
            Tensor: The text condition (1, L, D).
        """
        return (torch.tanh(self.alpha_uncond_prompt) * base +
                torch.tanh(self.alpha_cond_prompt) * self.prompt_embed)

    def time_offset(self) -> Tensor:
        """``tanh(alpha_t) * tau``, shaped (1, time_embed_dim) to add to the time embedding."""
        return (torch.tanh(self.alpha_cond_time) * self.time_embed).flatten(1)

    def forward(self, base: Tensor) -> Tuple[Tensor, Tensor]:
        """Text condition and time-embedding offset.

        Args:
            base (Tensor): ``E("")`` (1, L, D).

        Returns:
            tuple[Tensor, Tensor]: Condition (1, L, D) and offset (1, time_embed_dim).
        """
        return self.text_condition(base), self.time_offset()
