# MIC on DAFormer (Hoyer et al., CVPR 2023; official seg/experiments.py id 81,
# seg/mmseg/models/uda/masking_consistency_module.py): DAFormer's self-training plus masked image
# consistency on the target (mask_mode='separatetrgaug', the main teacher's pseudo-labels).
_base_ = ['./daformer.py']
uda = dict(
    # Patches of 32 px on DAFormer's 512x512 crops ("half the patch size when training with
    # half resolution": 64 px on HRDA's 1024x1024 crops), 70% of them masked.
    masking=dict(type='BlockMasking', mask_ratio=0.7, block_size=32),
    # The masked image gets its own colour-jitter + blur draw, one blur sigma per batch as MIC's
    # batch-level strong_transform call.
    mask_strong_aug=dict(
        type='StrongAugmentation',
        color_jitter_strength=0.2,
        color_jitter_probability=0.2,
        blur=True,
        blur_sigma_per_image=False),
    mask_loss_weight=1.0)  # lambda_m
