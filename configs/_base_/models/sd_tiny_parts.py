# Tiny Stable Diffusion parts shared by the tiny model configs (madm_tiny.py, diff_tiny.py and,
# through madm_tiny.py, iccld_tiny.py): an 8x VAE, a two-layer CLIP text encoder on CLIP's real BPE
# vocabulary and SD's DDPM beta schedule, so every SD code path runs on CPU. The UNets differ per
# method (SD v1 vs SD 2.x layout) and stay in the model configs, which also set the text activation
# of their full-size model. These dicts are the architecture of the toy SD stacks that
# tools/pretrain_toy_models.py trains (data/toy_models/sd-tiny-v1, sd-tiny-v2); the loaders check
# the pretrained weights against them.
toy_sd_v1 = 'data/toy_models/sd-tiny-v1'  # tools/pretrain_toy_models.py --models sd
toy_sd_v2 = 'data/toy_models/sd-tiny-v2'  # tools/pretrain_toy_models.py --models sd2
tiny_vae_arch = dict(
    sample_size=64,
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=1,
    block_out_channels=[8, 8, 16, 16],  # 8x downsampling, as SD
    down_block_types=['DownEncoderBlock2D'] * 4,
    up_block_types=['UpDecoderBlock2D'] * 4,
    norm_num_groups=4)
# Random-init VAE ("no pretraining" ablations, tests). The pretrained toy VAE stores its own
# scaling factor, measured after training as SD measured its 0.18215.
tiny_vae_config = dict(
    tiny_vae_arch,
    # SD's 0.18215 is 1 / std of its VAE's latents, so that the UNet sees unit-variance latents
    # and the DDPM noise levels mean what they mean for SD; the std of this random VAE's latents
    # on toy RGB and depth images is 0.31, hence 1 / 0.31.
    scaling_factor=3.2)
tiny_text_encoder_config = dict(
    vocab_size=49408,  # CLIP's BPE vocabulary (the toy stack ships CLIP's real tokenizer)
    hidden_size=16,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    max_position_embeddings=77,  # CLIP's sequence length
    hidden_act='quick_gelu',  # SD v1's CLIP ViT-L/14; SD 2.x's OpenCLIP uses 'gelu'
    # CLIP's <|startoftext|> / <|endoftext|> ids; E("") of a random encoder without a tokenizer
    # is [bos, eos, eos, ...], as SD's tokenizer pads with <|endoftext|>.
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407)
sd_scheduler_config = dict(
    num_train_timesteps=1000,  # SD v1 and 2.x training schedule, so timesteps mean the same
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule='scaled_linear')
