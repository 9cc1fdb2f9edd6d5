"""tools/model_converters/export_model.py: a UDA checkpoint as a plain mmseg EncoderDecoder.

Every toy config: the exported network, loaded by mmseg's ``init_model``, predicts the same
logits as the UDA segmentor (random weights). Round trip: a DAFormer toy run trained for two
iterations scores the same mIoU with ``tools/test.py`` as its export.
"""
import re
import runpy
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmseg.apis import init_model
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..test_uda.test_mmseg_api import TOY
from ..test_uda.tiny_models import REPO
from .test_train_test import make_toy_data

TOOL = runpy.run_path(str(REPO / 'tools/model_converters/export_model.py'))
DAFORMER = REPO / 'configs/toy/daformer_mitb0-tiny_toy.py'


def uda_checkpoint(model, path):
    torch.save(dict(meta=dict(dataset_meta=dict(classes=['a', 'b'], palette=[[0, 0, 0]] * 2)),
                    state_dict=model.state_dict()), path)


def realigned(model):
    """The model with its tensors in fresh memory.

    diffusers loads safetensors weights (the toy SD folders) at addresses that are not 64-byte
    aligned, which changes the float rounding of CPU kernels in the last bits (7e-6 on the toy
    MADM); an export is built in fresh memory, so the comparison is made against fresh memory too.
    """
    for tensor in list(model.parameters()) + list(model.buffers()):
        tensor.data = tensor.data.clone()
    return model


def logits(model, seed=1):
    """Logits of ``test_step`` on a fixed image (seeded: diffusion backbones draw noise)."""
    image = torch.arange(3 * 96 * 192).reshape(3, 96, 192).remainder(251).to(torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(96, 192), ori_shape=(96, 192)))
    torch.manual_seed(seed)
    return model.test_step(dict(inputs=[image], data_samples=[sample]))[0].seg_logits.data


@pytest.mark.parametrize('config', TOY)
def test_export_predicts_like_the_uda_segmentor(config, tmp_path):
    init_default_scope('mmseg')
    cfg = Config.fromfile(REPO / config)
    torch.manual_seed(0)
    model = realigned(MODELS.build(cfg.model).eval())
    uda_checkpoint(model, tmp_path / 'uda.pth')
    cfg_path, ckpt_path = TOOL['export'](str(REPO / config), str(tmp_path / 'uda.pth'),
                                         str(tmp_path / 'out'))
    exported = Config.fromfile(cfg_path)
    assert exported.model.type == 'EncoderDecoder'
    assert not {'train_dataloader', 'optim_wrapper', 'model_wrapper_cfg'} & set(exported)
    checkpoint = torch.load(ckpt_path, weights_only=True)
    assert checkpoint['meta']['dataset_meta']['classes'] == ['a', 'b']
    plain = MODELS.build(exported.model)
    plain.load_state_dict(checkpoint['state_dict'], strict=True)  # exactly the network
    network = init_model(cfg_path, ckpt_path, device='cpu')  # mmseg's API on the export
    assert network.dataset_meta['classes'] == ['a', 'b']
    torch.testing.assert_close(logits(network), logits(model), rtol=0, atol=0)
    uses_plugin = 'custom_imports' in exported
    assert uses_plugin == bool(TOOL['plugin_types'](exported.to_dict()))
    if 'segformer' in config:  # MiT + SegFormer head + Cityscapes data: all mmseg types
        assert not uses_plugin


def test_teacher_export_takes_the_shared_modules_from_the_student(tmp_path):
    init_default_scope('mmseg')
    config = REPO / 'configs/madm/madm_tiny_toy-rgb2depth.py'
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = realigned(MODELS.build(cfg.model).eval())
    with torch.no_grad():  # make teacher and student differ outside the shared UNet
        for param in model.student.decode_head.parameters():
            param.add_(0.1)
    uda_checkpoint(model, tmp_path / 'uda.pth')
    cfg_path, ckpt_path = TOOL['export'](str(config), str(tmp_path / 'uda.pth'),
                                         str(tmp_path / 'out'), teacher=True)
    weights = torch.load(ckpt_path, weights_only=True)['state_dict']
    assert any(key.startswith('backbone.unet.') for key in weights)
    network = init_model(cfg_path, ckpt_path, device='cpu')
    model.evaluate_teacher = True
    torch.testing.assert_close(logits(network), logits(model), rtol=0, atol=0)


def test_export_errors_name_the_problem(tmp_path):
    source_only = REPO / 'configs/toy/source-only_mitb0-tiny_toy.py'
    with pytest.raises(ValueError, match='ema=None'):
        TOOL['export'](str(source_only), str(tmp_path / 'none.pth'), str(tmp_path), True)
    torch.save(dict(state_dict=dict(other=torch.zeros(1))), tmp_path / 'other.pth')
    with pytest.raises(KeyError, match='student'):
        TOOL['export'](str(DAFORMER), str(tmp_path / 'other.pth'), str(tmp_path / 'out'))


# ------------------------------------------------------------------------------ round trip
def run_tool(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                            timeout=300, env=dict(__import__('os').environ, OMP_NUM_THREADS='1'))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def miou(output: str) -> str:
    """The test loop's mIoU as printed (two decimals, as mmseg logs it)."""
    return re.findall(r'Iter\(test\).*?mIoU: ([0-9.]+)', output)[-1]


