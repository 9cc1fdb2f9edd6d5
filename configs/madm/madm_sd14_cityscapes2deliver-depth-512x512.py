# MADM (Xia et al., NeurIPS 2024) on Cityscapes RGB -> DELIVER depth, 11 classes: Stable Diffusion
# v1-4 UNet features + DAFormer head, EMA teacher of prompt/projections/head, DPLG and LPLR,
# AdamW 5e-6, 10k iterations at batch 2, AMP, grad-norm clip 0.01.
# Official: config_files/SemSeg/MTMADISE/mtmadise_cityscapes_rgb_to_depth_11.py.
# Weights: see configs/_base_/models/madm_sd14.py. Data: docs/datasets_modality.md.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/madm_sd14.py',
    '../_base_/datasets/cityscapes_to_deliver_depth_512x512.py',  # RCS source, 11 classes
    '../_base_/uda/madm.py',  # MADM self-training + optimiser and 10k schedule
]
# The SD network is the student; LatentEncoderDecoder also returns the UNet latent (LPLR).
model = dict(
    _delete_=True,
    segmentor=dict(
        _base_.model,
        type='LatentEncoderDecoder',
        decode_head=dict(_base_.model.decode_head, num_classes=11)),  # MADM's 11 classes
    **_base_.uda)
model.update(
    # --denoise_timestep_range 60 61, --rev_noise_end_iter 5000, --rev_noise_gradually
    dplg=dict(timestep_range=(60, 61), end_iter=5000),
    # --vae_decoder_loss st, --vae_decoder_loss_weight 1.0 1.0; palette of the 11 classes
    # (model.train_palette = the evaluator's palette)
    lplr=dict(palette='CityscapesMADM11Dataset', source_weight=1.0, target_weight=1.0))
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=1))
