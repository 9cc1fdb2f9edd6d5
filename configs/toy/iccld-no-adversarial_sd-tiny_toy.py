# Ablation of iccld_sd-tiny_toy.py without adversarial alignment: no discriminator, so DACS with
# the inter-coder latent-diffusion student and the student's optimiser alone.
_base_ = ['./iccld_sd-tiny_toy.py']
model = dict(discriminator=None)
optim_wrapper = dict(_delete_=True, **_base_.optim_wrapper.student)
param_scheduler = _base_.param_scheduler.student
