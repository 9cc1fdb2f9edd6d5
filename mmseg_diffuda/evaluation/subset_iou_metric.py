"""mIoU over all classes plus the mIoU of named class subsets, from one set of statistics."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.logging import print_log

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

#: The 16 Cityscapes classes that SYNTHIA labels: the 19 minus terrain, truck and train.
SYNTHIA_16_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                      'traffic sign', 'vegetation', 'sky', 'person', 'rider', 'car', 'bus',
                      'motorcycle', 'bicycle')
#: The 13-class SYNTHIA protocol: the 16 minus wall, fence and pole.
SYNTHIA_13_CLASSES = tuple(name for name in SYNTHIA_16_CLASSES
                           if name not in ('wall', 'fence', 'pole'))


@METRICS.register_module()
class SubsetIoUMetric(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric` that also reports the mIoU of named class subsets.

    SYNTHIA→Cityscapes papers evaluate a 19-class model on Cityscapes val and report the mean
    IoU over the 16 classes SYNTHIA labels (**mIoU16**) and over 13 of them (**mIoU13**, without
    wall, fence and pole, often marked ``mIoU*``; both come from the same 16-class model, see
    the discussion in CBST's issue #7). DAFormer (Hoyer et al., CVPR 2022) logs the 19-class
    mIoU and its authors convert it as ``mIoU19 * 19 / 16`` (lhoyer/DAFormer issue #18), which
    equals mIoU16 only when terrain, truck and train all have IoU 0; users regularly confuse
    the three numbers. This metric computes every subset mean directly from
    the per-class IoUs of the same accumulated intersection/union areas, so all numbers come
    from one evaluation and need no conversion.

    A subset mean is ``nanmean`` over its classes, as mmseg's ``mIoU`` (a class absent from
    both prediction and ground truth has IoU NaN and is skipped).

    Example:
        >>> val_evaluator = dict(
        ...     type='SubsetIoUMetric',
        ...     subsets=dict(mIoU16=[...16 class names...], mIoU13=[...13 class names...]))
        # logs mIoU (all classes), mIoU16, mIoU13, aAcc, mAcc

    Args:
        subsets (dict[str, Sequence[str]], optional): Metric name -> class names. The names are
            checked against ``dataset_meta['classes']`` when the evaluator receives the dataset
            meta. Defaults to None (behaves as ``IoUMetric``).
        **kwargs: Arguments of :class:`mmseg.evaluation.IoUMetric` (``ignore_index``,
            ``iou_metrics``, ``nan_to_num``, ...).
    """

    def __init__(self, subsets: Optional[Dict[str, Sequence[str]]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.subsets = self._check_subsets(subsets or {})

    @staticmethod
    def _check_subsets(subsets: Dict[str, Sequence[str]]) -> Dict[str, tuple]:
        """Validate the form of ``subsets`` and return it with tuple values."""
        if not isinstance(subsets, dict):
            raise TypeError(f'SubsetIoUMetric: `subsets` must be a dict of metric name -> class '
                            f'names, got {type(subsets).__name__}')
        checked = {}
        for name, classes in subsets.items():
            if isinstance(classes, str) or not all(isinstance(c, str) for c in classes):
                raise TypeError(f'SubsetIoUMetric: subsets[{name!r}] must be a list of class '
                                f'names, got {classes!r}')
            if len(classes) == 0 or len(set(classes)) != len(classes):
                raise ValueError(f'SubsetIoUMetric: subsets[{name!r}] must list distinct class '
                                 f'names and not be empty, got {list(classes)}')
            checked[name] = tuple(classes)
        return checked

    @property
    def dataset_meta(self) -> Optional[dict]:
        """dict: Meta of the evaluated dataset; setting it validates the subset class names."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        classes = tuple(dataset_meta['classes'])
        for name, subset in self.subsets.items():
            unknown = [c for c in subset if c not in classes]
            if unknown:
                raise ValueError(
                    f'SubsetIoUMetric: subsets[{name!r}] names classes {unknown} that the '
                    f'evaluated dataset does not have; its classes are {list(classes)}. Fix the '
                    'names in val_evaluator/test_evaluator.subsets.')
        self._dataset_meta = dataset_meta

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute mmseg's metrics and the subset mIoUs from the processed results.

        Args:
            results (list): Per-image ``(area_intersect, area_union, area_pred_label,
                area_label)`` tuples from :meth:`IoUMetric.process`.

        Returns:
            dict[str, float]: mmseg's ``aAcc``, ``mIoU``, ``mAcc``, ... plus one entry per
            subset, in percent rounded to two decimals like mmseg's.
        """
        metrics = super().compute_metrics(results)
        if self.format_only or not self.subsets:
            return metrics
        total_intersect = sum(result[0] for result in results)
        total_union = sum(result[1] for result in results)
        class_iou = self.class_iou(total_intersect, total_union)
        classes = list(self.dataset_meta['classes'])
        for name, subset in self.subsets.items():
            indices = [classes.index(c) for c in subset]
            metrics[name] = round(float(np.nanmean(class_iou[indices])) * 100, 2)
        print_log('class subsets: ' + ', '.join(f'{name}={metrics[name]}' for name in self.subsets),
                  logger='current')
        return metrics

    def class_iou(self, total_intersect: torch.Tensor, total_union: torch.Tensor) -> np.ndarray:
        """Per-class IoU ``intersect / union`` (NaN where the union is 0, or ``nan_to_num``).

        Args:
            total_intersect (torch.Tensor): Summed intersection areas, shape (num_classes,).
            total_union (torch.Tensor): Summed union areas, shape (num_classes,).

        Returns:
            np.ndarray: IoU per class, shape (num_classes,).
        """
        iou = (total_intersect / total_union).numpy()
        if self.nan_to_num is not None:
            iou = np.nan_to_num(iou, nan=self.nan_to_num)
        return iou