def data_options(root) -> list:
    """--cfg-options of the toy DAFormer config for a tiny tree, no workers."""
    options = [f'train_dataloader.dataset.source.data_root={root}/gta/',
               f'train_dataloader.dataset.target.data_root={root}/cityscapes/',
               'train_dataloader.batch_size=2']
    for split in ('train', 'val', 'test'):
        options += [f'{split}_dataloader.num_workers=0',
                    f'{split}_dataloader.persistent_workers=False']
    for split in ('val', 'test'):
        options.append(f'{split}_dataloader.dataset.data_root={root}/cityscapes/')
    return options


@pytest.fixture(scope='module')
def trained_daformer(tmp_path_factory):
    """The DAFormer toy config trained for 2 iterations on a tiny tree (4 + 2 + 3 images)."""
    root = tmp_path_factory.mktemp('export')
    make_toy_data(root / 'toy', num_target_train=2, num_target_val=3)
    options = data_options(root / 'toy')
    run_tool('tools/train.py', str(DAFORMER), '--work-dir', str(root / 'work'), '--cfg-options',
             *options, 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
             'default_hooks.checkpoint.interval=2')
    return dict(root=root, options=options, checkpoint=root / 'work' / 'iter_2.pth')


@pytest.mark.slow
def test_round_trip_scores_the_same_miou(trained_daformer):
    """The student through tools/test.py before and after export (the teacher's export is
    checked logit for logit above)."""
    root, checkpoint = trained_daformer['root'], trained_daformer['checkpoint']
    name = 'student'
    uda = run_tool('tools/test.py', str(DAFORMER), str(checkpoint), '--work-dir',
                   str(root / f'test_uda_{name}'), '--cfg-options', *trained_daformer['options'])
    run_tool('tools/model_converters/export_model.py', str(DAFORMER), str(checkpoint),
             str(root / name))
    plain_options = [o for o in trained_daformer['options'] if not o.startswith('train_')]
    exported = run_tool('tools/test.py', str(root / name / 'daformer_mitb0-tiny_toy.py'),
                        str(root / name / 'daformer_mitb0-tiny_toy.pth'), '--work-dir',
                        str(root / f'test_export_{name}'), '--show-dir', str(root / 'painted'),
                        '--cfg-options', *plain_options)
    assert miou(exported) == miou(uda)
    assert 'missing keys' not in exported and 'unexpected key' not in exported
    # --show-dir paints every image of the 3-image val set (mmseg's hook interval is 50)
    painted = list((root / 'painted').rglob('*.png'))
    assert len(painted) == 3, painted


def test_training_writes_uda_panels(trained_daformer):
    """The toy config's UDAVisualizationHook (default_runtime.py) drew both iterations."""
    panels = sorted(p.name for p in (trained_daformer['root'] / 'work').rglob('uda_iteration_*'))
    assert panels == ['uda_iteration_1.png', 'uda_iteration_2.png']


@pytest.mark.parametrize('config', ['configs/toy/daformer_mitb0-tiny_toy.py',
                                    'configs/madm/madm_tiny_toy-rgb2depth.py'])
def test_mmseg_inferencer_runs_the_export(config, tmp_path):
    from mmseg.apis import MMSegInferencer
    init_default_scope('mmseg')
    cfg = Config.fromfile(REPO / config)
    torch.manual_seed(0)
    uda_checkpoint(MODELS.build(cfg.model), tmp_path / 'uda.pth')
    cfg_path, ckpt_path = TOOL['export'](str(REPO / config), str(tmp_path / 'uda.pth'),
                                         str(tmp_path / 'out'))
    inferencer = MMSegInferencer(model=cfg_path, weights=ckpt_path, device='cpu')
    image = torch.randint(0, 256, (96, 192, 3), dtype=torch.uint8).numpy()
    result = inferencer(image, return_datasamples=True)
    assert result.pred_sem_seg.shape == (96, 192)
    assert inferencer.model.dataset_meta['classes'] == ['a', 'b']


def test_export_needs_no_pretrained_files():
    """Full-size configs: MiT init_cfg and the SD folder are dropped (the checkpoint has all)."""
    madm = Config.fromfile(REPO / 'configs/madm/madm_sd14_cityscapes2deliver-depth-512x512.py')
    segmentor, _ = TOOL['plain_segmentor'](TOOL['network_config'](madm.model, False)[0])
    assert segmentor.type == 'EncoderDecoder' and segmentor.backbone.pretrained is None
    assert segmentor.backbone.unet_config.cross_attention_dim == 768
    daformer = Config.fromfile(REPO / 'configs/daformer/daformer_mitb5_gta2cs-512x512.py')
    segmentor, _ = TOOL['plain_segmentor'](TOOL['network_config'](daformer.model, False)[0])
    assert segmentor.backbone.init_cfg is None
    lcmsm = Config.fromfile(REPO / 'configs/lc_msm/lcmsm_daformer_mitb5_gta2cs-512x512.py')
    segmentor, dropped = TOOL['plain_segmentor'](TOOL['network_config'](lcmsm.model, False)[0])
    assert 'language_head' not in segmentor and dropped == ('language_head.', )
    partial = dict(madm.model.segmentor.backbone, unet_config=None)
    partial.pop('vae_config')
    segmentor, _ = TOOL['plain_segmentor'](ConfigDict(madm.model.segmentor, backbone=partial))
    assert segmentor.backbone.pretrained == 'pretrained/stable-diffusion-v1-4'
