"""Command-line handling of tools/train.py and tools/test.py (no training)."""
import os
import runpy
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = """
_base_ = ['{repo}/configs/_base_/models/segformer_mit-b0-tiny.py',
          '{repo}/configs/_base_/default_runtime.py',
          '{repo}/configs/_base_/schedules/adamw_poly10warm_40k.py']
test_dataloader = dict(dataset=dict(type='BaseSegDataset', pipeline=[]))
test_evaluator = dict(type='SubsetIoUMetric')
tta_pipeline = [dict(type='LoadImageFromFile')]
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / 'my_config.py'
    path.write_text(CONFIG.format(repo=REPO))
    return path


def build_cfg(monkeypatch, tool: str, *argv: str):
    """Parse ``argv`` with the tool's parser and return the config it builds."""
    namespace = runpy.run_path(str(REPO / 'tools' / tool), run_name='tool_under_test')
    monkeypatch.setattr(sys, 'argv', [tool, *argv])
    return namespace['build_cfg'](namespace['parse_args']())


def test_train_defaults(monkeypatch, config):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    cfg = build_cfg(monkeypatch, 'train.py', str(config))
    assert cfg.work_dir == './work_dirs/my_config'
    assert cfg.launcher == 'none' and cfg.resume is False and cfg.load_from is None
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert [hook['type'] for hook in cfg.custom_hooks] == [
        'PlainDataCheckpointHook', 'ClassCheckHook', 'ResumeCheckHook', 'IterSyncBuffersHook',
        'NonFiniteLossHook', 'UDAVisualizationHook'
    ]
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.default_scope == 'mmseg'


def test_train_local_rank_sets_environment(monkeypatch, config):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    build_cfg(monkeypatch, 'train.py', str(config), '--local-rank', '1')
    assert os.environ['LOCAL_RANK'] == '1'


def test_train_work_dir_priority(monkeypatch, config):
    cfg = build_cfg(monkeypatch, 'train.py', str(config), '--cfg-options', 'work_dir=from_cfg')
    assert cfg.work_dir == 'from_cfg'
    cfg = build_cfg(monkeypatch, 'train.py', str(config), '--work-dir', 'cli',
                    '--cfg-options', 'work_dir=from_cfg', 'train_cfg.max_iters=7')
    assert cfg.work_dir == 'cli' and cfg.train_cfg.max_iters == 7


def test_train_resume_options(monkeypatch, config):
    cfg = build_cfg(monkeypatch, 'train.py', str(config), '--resume')
    assert cfg.resume is True and cfg.load_from is None  # latest checkpoint of the work dir
    cfg = build_cfg(monkeypatch, 'train.py', str(config), '--resume-from', 'x/iter_8.pth')
    assert cfg.resume is True and cfg.load_from == 'x/iter_8.pth'


def test_train_amp_keeps_optimizer_arguments(monkeypatch, config):
    cfg = build_cfg(monkeypatch, 'train.py', str(config), '--amp')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer.lr == 6e-5
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult == 10.0


def test_train_amp_rejects_other_wrappers(monkeypatch, config):
    with pytest.raises(ValueError, match='OptimWrapper'):
        build_cfg(monkeypatch, 'train.py', str(config), '--amp', '--cfg-options',
                  'optim_wrapper.type=OptimWrapperDict')


def test_test_options(monkeypatch, config, tmp_path):
    cfg = build_cfg(monkeypatch, 'test.py', str(config), 'ckpt.pth', '--out', str(tmp_path / 'o'),
                    '--show-dir', 'painted')
    assert cfg.load_from == 'ckpt.pth'
    assert cfg.work_dir == './work_dirs/my_config'
    assert cfg.test_evaluator.output_dir == str(tmp_path / 'o')
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.default_hooks.visualization.interval == 1  # every image of any test set
    assert cfg.visualizer.save_dir == 'painted'


def test_test_tta(monkeypatch, config):
    cfg = build_cfg(monkeypatch, 'test.py', str(config), 'ckpt.pth', '--tta')
    assert cfg.model.type == 'SegTTAModel' and cfg.model.module.type == 'EncoderDecoder'
    assert cfg.test_dataloader.dataset.pipeline == [dict(type='LoadImageFromFile')]


def test_train_refuses_a_missing_pretrained_checkpoint(monkeypatch, tmp_path):
    """mmengine only warns about a missing init_cfg file; tools/train.py stops before training."""
    monkeypatch.chdir(tmp_path)  # pretrained/mit_b5_mmseg.pth does not exist here
    namespace = runpy.run_path(str(REPO / 'tools' / 'train.py'), run_name='tool_under_test')
    config = str(REPO / 'configs' / 'daformer' / 'daformer_mitb5_gta2cs-512x512.py')
    monkeypatch.setattr(sys, 'argv', ['train.py', config, '--work-dir', str(tmp_path / 'w')])
    with pytest.raises(FileNotFoundError, match=r'init_cfg\.checkpoint = .*mit_b5_mmseg\.pth'):
        namespace['main']()
    # resuming replaces the initial weights, so the check does not apply then
    monkeypatch.setattr(sys, 'argv', ['train.py', config, '--resume-from', 'x.pth'])
    cfg = namespace['build_cfg'](namespace['parse_args']())
    assert cfg.resume and cfg.load_from == 'x.pth'


def test_pretrain_toy_models_schedule_overrides():
    from mmseg_diffuda.toy.pretrain.recipe import DEFAULT_SCHEDULES
    namespace = runpy.run_path(str(REPO / 'tools' / 'pretrain_toy_models.py'),
                               run_name='tool_under_test')
    schedules_with = namespace['schedules_with']
    args = namespace['parse_args'](['--schedule', 'sd.vae_steps=3600', 'clip.crop=(32, 64)'])
    schedules = schedules_with(args.schedule)
    assert schedules['sd']['vae_steps'] == 3600
    assert schedules['clip']['crop'] == (32, 64)
    assert DEFAULT_SCHEDULES['sd']['vae_steps'] == 1200  # the recipe itself is not touched
    assert schedules_with([]) == DEFAULT_SCHEDULES
    with pytest.raises(KeyError, match='vae_steps'):  # the message lists the recipe's keys
        schedules_with(['sd.vae_step=3600'])
    with pytest.raises(ValueError, match='MODEL.KEY=VALUE'):
        schedules_with(['vae_steps=3600'])
    with pytest.raises(KeyError, match='sd.vae_steps instead'):  # would silently train nothing
        schedules_with(['sd2.vae_steps=3600'])
