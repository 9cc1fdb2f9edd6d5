"""CrossMatch: source-free data, zero-init depth path, dual-head pseudo-labels, consistency."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel, MMSeparateDistributedDataParallel
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, METRICS, MODELS

from mmseg_diffuda.datasets import GTA5Dataset, SynthiaDataset, TargetOnlyDataset, UDADataset
from mmseg_diffuda.models.uda import CrossMatch, UDAEncoderDecoder
from mmseg_diffuda.models.uda.crossmatch import agreement_pseudo_label, cross_modal_consistency

from .test_distributed import one_process_group  # noqa: F401  (fixture)
from .tiny_models import (HEIGHT, REPO, WIDTH, build_model, make_batch, optim_wrapper_for,
                          tiny_segmentor_cfg)

TOY = 'configs/toy/crossmatch_mitb0-tiny_toy.py'
FULL_SIZE = ['configs/crossmatch/crossmatch_daformer_mitb5_gta2cs-512x512.py',
             'configs/crossmatch/crossmatch_daformer_mitb5_synthia2cs-512x512.py']
SOURCE_TYPES = {'GTA5Dataset', 'SynthiaDataset', 'UDADataset'}


def depth_batch(batch_size: int = 2) -> dict:
    """An unlabelled target batch whose samples carry metric depth (0 = invalid on the top row)."""
    batch = make_batch(batch_size, with_labels=False)
    for sample in batch['data_samples']:
        depth = torch.rand(1, HEIGHT, WIDTH) * 60 + 1
        depth[:, 0] = 0
        sample.gt_depth_map = PixelData(data=depth)
    return batch


def save_source_checkpoint(path, num_classes: int = 19, plain: bool = False) -> dict:
    """Train-free stage-1 model: a source-only UDASegmentor (or plain segmentor) checkpoint."""
    segmentor = tiny_segmentor_cfg()
    segmentor['decode_head']['num_classes'] = num_classes
    model = MODELS.build(dict(type='UDASegmentor', ema=None, segmentor=segmentor))
    model.init_weights()
    state = model.student.state_dict() if plain else model.state_dict()
    torch.save(dict(state_dict=state, meta=dict(iter=1000)), path)
    return model


def crossmatch_from(source_checkpoint, **kwargs) -> CrossMatch:
    return build_model('CrossMatch', source_checkpoint=str(source_checkpoint), **kwargs)


# ----------------------------------------------------------------------------------- data


def dataset_types(node) -> list:
    """Every ``type`` and every ``source`` key below a config node."""
    found = []
    if isinstance(node, dict):
        found += [node['type']] if 'type' in node else []
        found += ['source'] if 'source' in node else []
        for value in node.values():
            found += dataset_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            found += dataset_types(value)
    return found


def write_target_tree(root, num: int = 2, split: str = 'train') -> None:
    """A Cityscapes-format split with disparity and camera files (no source tree)."""
    for index in range(num):
        stem = f'toycity_{index:06d}_000000'
        for folder, suffix in (('leftImg8bit', 'leftImg8bit.png'), ('disparity', 'disparity.png'),
                               ('camera', 'camera.json'), ('gtFine', 'gtFine_labelTrainIds.png')):
            path = root / folder / split / 'toycity' / f'{stem}_{suffix}'
            path.parent.mkdir(parents=True, exist_ok=True)
            if folder == 'camera':
                path.write_text(json.dumps(dict(extrinsic=dict(baseline=0.2),
                                                intrinsic=dict(fx=100.0))))
            elif folder == 'disparity':
                cv2.imwrite(str(path), np.full((96, 192), 257, dtype=np.uint16))  # 20 m
            else:
                cv2.imwrite(str(path), np.zeros((96, 192, 3 if folder == 'leftImg8bit' else 1),
                                                dtype=np.uint8))


@pytest.mark.parametrize('path', [TOY, *FULL_SIZE])
def test_adaptation_configs_name_no_source_dataset(path):
    cfg = Config.fromfile(REPO / path)
    assert cfg.train_dataloader.dataset.type == 'TargetOnlyDataset'
    types = dataset_types(cfg.train_dataloader.to_dict())
    assert 'CityscapesDataset' in types
    assert not SOURCE_TYPES & set(types) and 'source' not in types
    assert 'LoadDepthFromFile' in types


def test_adaptation_config_builds_no_source_dataset(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError(f'the adaptation stage built a source dataset ({type(self)})')

    for cls in (GTA5Dataset, SynthiaDataset, UDADataset):
        monkeypatch.setattr(cls, '__init__', refuse)
    write_target_tree(tmp_path)
    cfg = Config.fromfile(REPO / TOY)
    cfg.train_dataloader.dataset.target.data_root = str(tmp_path)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert isinstance(dataset, TargetOnlyDataset) and len(dataset) == 2
    sample = dataset[0]
    assert set(sample) == {'target'}
    depth = sample['target']['data_samples'].gt_depth_map.data
    assert depth.shape == (1, 64, 128) and torch.allclose(depth, torch.tensor(20.0))
    assert 'gt_sem_seg' not in sample['target']['data_samples']  # target labels never loaded


# ------------------------------------------------------------------- initialisation


def test_depth_path_starts_as_the_source_model(tmp_path):
    torch.manual_seed(0)
    source = save_source_checkpoint(tmp_path / 'source.pth').student.eval()
    model = crossmatch_from(tmp_path / 'source.pth').eval()
    inputs = torch.randn(2, 3, HEIGHT, WIDTH)
    with torch.no_grad():
        expected = source._forward(inputs)
        for depth in (torch.zeros(2, 1, HEIGHT, WIDTH), torch.rand(2, 1, HEIGHT, WIDTH) * 80):
            torch.testing.assert_close(model.auxiliary(inputs, depth), expected)
            torch.testing.assert_close(model.aux_teacher.model(inputs, depth), expected)
        torch.testing.assert_close(model.student._forward(inputs), expected)
        torch.testing.assert_close(model.teacher.model._forward(inputs), expected)
    assert all(not conv.weight.any() and not conv.bias.any()
               for conv in model.auxiliary.depth_fusion)


def test_depth_path_learns_after_the_first_step(tmp_path):
    torch.manual_seed(0)
    save_source_checkpoint(tmp_path / 'source.pth')
    model = crossmatch_from(tmp_path / 'source.pth', pseudo_threshold=0.0,
                            aux_pseudo_threshold=0.0)
    model.train_step(dict(target=depth_batch()), optim_wrapper_for(model))
    assert any(conv.weight.any() for conv in model.auxiliary.depth_fusion)


def test_no_source_checkpoint_is_refused():
    with pytest.raises(ValueError) as error:
        build_model('CrossMatch')
    message = str(error.value)
    assert 'model.source_checkpoint is None' in message
    assert 'tools/train.py configs/toy/source-only_mitb0-tiny_toy.py' in message
    assert 'model.source_checkpoint=<work_dir>/iter_N.pth' in message


def test_source_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='source_checkpoint .*missing.pth.*stage 1'):
        crossmatch_from(tmp_path / 'missing.pth')
    save_source_checkpoint(tmp_path / 'eleven.pth', num_classes=11)
    with pytest.raises(ValueError, match='predicts 11 classes .* has 19'):
        crossmatch_from(tmp_path / 'eleven.pth')
    torch.save(dict(state_dict={'conv.weight': torch.zeros(1)}), tmp_path / 'other.pth')
    with pytest.raises(ValueError, match='no segmentor weights'):
        crossmatch_from(tmp_path / 'other.pth')


def test_plain_segmentor_checkpoints_are_accepted(tmp_path):
    source = save_source_checkpoint(tmp_path / 'plain.pth', plain=True)
    model = crossmatch_from(tmp_path / 'plain.pth')
    for name, param in source.student.named_parameters():
        assert torch.equal(model.student.get_parameter(name), param), name


# ---------------------------------------------------------------------- the two losses


def test_agreement_masking_on_crafted_logits():
    # 1 image, 3 classes, 2 x 3 pixels. Main teacher: class per pixel and confidence.
    main = torch.zeros(1, 3, 2, 3)
    aux = torch.zeros(1, 3, 2, 3)
    # (0,0) agree on class 1, both confident  -> kept
    main[0, 1, 0, 0], aux[0, 1, 0, 0] = 10, 10
    # (0,1) agree on class 2, main unsure (softmax(1, 0, 0) max = 0.576) -> ignored
    main[0, 2, 0, 1], aux[0, 2, 0, 1] = 1, 10
    # (0,2) agree on class 0, aux unsure -> ignored
    main[0, 0, 0, 2], aux[0, 0, 0, 2] = 10, 1
    # (1,0) both confident but disagree -> ignored
    main[0, 0, 1, 0], aux[0, 2, 1, 0] = 10, 10
    # (1,1) agree on class 2, both confident -> kept
    main[0, 2, 1, 1], aux[0, 2, 1, 1] = 10, 10
    # (1,2) agree on class 1 just above the threshold (p = e^2 / (e^2 + 2) = 0.787) -> kept
    main[0, 1, 1, 2], aux[0, 1, 1, 2] = 2, 2
    threshold = 0.75  # above e / (e + 2) = 0.576, below 0.787
    pseudo = agreement_pseudo_label(main, aux, threshold, threshold)
    assert pseudo.label.tolist() == [[[1, 255, 255], [255, 2, 1]]]
    assert pseudo.kept_ratio == pytest.approx(3 / 6)
    assert pseudo.agreement_ratio == pytest.approx(5 / 6)
    cropped = agreement_pseudo_label(main, aux, threshold, threshold, ignore_bottom=1)
    assert cropped.label.tolist() == [[[1, 255, 255], [255, 255, 255]]]
    assert cropped.kept_ratio == pytest.approx(1 / 6)


def test_consistency_is_zero_for_identical_predictions():
    logits = torch.randn(2, 5, 4, 4, requires_grad=True)
    loss = cross_modal_consistency(logits, logits.detach().clone())
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    loss.backward()
    assert logits.grad.abs().max() < 1e-7


def test_consistency_value_and_gradient_by_hand():
    # one pixel, two classes: p_main = (0.5, 0.5), p_aux = (0.8, 0.2)
    main = torch.zeros(1, 2, 1, 1, requires_grad=True)
    aux = torch.tensor([0.8, 0.2]).log().reshape(1, 2, 1, 1).requires_grad_()
    loss = cross_modal_consistency(main, aux)
    kl_aux_main = 0.8 * np.log(0.8 / 0.5) + 0.2 * np.log(0.2 / 0.5)
    kl_main_aux = 0.5 * np.log(0.5 / 0.8) + 0.5 * np.log(0.5 / 0.2)
    assert loss.item() == pytest.approx(0.5 * (kl_aux_main + kl_main_aux), rel=1e-5)
    loss.backward()
    # d/dz_main = (p_main - p_aux) / 2, d/dz_aux = (p_aux - p_main) / 2  (N = 1 pixel)
    torch.testing.assert_close(main.grad.flatten(), torch.tensor([-0.15, 0.15]))
    torch.testing.assert_close(aux.grad.flatten(), torch.tensor([0.15, -0.15]))


def test_one_sided_consistency_teaches_the_main_stream_only():
    torch.manual_seed(0)
    main = torch.randn(2, 4, 3, 3, requires_grad=True)
    aux = torch.randn(2, 4, 3, 3, requires_grad=True)
    cross_modal_consistency(main, aux, symmetric=False).backward()
    expected = (main.softmax(1) - aux.softmax(1)).detach() / (2 * 3 * 3)
    torch.testing.assert_close(main.grad, expected)
    assert aux.grad is None


# ------------------------------------------------------------------------ training step


def test_train_step_trains_both_streams_with_one_backward():
    torch.manual_seed(0)
    model = build_model('CrossMatch', pseudo_threshold=0.0, aux_pseudo_threshold=0.0,
                        random_source=True)
    aux_before = {k: v.clone() for k, v in model.auxiliary.named_parameters()}
    optim_wrapper = optim_wrapper_for(model)
    log_vars = model.train_step(dict(target=depth_batch()), optim_wrapper)
    assert optim_wrapper.calls == dict(backward=1, step=1, zero_grad=1)
    assert set(log_vars) == {
        'loss', 'tgt.main.loss_ce', 'tgt.main.acc_seg', 'tgt.aux.loss_ce', 'tgt.aux.acc_seg',
        'tgt.loss_consistency', 'pseudo_kept_ratio', 'pseudo_agreement'
    }
    assert log_vars['pseudo_kept_ratio'] == pytest.approx(log_vars['pseudo_agreement'].item())
    changed = [not torch.equal(v, aux_before[k]) for k, v in model.auxiliary.named_parameters()]
    assert any(changed)
    assert int(model.local_iter) == 1


def test_ablation_switches():
    torch.manual_seed(0)
    rgb_only = build_model('CrossMatch', auxiliary=dict(type='RGBDAuxiliaryNetwork',
                                                         depth_encoder=None), random_source=True)
    assert rgb_only.auxiliary.depth_encoder is None
    log_vars = rgb_only.train_step(dict(target=make_batch(2, with_labels=False)),
                                   optim_wrapper_for(rgb_only))  # no depth needed
    assert 'tgt.loss_consistency' in log_vars
    no_consistency = build_model('CrossMatch', consistency_weight=0.0, random_source=True)
    log_vars = no_consistency.train_step(dict(target=depth_batch()),
                                         optim_wrapper_for(no_consistency))
    assert 'tgt.loss_consistency' not in log_vars


def test_source_free_batches_only():
    model = build_model('CrossMatch', random_source=True)
    with pytest.raises(ValueError, match='source-free'):
        model.train_step(dict(source=make_batch(), target=depth_batch()),
                         optim_wrapper_for(model))
    with pytest.raises(KeyError, match='LoadDepthFromFile'):
        model.train_step(dict(target=make_batch(with_labels=False)), optim_wrapper_for(model))
    with pytest.raises(KeyError, match='segmentor'):
        build_model('CrossMatch', auxiliary=dict(type='RGBDAuxiliaryNetwork', segmentor={}),
                    random_source=True)


def test_inference_model_has_no_auxiliary_parameters():
    model = build_model('CrossMatch', random_source=True).eval()
    aux_ids = {id(p) for p in [*model.auxiliary.parameters(), *model.aux_teacher.parameters()]}
    assert not aux_ids & {id(p) for p in model.eval_module.parameters()}
    calls = []
    for module in (model.auxiliary, model.aux_teacher.model):
        module.register_forward_hook(lambda *args: calls.append(1))
    batch = model.data_preprocessor(make_batch(1), False)
    model.test_step(make_batch(1))
    model.predict(batch['inputs'], batch['data_samples'])
    assert not calls
    # exporting the student gives exactly a plain segmentor of the config: no depth weights
    plain = MODELS.build(tiny_segmentor_cfg())
    assert set(model.student.state_dict()) == set(plain.state_dict())


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU (gloo) path')
def test_separate_ddp_wraps_both_trainable_streams(one_process_group):  # noqa: F811
    torch.manual_seed(0)
    model = build_model('CrossMatch', pseudo_threshold=0.0, aux_pseudo_threshold=0.0,
                        random_source=True)
    wrapped = MMSeparateDistributedDataParallel(
        model, broadcast_buffers=False, find_unused_parameters=False, device_ids=None)
    assert isinstance(model.student, MMDistributedDataParallel)
    assert isinstance(model.auxiliary, MMDistributedDataParallel)
    for name in ('teacher', 'aux_teacher', 'strong_aug'):
        assert not isinstance(getattr(model, name), MMDistributedDataParallel), name
    optim_wrapper = optim_wrapper_for(model)
    for _ in range(2):  # one DDP forward + one backward per stream, twice through the reducer
        wrapped.train_step(dict(target=depth_batch()), optim_wrapper)
    state = wrapped.module.state_dict()
    assert 'auxiliary.depth_fusion.0.weight' in state
    assert not any('.module.' in key for key in state)


# ------------------------------------------------------------------------- full size


def test_full_size_configs_build():
    cfg = Config.fromfile(REPO / FULL_SIZE[0])
    model = MODELS.build(cfg.model)  # random weights: init_weights would read the source file
    assert isinstance(model, CrossMatch) and isinstance(model.student, UDAEncoderDecoder)
    assert cfg.model.segmentor.backbone.init_cfg is None  # every weight from the source model
    student = sum(p.numel() for p in model.student.parameters())
    assert 84e6 < student < 86e6  # MiT-B5 + DAFormer head
    depth_path = sum(p.numel() for n, p in model.auxiliary.named_parameters() if 'depth_' in n)
    assert sum(p.numel() for p in model.auxiliary.parameters()) == student + depth_path
    assert model.auxiliary.depth_encoder.channels == (32, 64, 128, 256)
    assert (model.pseudo_ignore_top, model.pseudo_ignore_bottom) == (15, 120)
    assert model.teacher.alpha == model.aux_teacher.alpha == 0.999
    assert cfg.model_wrapper_cfg.type == 'MMSeparateDistributedDataParallel'

    synthia = Config.fromfile(REPO / FULL_SIZE[1])
    assert 'synthia' in synthia.model.source_checkpoint
    metric = METRICS.build(synthia.val_evaluator)
    assert len(metric.subsets['mIoU16']) == 16 and len(metric.subsets['mIoU13']) == 13


# ------------------------------------------------------------------------------ tools


@pytest.mark.slow
def test_stage_two_trains_through_the_tools(tmp_path):
    """tools/train.py adapts a stage-1 checkpoint on a target-only tree and validates the student.

    (tools/test.py runs the same ValLoop evaluation; it is left out to keep this test short.)
    """
    root = tmp_path / 'cityscapes'
    write_target_tree(root, split='train')
    write_target_tree(root, num=1, split='val')
    save_source_checkpoint(tmp_path / 'source.pth')
    options = [f'model.source_checkpoint={tmp_path}/source.pth', 'train_cfg.max_iters=2',
               'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
               'train_dataloader.batch_size=2', f'train_dataloader.dataset.target.data_root={root}',
               f'val_dataloader.dataset.data_root={root}']
    for loader in ('train_dataloader', 'val_dataloader'):
        options += [f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    result = subprocess.run(
        [sys.executable, 'tools/train.py', TOY, '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', *options],
        cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1'), text=True, capture_output=True,
        timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert 'tgt.loss_consistency' in output and 'pseudo_kept_ratio' in output
    assert 'mIoU' in output and (tmp_path / 'work' / 'iter_2.pth').is_file()
