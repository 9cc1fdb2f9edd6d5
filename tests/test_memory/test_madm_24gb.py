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
