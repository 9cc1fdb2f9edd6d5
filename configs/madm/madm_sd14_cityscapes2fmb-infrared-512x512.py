# MADM (Xia et al., NeurIPS 2024) on Cityscapes RGB -> FMB infrared, 9 classes; the recipe of
# madm_sd14_cityscapes2deliver-depth-512x512.py with the infrared DPLG/LPLR settings.
# Official: config_files/SemSeg/MTMADISE/mtmadise_cityscapes_rgb_to_infrared_9.py.
# README: 62.23 mIoU (paper), 61.88 (re-released checkpoint).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/madm_sd14.py',
    '../_base_/datasets/cityscapes_to_fmb_infrared_512x512.py',  # RCS source, 9 classes
    '../_base_/uda/madm.py',
]
# The SD network is the student; LatentEncoderDecoder also returns the UNet latent (LPLR).
model = dict(
    _delete_=True,
    segmentor=dict(
        _base_.model,
        type='LatentEncoderDecoder',
        decode_head=dict(_base_.model.decode_head, num_classes=9)),  # MADM's 9 classes
    **_base_.uda)
model.update(
    # --denoise_timestep_range 50 51, --rev_noise_end_iter 8000, --rev_noise_gradually
    dplg=dict(timestep_range=(50, 51), end_iter=8000),
    # --vae_decoder_loss st with weights [1.0, 1.0] (the config's comment mentions 20.0, the
    # value set is 1.0 / 1.0); palette of the 9 classes
    lplr=dict(palette='CityscapesMADM9Dataset', source_weight=1.0, target_weight=1.0))
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=1))
