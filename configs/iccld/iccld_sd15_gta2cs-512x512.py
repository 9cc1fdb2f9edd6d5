# ICCLD (Yu et al., CVPR 2025 Workshops, arXiv 2412.16859) on GTA5 -> Cityscapes: our
# interpretation (no public code; docs/methods/iccld.md). SD v1-5 latent-diffusion segmenter with
# the inter-coder connection, DACS self-training, three-domain (source / ClassMix / target)
# adversarial alignment of the UNet features, two optimisers, 40k iterations at batch 2.
# The paper reports 74.4 mIoU (19 classes); that number is the paper's, not a result of this code.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/iccld_sd15.py',  # SD v1-5 + inter-coder + DAFormer head
    '../_base_/datasets/gta5_to_cityscapes_512x512.py',  # RCS, 512x512 crops, 1024x512 test
    '../_base_/uda/iccld.py',  # ICCLD self-training, discriminator, optimisers, 40k schedule
]
model = dict(_delete_=True, segmentor=_base_.model, **_base_.uda)
