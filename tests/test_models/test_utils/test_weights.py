from pathlib import Path

import pytest
from mmengine.config import Config

from mmseg_diffuda.models.utils import check_pretrained_exists

REPO = Path(__file__).resolve().parents[3]


def config_with(checkpoint):
    return dict(model=dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint))))


def test_missing_checkpoint_names_key_and_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match='model.backbone.init_cfg.checkpoint') as error:
        check_pretrained_exists(config_with('pretrained/missing.pth'))
    assert 'mit2mmseg' in str(error.value)


def test_existing_file_and_urls_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path('w.pth').write_bytes(b'')
    check_pretrained_exists(config_with('w.pth'))
    check_pretrained_exists(config_with('https://download.openmmlab.com/x.pth'))
    check_pretrained_exists(dict(model=dict(init_cfg=None, backbone=dict(init_cfg=None))))


def test_pretrained_strings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match='model.layers.0.pretrained'):
        check_pretrained_exists(dict(model=dict(layers=[dict(pretrained='weights/b.pth')])))
    # a hub id is not a file: left to the component that resolves it
    check_pretrained_exists(dict(backbone=dict(pretrained='stabilityai/stable-diffusion-2-1')))


def test_full_daformer_config_requires_the_mit_weights(tmp_path, monkeypatch):
    cfg = Config.fromfile(REPO / 'configs/_base_/models/daformer_sepaspp_mitb5.py')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match='pretrained/mit_b5_mmseg.pth'):
        check_pretrained_exists(cfg)


def test_uda_init_weights_names_the_missing_mit_file_and_the_converter(tmp_path, monkeypatch):
    """mmseg's own tools/train.py or a bare Runner call init_weights without our config check."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmseg_diffuda.models.utils import check_init_cfg_files
    init_default_scope('mmseg')
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(REPO / 'configs/toy/daformer_mitb0-tiny_toy.py')
    cfg.model.segmentor.backbone.init_cfg = dict(type='Pretrained',
                                                 checkpoint='pretrained/mit_b5_mmseg.pth')
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match=r'model\.student\.backbone\.init_cfg\.checkpoint'
                       r" = 'pretrained/mit_b5_mmseg.pth'.*mit2mmseg\.py"):
        model.init_weights()
    (tmp_path / 'pretrained').mkdir()
    (tmp_path / 'pretrained/mit_b5_mmseg.pth').write_bytes(b'')
    check_init_cfg_files(model)  # present: no error (reading it is mmengine's job)
