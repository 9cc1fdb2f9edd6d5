"""Markdown rows of memory plans and the table of every full-size config (docs/benchmarks.md)."""
from typing import List, Optional, Tuple

from .plan import GIB, MemoryPlan

MADM = 'configs/madm/madm_sd14_cityscapes2deliver-depth-512x512.py'
#: (config, levers, batch size or None for the config's) of the table in docs/benchmarks.md.
FULL_SIZE_TABLE: List[Tuple[str, Tuple[str, ...], Optional[int]]] = [
    ('configs/daformer/daformer_mitb5_gta2cs-512x512.py', (), None),
    ('configs/daformer/daformer_mitb5_gta2cs-512x512.py', ('amp', ), None),
    ('configs/daformer/daformer_mitb5_gta2cs-512x512.py', ('amp', 'grad_ckpt'), None),
    ('configs/daformer/daformer_mitb5_gta2cs-512x512.py', ('amp', 'fused_adamw'), None),
    ('configs/mic/mic_daformer_mitb5_gta2cs-512x512.py', (), None),
    ('configs/mic/mic_daformer_mitb5_gta2cs-512x512.py', ('amp', 'grad_ckpt'), None),
    ('configs/lc_msm/lcmsm_daformer_mitb5_gta2cs-512x512.py', (), None),
    ('configs/lc_msm/lcmsm_daformer_mitb5_gta2cs-512x512.py', ('amp', 'grad_ckpt'), None),
    ('configs/diff/diff_sd21_daformer_gta2cs-dg-512x512.py', (), None),
    ('configs/diff/diff_sd21_daformer_gta2cs-dg-512x512.py', ('amp', 'frozen_half'), None),
    ('configs/iccld/iccld_sd15_gta2cs-512x512.py', (), None),
    ('configs/iccld/iccld_sd15_gta2cs-512x512.py', ('grad_ckpt', ), None),
    ('configs/iccld/iccld_sd15_gta2cs-512x512.py', ('grad_ckpt', 'frozen_half'), None),
    (MADM, (), None),
    (MADM, ('grad_ckpt', ), None),
    (MADM, ('frozen_half', ), None),
    (MADM, ('no_s0', ), None),
    (MADM, ('fused_adamw', ), None),
    (MADM, ('grad_ckpt', 'frozen_half', 'no_s0'), None),
    (MADM, ('grad_ckpt', 'head_ckpt', 'frozen_half'), None),
    (MADM, (), 1),
    (MADM.replace('.py', '_24gb.py'), (), None),
    (MADM.replace('.py', '_24gb.py'), ('no_s0', ), None),
]

#: Header of the plan table.
TABLE_HEADER = (
    '| config | levers | batch | crop | trainable params | trainable weights (GiB) '
    '| frozen weights (GiB) | gradients (GiB) | optimiser state (GiB) '
    '| peak activations (GiB) | **peak (GiB)** | plan time (s) |\n'
    '|---|---|---|---|---|---|---|---|---|---|---|---|')


def plan_row(plan: MemoryPlan) -> str:
    """One Markdown table row of ``plan``.

    Args:
        plan (MemoryPlan): The plan.

    Returns:
        str: The row.
    """
    levers = ', '.join(plan.levers) or 'config as is'
    crop = 'x'.join(str(size) for size in plan.crop)
    return (f'| {plan.config} | {levers} | {plan.batch_size} + {plan.batch_size} | {crop} | '
            f'{plan.trainable_params / 1e6:.1f}M | {plan.trainable_bytes / GIB:.2f} | '
            f'{plan.frozen_bytes / GIB:.2f} | {plan.gradient_bytes / GIB:.2f} | '
            f'{plan.optimizer_bytes / GIB:.2f} | {plan.activation_peak_bytes / GIB:.2f} | '
            f'**{plan.peak_bytes / GIB:.2f}** | {plan.seconds:.0f} |')
