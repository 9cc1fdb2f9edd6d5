# DAFormer's final self-training (Hoyer et al., CVPR 2022; official
# configs/daformer/gta2cs_uda_warm_fdthings_rcs_croppl_a999_daformer_mitb5_s0.py):
# DACS + EMA alpha 0.999 + thing-class ImageNet feature distance + pseudo-label crop.
# Rare class sampling lives in the dataset config, the lr warm-up in the schedule.
_base_ = ['./dacs.py']
uda = dict(
    ema=dict(alpha=0.999),  # "Increased Alpha": a slower, more stable teacher
    feature_distance=dict(
        loss_weight=0.005,  # lambda_FD
        # Cityscapes thing classes: traffic light, sign, person, rider, car, truck, bus, train,
        # motorcycle, bicycle.
        thing_classes=[6, 7, 11, 12, 13, 14, 15, 16, 17, 18],
        min_ratio=0.75),  # a stride-32 cell counts as a class if it covers 75% of the cell
    # Pseudo-label crop "croppl": zero weight on the top 15 and bottom 120 rows of each 512x512
    # crop, where Cityscapes' rectification artefacts and the ego car are (1024x512 images).
    pseudo_ignore_top=15,
    pseudo_ignore_bottom=120)
