# Source-only baseline of iccld_sd-tiny_toy.py: the same inter-coder latent-diffusion student
# (tiny toy SD v1 stack), data, student optimiser and 2000 iterations, trained on the labelled
# toy GTA5 source only (no teacher, no target, no discriminator), validated on toy Cityscapes
# val. The UDA batches' target images are loaded but unused, so both runs draw the same source
# batches.
_base_ = ['./iccld-no-adversarial_sd-tiny_toy.py']
# The same student class as the UDA configs, so checkpoints are interchangeable.
model = dict(_delete_=True, type='UDASegmentor', ema=None, segmentor=_base_.model.segmentor)
model_wrapper_cfg = dict(find_unused_parameters=False)
