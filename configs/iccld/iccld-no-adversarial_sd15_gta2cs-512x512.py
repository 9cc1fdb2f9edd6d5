# Ablation: ICCLD on GTA5 -> Cityscapes without adversarial alignment: no discriminator, so the
# iteration is DACS with the inter-coder latent-diffusion student and one optimiser.
_base_ = ['./iccld_sd15_gta2cs-512x512.py']
model = dict(discriminator=None)
optim_wrapper = dict(_delete_=True, **_base_.optim_wrapper.student)
param_scheduler = _base_.param_scheduler.student
