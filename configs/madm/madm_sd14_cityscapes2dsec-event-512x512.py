# MADM (Xia et al., NeurIPS 2024) on Cityscapes RGB -> DSEC event, 11 classes; the recipe of
# madm_sd14_cityscapes2deliver-depth-512x512.py with the event DPLG/LPLR settings.
# Official: config_files/SemSeg/MTMADISE/mtmadise_cityscapes_rgb_to_event_11.py.
# README: 56.31 mIoU (paper), 56.68 (re-released checkpoint).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/madm_sd14.py',
    '../_base_/datasets/cityscapes_to_dsec_event_512x512.py',  # RCS source, 11 classes
    '../_base_/uda/madm.py',
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
    # --denoise_timestep_range 50 51, --rev_noise_end_iter 8000, --rev_noise_gradually
    dplg=dict(timestep_range=(50, 51), end_iter=8000),
    # --vae_decoder_loss s, --vae_decoder_loss_weight 20.0: source term only
    lplr=dict(palette='CityscapesMADM11Dataset', source_weight=20.0, target_weight=None))
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=1))
