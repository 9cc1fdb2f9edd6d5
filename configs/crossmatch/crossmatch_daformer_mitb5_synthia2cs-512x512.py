# CrossMatch (Yin et al., ICCV 2023) stage 2 on SYNTHIA -> Cityscapes, source-free: the GTA5
# config with the SYNTHIA source model. Paper: 57.5 mIoU - the paper's number (whether 16- or
# 13-class is not stated in the abstract); SubsetIoUMetric logs mIoU (19), mIoU16 and mIoU13.
#   python tools/train.py configs/crossmatch/crossmatch_daformer_mitb5_synthia2cs-512x512.py \
#       --cfg-options model.source_checkpoint=<stage-1 work_dir>/iter_40000.pth
_base_ = ['./crossmatch_daformer_mitb5_gta2cs-512x512.py']
from mmseg_diffuda.evaluation import SYNTHIA_13_CLASSES, SYNTHIA_16_CLASSES  # noqa: E402

model = dict(
    source_checkpoint='work_dirs/source-only_daformer_mitb5_synthia-512x512/iter_40000.pth')
val_evaluator = dict(
    type='SubsetIoUMetric',
    iou_metrics=['mIoU'],
    subsets=dict(mIoU16=list(SYNTHIA_16_CLASSES), mIoU13=list(SYNTHIA_13_CLASSES)))
test_evaluator = val_evaluator
