"""A synthetic UDA batch (random images, blocky labels) as ``pseudo_collate`` returns it."""
from typing import Tuple

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample


def synthetic_uda_batch(batch_size: int, crop: Tuple[int, int], num_classes: int) -> dict:
    """``dict(source=..., target=...)`` with ``batch_size`` images each at ``crop``.

    Args:
        batch_size (int): Images per domain.
        crop (tuple[int, int]): Image size (H, W).
        num_classes (int): Label values are drawn from ``[0, num_classes)`` in 16x16 blocks.

    Returns:
        dict: Source images with ``gt_sem_seg``, target images without labels.
    """
    height, width = crop

    def domain(labelled: bool) -> dict:
        inputs, samples = [], []
        for _ in range(batch_size):
            inputs.append(torch.randint(0, 256, (3, height, width), dtype=torch.uint8))
            sample = SegDataSample(metainfo=dict(img_shape=(height, width),
                                                 ori_shape=(height, width),
                                                 pad_shape=(height, width)))
            if labelled:
                blocks = torch.randint(0, num_classes, (1, -(-height // 16), -(-width // 16)))
                label = blocks.repeat_interleave(16, 1).repeat_interleave(16, 2)
                sample.gt_sem_seg = PixelData(data=label[:, :height, :width])
            samples.append(sample)
        return dict(inputs=inputs, data_samples=samples)

    return dict(source=domain(True), target=domain(False))
