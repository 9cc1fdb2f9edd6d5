"""mmseg's own inference API (init_model, inference_model, MMSegInferencer) on every config.

mmseg builds the model with ``model.pretrained = model.train_cfg = None`` and strips only its
``LoadAnnotations`` from the test pipeline; ``MMSegInferencer`` also needs mmcv's
``LoadImageFromFile`` in ``test_dataloader.dataset.pipeline``. Toy configs run the whole API on
an image file and an array; full-size configs run mmseg's two test-pipeline constructions on
an image (their networks are built elsewhere: ``test_configs.py`` and the method tests; one
full-size DAFormer runs through ``init_model`` + ``inference_model`` under ``slow``).
"""
import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.apis import MMSegInferencer, inference_model, init_model
from mmseg.registry import MODELS

from .tiny_models import REPO

CONFIGS = sorted(str(p.relative_to(REPO)) for p in REPO.glob('configs/*/*.py')
                 if p.parent.name != '_base_')
TOY = [c for c in CONFIGS if c.startswith('configs/toy/') or 'toy' in Path(c).name]
FULL_SIZE = [c for c in CONFIGS if c not in TOY]
HEIGHT, WIDTH = 96, 192


def is_modality(cfg: Config) -> bool:
    """Whether the test pipeline reads single-channel modality images."""
    return any(step['type'] == 'ToThreeChannels' for step in cfg.test_pipeline)


def write_image(folder: Path, cfg: Config) -> Path:
    """A random test image: grey-level for modality configs, BGR otherwise."""
    rng = np.random.default_rng(0)
    shape = (HEIGHT, WIDTH) if is_modality(cfg) else (HEIGHT, WIDTH, 3)
    path = folder / 'image.png'
    cv2.imwrite(str(path), rng.integers(0, 256, shape, dtype=np.uint8))
    return path


def test_config_lists_cover_the_methods():
    assert len(TOY) >= 15 and len(FULL_SIZE) >= 20
    assert {Path(c).parent.name for c in FULL_SIZE} == {
        'crossmatch', 'daformer', 'diff', 'iccld', 'lc_msm', 'madm', 'mic'}


@pytest.mark.parametrize('config', CONFIGS)
def test_test_pipelines_as_mmseg_builds_them(config, tmp_path):
    """The pipelines of inference_model (file, array) and of MMSegInferencer run unlabelled."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(REPO / config)
    path = write_image(tmp_path, cfg)
    # inference_model: cfg.test_pipeline without LoadAnnotations; the first step becomes
    # LoadImageFromNDArray for arrays (mmseg.apis.inference._preprare_data).
    steps = [s for s in copy.deepcopy(cfg.test_pipeline) if s['type'] != 'LoadAnnotations']
    packed = Compose(steps)(dict(img_path=str(path)))
    array_steps = copy.deepcopy(steps)
    array_steps[0]['type'] = 'LoadImageFromNDArray'
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    from_array = Compose(array_steps)(dict(img=image))
    # MMSegInferencer: its own construction from test_dataloader.dataset.pipeline.
    inferencer = MMSegInferencer.__new__(MMSegInferencer)
    from_inferencer = inferencer._init_pipeline(copy.deepcopy(cfg))(str(path))
    for result in (packed, from_array, from_inferencer):
        assert result['inputs'].shape[0] == 3
        assert 'gt_sem_seg' not in result['data_samples']
        assert result['data_samples'].ori_shape[:2] in ((HEIGHT, WIDTH), (512, 512))
    assert torch.equal(packed['inputs'], from_array['inputs'])
    assert torch.equal(packed['inputs'], from_inferencer['inputs'])


@pytest.mark.parametrize('config', TOY)
def test_toy_configs_run_through_init_model_inference_model_and_inferencer(config, tmp_path):
    cfg = Config.fromfile(REPO / config)
    path = write_image(tmp_path, cfg)
    torch.manual_seed(0)
    model = init_model(str(REPO / config), None, device='cpu')
    single = inference_model(model, str(path))
    batch = inference_model(model, [cv2.imread(str(path), cv2.IMREAD_COLOR)] * 2)
    assert single.pred_sem_seg.shape == (HEIGHT, WIDTH) and len(batch) == 2
    assert batch[1].pred_sem_seg.shape == (HEIGHT, WIDTH)
    network = getattr(model, 'eval_module', model)  # the student of UDA segmentors
    assert int(single.pred_sem_seg.data.max()) < network.decode_head.num_classes

    inferencer = MMSegInferencer(model=str(REPO / config), device='cpu')
    out_dir = tmp_path / 'out'
    result = inferencer(str(path), out_dir=str(out_dir), return_datasamples=True)
    assert result.pred_sem_seg.shape == (HEIGHT, WIDTH)
    painted = cv2.imread(str(out_dir / 'vis' / 'image.png'))
    assert painted.shape == (HEIGHT, WIDTH, 3)


def test_uda_segmentor_names_the_student_key_for_pretrained():
    cfg = Config.fromfile(REPO / 'configs/toy/daformer_mitb0-tiny_toy.py')
    with pytest.raises(ValueError, match='model.segmentor.backbone.init_cfg'):
        MODELS.build(dict(cfg.model, pretrained='mit_b5.pth'))
    with pytest.raises(ValueError, match='model.segmentor.train_cfg'):
        MODELS.build(dict(cfg.model, train_cfg=dict(sampler=None)))
    model = MODELS.build(dict(cfg.model, pretrained=None, train_cfg=None))  # as init_model
    assert type(model).__name__ == 'DACS'


@pytest.mark.slow
def test_full_size_daformer_through_init_model_and_inference_model():
    """MiT-B5 DAFormer with random weights: 1024x512 slide inference of a small array."""
    model = init_model(str(REPO / 'configs/daformer/daformer_mitb5_gta2cs-512x512.py'), None,
                       device='cpu')
    result = inference_model(model, np.zeros((48, 80, 3), np.uint8))
    assert result.pred_sem_seg.shape == (48, 80)
    assert result.seg_logits.data.shape == (19, 48, 80)
