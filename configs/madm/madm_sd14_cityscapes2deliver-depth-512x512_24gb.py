# MADM Cityscapes RGB -> DELIVER depth on one 24 GB GPU: the official config with memory levers
# that keep the method (same network, s0 fusion included, same losses and optimiser).
# - MADM's per-GPU batch: 1 source + 1 target image (the official run spreads 2 + 2 over two
#   GPUs; on one GPU this config trains at half the global batch, or use it on 2 GPUs with
#   tools/dist_train.sh for the original batch of 2 + 2);
# - gradient checkpointing of the SD UNet blocks (diffusers; recomputes their forward) and of
#   the DAFormer head's fusion, whose full-resolution s0 level holds most activations (the
#   recomputation updates the head's BatchNorm running statistics twice per pass);
# - frozen VAE and text encoder stored in float16 (as the original stores its VAE);
# - AMP as in the official config.
# Memory plan (python benchmarks/memory_plan.py <this config>): docs/methods/madm.md.
_base_ = ['./madm_sd14_cityscapes2deliver-depth-512x512.py']
model = dict(
    segmentor=dict(
        backbone=dict(gradient_checkpointing=True, frozen_dtype='float16'),
        decode_head=dict(with_cp=True)))
train_dataloader = dict(batch_size=1)
