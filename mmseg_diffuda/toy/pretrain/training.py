"""Shared pieces of the toy pretraining loops: batches of corpus crops, optimiser, progress."""
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.optim.lr_scheduler import LambdaLR


def crop_batch(images: np.ndarray, rng: np.random.Generator, batch_size: int,
               crop: Sequence[int], flip: bool = True) -> Tuple[Tensor, np.ndarray]:
    """Random crops (and horizontal flips) of randomly drawn images.

    Args:
        images (np.ndarray): (N, H, W, C) array (uint8 images or float latents, channels last).
        rng (np.random.Generator): Random generator (the only source of randomness).
        batch_size (int): Crops per batch.
        crop (Sequence[int]): Crop size (h, w).
        flip (bool): Flip each crop horizontally with probability 0.5.

    Returns:
        tuple[Tensor, np.ndarray]: float32 (B, C, h, w) crops and the drawn image indices.
    """
    n, height, width = images.shape[:3]
    ch, cw = crop
    idx = rng.integers(0, n, batch_size)
    ys = rng.integers(0, height - ch + 1, batch_size)
    xs = rng.integers(0, width - cw + 1, batch_size)
    flips = rng.random(batch_size) < 0.5 if flip else np.zeros(batch_size, dtype=bool)
    crops = []
    for i, y, x, f in zip(idx, ys, xs, flips):
        patch = images[i, y:y + ch, x:x + cw]
        crops.append(patch[:, ::-1] if f else patch)
    batch = torch.from_numpy(np.ascontiguousarray(np.stack(crops))).float()
    return batch.permute(0, 3, 1, 2).contiguous(), idx


def adamw_cosine(params, lr: float, steps: int, weight_decay: float = 0.01,
                 warmup: int = 50) -> Tuple[torch.optim.Optimizer, LambdaLR]:
    """AdamW with a linear warm-up and a cosine decay to zero over ``steps``.

    Args:
        params: Parameters or parameter groups.
        lr (float): Peak learning rate.
        steps (int): Total steps.
        weight_decay (float): Decoupled weight decay.
        warmup (int): Warm-up steps.

    Returns:
        tuple: The optimiser and its per-step scheduler.
    """
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    warmup = max(1, min(warmup, steps // 10))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.5 * (1.0 + float(np.cos(np.pi * min(progress, 1.0))))

    return optimizer, LambdaLR(optimizer, factor)


def optimizer_step(loss: Tensor, optimizer: torch.optim.Optimizer,
                   scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    """Backward ``loss``, step the optimiser and the lr schedule, clear the gradients."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()


def progress_steps(steps: int, desc: str, enabled: bool) -> Iterator[int]:
    """``range(steps)``, wrapped in a tqdm bar when ``enabled``."""
    if not enabled:
        return iter(range(steps))
    from tqdm import tqdm
    return iter(tqdm(range(steps), desc=desc, unit='step', leave=False))


def set_postfix(bar: Iterator[int], **values: Optional[float]) -> None:
    """Show running losses on a tqdm bar (no-op for a plain iterator)."""
    if hasattr(bar, 'set_postfix'):
        bar.set_postfix({k: f'{v:.4f}' for k, v in values.items() if v is not None})
