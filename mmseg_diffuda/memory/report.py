"""Markdown rows of memory plans (docs/benchmarks.md)."""
from .plan import GIB, MemoryPlan

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
