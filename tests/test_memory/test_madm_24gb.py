"""The MADM 24 GB config: the official method with levers, planned under 22 GB at 512x512."""
from pathlib import Path

from mmengine.config import Config

from mmseg_diffuda.memory import plan_train_step
from mmseg_diffuda.memory.plan import GIB

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/madm/madm_sd14_cityscapes2deliver-depth-512x512_24gb.py'
OFFICIAL = REPO / 'configs/madm/madm_sd14_cityscapes2deliver-depth-512x512.py'


def test_24gb_config_keeps_the_method():
    cfg, official = Config.fromfile(CONFIG), Config.fromfile(OFFICIAL)
    backbone = cfg.model.segmentor.backbone
    assert backbone.gradient_checkpointing and backbone.frozen_dtype == 'float16'
    assert backbone.use_decoded_feature  # s0 fusion kept
    assert cfg.model.segmentor.decode_head.pop('with_cp')
    assert cfg.train_dataloader.batch_size == 1  # MADM's per-GPU batch
    for key in ('decode_head', 'type'):
        assert cfg.model.segmentor[key] == official.model.segmentor[key]
    assert cfg.model.dplg == official.model.dplg and cfg.model.lplr == official.model.lplr
    assert cfg.optim_wrapper == official.optim_wrapper


def test_24gb_config_trains_a_fake_iteration_within_22_gb():
    # The full SD v1-4 network at 512x512, its real train_step twice, on fake tensors.
    plan = plan_train_step(Config.fromfile(CONFIG))
    assert plan.crop == (512, 512) and plan.batch_size == 1
    assert plan.trainable_params > 860e6
    assert plan.peak_bytes <= 22e9 < 22 * GIB, plan.peak_bytes / GIB


def test_24gb_levers_train_one_real_iteration_on_a_small_cpu_input():
    """The 24 GB config's settings, with the tiny SD architecture in place of SD v1-4 (a real
    full-size iteration needs ~15 GB: see docs/benchmarks.md)."""
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmseg_diffuda.memory import synthetic_uda_batch

    cfg, tiny = Config.fromfile(CONFIG), Config.fromfile(
        REPO / 'configs/madm/madm_tiny_toy-rgb2depth.py')
    student, tiny_student = cfg.model.segmentor, tiny.model.segmentor
    for key in ('unet_config', 'vae_config', 'text_encoder_config', 'projection_dims',
                'projection_bottleneck', 'projection_norm_cfg', 'noise_size'):
        student.backbone[key] = tiny_student.backbone[key]
    student.backbone.update(pretrained=None, input_size=None)
    for key in ('in_channels', 'channels', 'embed_dims', 'norm_cfg'):
        student.decode_head[key] = tiny_student.decode_head[key]
    cfg.model.data_preprocessor = dict(student.data_preprocessor, size=(64, 64))
    torch.manual_seed(0)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.train()
    backbone = model.student.backbone
    assert backbone.vae.dtype == torch.float16 and backbone.unet.is_gradient_checkpointing
    assert model.student.decode_head.with_cp
    optim_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')  # AmpOptimWrapper needs a GPU
    optim_cfg.pop('loss_scale')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    before = backbone.unet.conv_in.weight.detach().clone()
    log_vars = model.train_step(synthetic_uda_batch(1, (64, 64), 11), optim_wrapper)
    assert all(torch.isfinite(value) for key, value in log_vars.items() if 'loss' in key)
    assert not torch.equal(before, backbone.unet.conv_in.weight)
