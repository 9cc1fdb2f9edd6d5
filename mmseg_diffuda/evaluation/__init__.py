"""Metrics beyond mmseg's IoUMetric."""
from .subset_iou_metric import SYNTHIA_13_CLASSES, SYNTHIA_16_CLASSES, SubsetIoUMetric

__all__ = ['SubsetIoUMetric', 'SYNTHIA_16_CLASSES', 'SYNTHIA_13_CLASSES']
