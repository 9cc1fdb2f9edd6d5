# ICCLD self-training (Yu et al., CVPR 2025 Workshops; our interpretation, docs/methods/iccld.md):
# DACS (EMA teacher, confidence-weighted pseudo-labels, ClassMix, strong augmentation) with the
# latent-diffusion student and adversarial alignment of its UNet features across the source,
# mixed (ClassMix) and target domains. Configs build the model as
#   model = dict(_delete_=True, **_base_.uda,
#                segmentor=dict(_base_.model, type='LatentFeatureEncoderDecoder'))
uda = dict(
    type='ICCLD',
    ema=dict(
        alpha=0.999,  # DAFormer / MADM
        # MADM's teacher: EMA of prompt, inter-coder, projections and head; the UNet (and the
        # frozen VAE / text encoder) are shared, which saves a second 860M-parameter UNet.
        shared_modules=('backbone.unet', 'backbone.vae', 'backbone.text_encoder')),
    pseudo_threshold=0.968,  # DACS / DAFormer tau
    pseudo_ignore_top=15,  # DAFormer's pseudo-label crop of 512x512 Cityscapes crops
    pseudo_ignore_bottom=120,
    batch_wide_classmix=True,
    strong_aug=dict(
        type='StrongAugmentation',
        color_jitter_strength=0.2,  # DAFormer's dacs_transforms
        color_jitter_probability=0.2,
        blur=True),
    pseudo_label_timestep=0,  # the teacher labels clean (t = 0) latents
    discriminator=dict(
        type='LatentDomainDiscriminator',
        in_channels=1280,  # the deepest UNet tap (up_blocks[1], stride 32) of SD v1
        channels=(256, 256),
        timestep_dim=128,  # timestep-conditioned (Diffusion-GAN)
        negative_slope=0.2),  # AdaptSegNet / ADVENT
    adversarial_weight=0.001,  # lambda_adv of ADVENT and of AdaptSegNet's output level
    adversarial_feature=-1,  # align the stride-32 UNet tap
    domains=('source', 'mixed', 'target'),  # ICCLD v1: "source, mixed, and target domains"
    domain_confusion=True)  # uniform-domain objective for three domains (Tzeng et al. 2015)
# Target passes without a loss on the head use only part of the student: DDP must look for
# unused parameters.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=True)

# tools/train.py --strategy fsdp (FSDP2Strategy; DDP runs ignore this entry): the UNet blocks keep
# their gathered parameters until their backward. The target pass's only loss (the adversarial
# term) reads the aligned tap, the input of an up block's upsampler, inside the block: gradients
# reach the block's parameters without passing through its output, where FSDP2 would gather them
# again ("RuntimeError: The tensor has a non-zero number of elements, but its data is not
# allocated yet"). The discriminator is replicated (composable DDP), not sharded.
strategy = dict(reshard_after_forward=False)

# Two optimisers in an OptimWrapperDict (one per child module).
# Student: MADM's optimiser for a fine-tuned SD UNet (AdamW 5e-6 for every parameter, wd 0.05,
# none on norms and biases, grad-norm clip 0.01, AMP; official MADM config_files/common/optim.py).
# Discriminator: Adam 1e-4, betas (0.9, 0.99) (AdaptSegNet, ADVENT), fp32.
optim_wrapper = dict(
    constructor='ChildOptimWrapperConstructor',
    student=dict(
        type='AmpOptimWrapper',  # on CPU: --cfg-options optim_wrapper.student.type=OptimWrapper
        loss_scale='dynamic',
        optimizer=dict(type='AdamW', lr=5e-6, betas=(0.9, 0.999), weight_decay=0.05),
        paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
        clip_grad=dict(max_norm=0.01)),
    discriminator=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
# The GTA5/SYNTHIA -> Cityscapes protocol of DAFormer: 40k iterations at batch 2, linear warm-up
# over 1500 iterations then linear (poly 1) decay for the student; poly 0.9 decay for the
# discriminator (AdaptSegNet / ADVENT).
param_scheduler = dict(
    student=[
        dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
        dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=40000),
    ],
    discriminator=[
        dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=40000),
    ])
train_cfg = dict(type='ExactResumeIterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
