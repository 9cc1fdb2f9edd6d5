# Random tiny Stable Diffusion parts shared by the tiny model configs (madm_tiny.py, diff_tiny.py
# and, through madm_tiny.py, iccld_tiny.py): an 8x VAE, a one-layer CLIP text encoder and SD's
# DDPM beta schedule at a few thousand parameters, so every SD code path runs on CPU. The UNets
# differ per method (SD v1 vs SD 2.x layout) and stay in the model configs, which also set the
# text activation of their full-size model.
tiny_vae_config = dict(
    sample_size=64,
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=1,
    block_out_channels=[8, 8, 16, 16],  # 8x downsampling, as SD
    down_block_types=['DownEncoderBlock2D'] * 4,
    up_block_types=['UpDecoderBlock2D'] * 4,
    norm_num_groups=4,
    # SD's 0.18215 is 1 / std of its VAE's latents, so that the UNet sees unit-variance latents
    # and the DDPM noise levels mean what they mean for SD; the std of this random VAE's latents
    # on toy RGB and depth images is 0.31, hence 1 / 0.31.
    scaling_factor=3.2)
tiny_text_encoder_config = dict(
    vocab_size=64,
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    max_position_embeddings=77,  # CLIP's sequence length
    hidden_act='quick_gelu',  # SD v1's CLIP ViT-L/14; SD 2.x's OpenCLIP uses 'gelu'
    bos_token_id=0,  # ids of E(""): [bos, eos, eos, ...] (no tokenizer for random text encoders)
    eos_token_id=1,
    pad_token_id=1)
sd_scheduler_config = dict(
    num_train_timesteps=1000,  # SD v1 and 2.x training schedule, so timesteps mean the same
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule='scaled_linear')
