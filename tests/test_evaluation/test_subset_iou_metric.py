import numpy as np
import pytest
import torch

from mmseg.datasets import CityscapesDataset
from mmseg.registry import METRICS
from mmseg_diffuda.evaluation import SYNTHIA_13_CLASSES, SYNTHIA_16_CLASSES, SubsetIoUMetric

CITYSCAPES_CLASSES = CityscapesDataset.METAINFO['classes']
# Hand-chosen per-class IoU x 10 for the 16 SYNTHIA classes (union 10 pixels per class).
IOU_X10 = dict(road=9, sidewalk=5, building=8, wall=1, fence=2, pole=3, **{
    'traffic light': 4, 'traffic sign': 5}, vegetation=8, sky=9, person=6, rider=3, car=8, bus=4,
               motorcycle=2, bicycle=5)


def build_metric(**kwargs) -> SubsetIoUMetric:
    metric = METRICS.build(
        dict(type='SubsetIoUMetric',
             subsets=dict(mIoU16=list(SYNTHIA_16_CLASSES), mIoU13=list(SYNTHIA_13_CLASSES)),
             **kwargs))
    metric.dataset_meta = dict(classes=CITYSCAPES_CLASSES)
    return metric


def areas(intersect: dict, union: dict) -> list:
    """One result tuple (intersect, union, pred, label) from per-class-name areas."""
    inter = torch.tensor([float(intersect.get(c, 0)) for c in CITYSCAPES_CLASSES])
    uni = torch.tensor([float(union.get(c, 0)) for c in CITYSCAPES_CLASSES])
    # pred/label areas only enter aAcc/mAcc; any split with pred + label - inter = union works
    label = inter + (uni - inter) / 2
    return [(inter, uni, uni - label + inter, label)]


def test_synthia_class_lists():
    assert len(SYNTHIA_16_CLASSES) == 16 and len(SYNTHIA_13_CLASSES) == 13
    assert set(CITYSCAPES_CLASSES) - set(SYNTHIA_16_CLASSES) == {'terrain', 'truck', 'train'}
    assert set(SYNTHIA_16_CLASSES) - set(SYNTHIA_13_CLASSES) == {'wall', 'fence', 'pole'}


def test_subsets_when_missing_classes_have_zero_iou():
    # terrain, truck and train are in the ground truth (union 10) but never predicted: IoU 0.
    union = {c: 10 for c in CITYSCAPES_CLASSES}
    metrics = build_metric().compute_metrics(areas(IOU_X10, union))
    # sum of the 16 IoUs = 8.2; the 13 (without wall .1, fence .2, pole .3) sum to 7.6
    assert metrics['mIoU'] == pytest.approx(43.16)  # 8.2 / 19
    assert metrics['mIoU16'] == pytest.approx(51.25)  # 8.2 / 16
    assert metrics['mIoU13'] == pytest.approx(58.46)  # 7.6 / 13
    # DAFormer's conversion mIoU19 * 19 / 16 holds exactly here (before rounding)
    assert 8.2 / 19 * 19 / 16 * 100 == pytest.approx(metrics['mIoU16'])


def test_subsets_when_a_missing_class_has_nonzero_iou():
    union = {c: 10 for c in CITYSCAPES_CLASSES}
    metrics = build_metric().compute_metrics(areas(dict(IOU_X10, truck=5), union))
    assert metrics['mIoU'] == pytest.approx(45.79)  # 8.7 / 19
    assert metrics['mIoU16'] == pytest.approx(51.25)  # unchanged: truck is not in the subset
    assert metrics['mIoU'] * 19 / 16 == pytest.approx(54.37, abs=0.01)  # the conversion is off


def test_class_absent_everywhere_is_skipped():
    # bus absent from prediction and ground truth: IoU NaN, left out of every mean
    union = {c: 10 for c in CITYSCAPES_CLASSES if c != 'bus'}
    metrics = build_metric().compute_metrics(areas(dict(IOU_X10, bus=0), union))
    assert metrics['mIoU'] == pytest.approx(round(7.8 / 18 * 100, 2))
    assert metrics['mIoU16'] == pytest.approx(52.0)  # 7.8 / 15
    assert metrics['mIoU13'] == pytest.approx(60.0)  # 7.2 / 12


def test_process_and_evaluate_from_label_maps():
    metric = METRICS.build(dict(type='SubsetIoUMetric', subsets=dict(mIoUab=['a', 'b'])))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    pred = torch.tensor([[0, 0, 1], [1, 2, 2]])
    gt = torch.tensor([[0, 1, 1], [1, 2, 255]])
    metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=gt[None]))])
    metrics = metric.evaluate(1)
    # a: I=1 U=2; b: I=2 U=3; c: I=1 U=1; the 255 pixel is ignored
    assert metrics['aAcc'] == pytest.approx(80.0)
    assert metrics['mIoU'] == pytest.approx(72.22)  # (1/2 + 2/3 + 1) / 3
    assert metrics['mIoUab'] == pytest.approx(58.33)  # (1/2 + 2/3) / 2
    assert set(metrics) == {'aAcc', 'mIoU', 'mAcc', 'mIoUab'}


def test_without_subsets_matches_iou_metric():
    union = {c: 10 for c in CITYSCAPES_CLASSES}
    results = areas(IOU_X10, union)
    plain = METRICS.build(dict(type='IoUMetric'))
    plain.dataset_meta = dict(classes=CITYSCAPES_CLASSES)
    subset = METRICS.build(dict(type='SubsetIoUMetric'))
    subset.dataset_meta = dict(classes=CITYSCAPES_CLASSES)
    assert subset.compute_metrics(results) == plain.compute_metrics(results)


def test_nan_to_num_applies_to_subsets():
    union = {c: 10 for c in CITYSCAPES_CLASSES if c != 'bus'}
    metrics = build_metric(nan_to_num=0).compute_metrics(areas(dict(IOU_X10, bus=0), union))
    assert metrics['mIoU16'] == pytest.approx(48.75)  # 7.8 / 16


def test_unknown_class_name_is_reported():
    metric = METRICS.build(dict(type='SubsetIoUMetric', subsets=dict(mIoU16=['road', 'terrian'])))
    with pytest.raises(ValueError, match=r"subsets\['mIoU16'\].*\['terrian'\].*'terrain'"):
        metric.dataset_meta = dict(classes=CITYSCAPES_CLASSES)


@pytest.mark.parametrize('subsets, error', [
    (dict(mIoU16='road'), TypeError),
    (dict(mIoU16=[1, 2]), TypeError),
    (dict(mIoU16=[]), ValueError),
    (dict(mIoU16=['road', 'road']), ValueError),
    (['road'], TypeError),
])
def test_malformed_subsets(subsets, error):
    with pytest.raises(error, match='SubsetIoUMetric'):
        SubsetIoUMetric(subsets=subsets)


def test_metric_values_are_floats():
    union = {c: 10 for c in CITYSCAPES_CLASSES}
    metrics = build_metric().compute_metrics(areas(IOU_X10, union))
    assert all(isinstance(value, (float, np.floating)) for value in metrics.values())
