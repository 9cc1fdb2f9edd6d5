# Ablation of configs/madm/madm_tiny_toy-rgb2depth.py without diffusion-based pseudo-label
# generation (DPLG): the teacher labels the clean target latent (t = 0) from the first iteration.
_base_ = ['../madm/madm_tiny_toy-rgb2depth.py']
model = dict(dplg=None)
