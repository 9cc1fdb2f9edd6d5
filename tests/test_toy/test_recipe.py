"""The toy recipe is shared: a method, its source-only baseline, its oracle, its ablations and its
random-init twin train for the same iterations with the same optimiser and schedule
(docs/toy_data.md#the-toy-recipe), so a table compares methods, not recipes."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def toy(name: str) -> str:
    found = glob.glob(osp.join(REPO, 'configs', '*', name)) + glob.glob(
        osp.join(REPO, 'configs', 'toy', 'random-init', name))
    assert len(found) == 1, f'{name}: {found}'
    return found[0]


def recipe(path: str) -> dict:
    """Iterations, the student's optimiser and its schedule of one config."""
    cfg = Config.fromfile(path)
    optim = cfg.optim_wrapper.get('student', cfg.optim_wrapper)
    schedule = cfg.param_scheduler
    if isinstance(schedule, dict):
        schedule = schedule['student']
    return dict(iters=cfg.train_cfg.max_iters, optimizer=optim.optimizer.to_dict(),
                paramwise=optim.get('paramwise_cfg'), clip=optim.get('clip_grad'),
                schedule=[dict(s) for s in schedule],
                batch=cfg.train_dataloader.batch_size)


GROUPS = {
    'tiny DAFormer, RGB shift': [
        'source-only_mitb0-tiny_toy.py', 'oracle_mitb0-tiny_toy.py', 'daformer_mitb0-tiny_toy.py',
        'mic_mitb0-tiny_toy.py', 'source-only_mitb0-tiny-random-init_toy.py',
        'daformer_mitb0-tiny-random-init_toy.py', 'mic_mitb0-tiny-random-init_toy.py',
        'oracle_mitb0-tiny-random-init_toy.py', 'oracle_mitb0-tiny_toy-depth.py'],
    'tiny SD, RGB -> depth': [
        'source-only_madm-tiny_toy-rgb2depth.py', 'madm_tiny_toy-rgb2depth.py',
        'oracle_madm-tiny_toy-depth.py', 'madm-no-dplg_tiny_toy-rgb2depth.py',
        'madm-no-lplr_tiny_toy-rgb2depth.py', 'madm_tiny-random-init_toy-rgb2depth.py',
        'source-only_madm-tiny-random-init_toy-rgb2depth.py',
        'oracle_madm-tiny-random-init_toy-depth.py'],
    'tiny SD, RGB shift (ICCLD)': [
        'source-only_iccld-sd-tiny_toy.py', 'iccld_sd-tiny_toy.py',
        'iccld-no-adversarial_sd-tiny_toy.py', 'iccld-no-intercoder_sd-tiny_toy.py',
        'iccld_sd-tiny-random-init_toy.py', 'oracle_iccld-sd-tiny_toy.py',
        'oracle_iccld-sd-tiny-random-init_toy.py',
        'source-only_iccld-sd-tiny-random-init_toy.py'],
}


@pytest.mark.parametrize('group', sorted(GROUPS))
def test_a_method_and_its_baselines_share_the_recipe(group):
    names = GROUPS[group]
    reference = recipe(toy(names[0]))
    for name in names[1:]:
        assert recipe(toy(name)) == reference, f'{name} trains differently from {names[0]}'


@pytest.mark.parametrize('name', ['lcmsm_mitb0-tiny_toy.py', 'lcmsm-random-text_mitb0-tiny_toy.py'])
def test_lcmsm_shares_the_schedule_of_its_baseline(name):
    # LC-MSM trains its text projection at the base lr (an extra parameter group): everything
    # else is the shared recipe.
    lcmsm, base = recipe(toy(name)), recipe(toy('source-only_mitb0-tiny_toy.py'))
    assert lcmsm['paramwise']['custom_keys'].pop('text_projection') == dict(lr_mult=1.0)
    assert lcmsm == base


def test_the_toy_recipe_values():
    mit = recipe(toy('daformer_mitb0-tiny_toy.py'))
    assert mit['iters'] == 2000 and mit['optimizer']['lr'] == 2e-3
    assert mit['schedule'][-1]['end'] == 2000
    sd = recipe(toy('madm_tiny_toy-rgb2depth.py'))
    assert sd['iters'] == 1000 and sd['schedule'][-1]['end'] == 1000
    madm = Config.fromfile(toy('madm_tiny_toy-rgb2depth.py')).model
    assert madm.dplg.end_iter == 500  # E: half of the schedule, as MADM's 5000 of 10k


TOY_IMAGE = (96, 192)  # the toy generator's image size (HxW), whole at evaluation
SD_NETWORK_CONFIGS = GROUPS['tiny SD, RGB -> depth'] + GROUPS['tiny SD, RGB shift (ICCLD)'] + [
    'diff_tiny_toy-dg.py', 'diff_tiny-random-init_toy-dg.py']


def _student(cfg: Config) -> dict:
    return cfg.model.get('segmentor', cfg.model)


@pytest.mark.parametrize('name', SD_NETWORK_CONFIGS)
def test_sd_networks_predict_the_toy_in_windows_of_their_training_crop(name):
    # The tiny SD networks take multiples of 64 (8x VAE x 3 UNet downsamplings); 96 is not one,
    # and padding to 128x192 cost the depth oracle 10 mIoU (docs/toy_data.md). Windows of the
    # training crop that tile the toy image exactly need no padding.
    cfg = Config.fromfile(toy(name))
    student = _student(cfg)
    crop = next(tuple(step['crop_size']) for step in cfg.train_dataloader.dataset.source.pipeline
                if step['type'] == 'RandomCrop')
    test_cfg = student.test_cfg
    assert test_cfg.mode == 'slide' and tuple(test_cfg.crop_size) == crop
    for size, window, stride in zip(TOY_IMAGE, test_cfg.crop_size, test_cfg.stride):
        assert window % 64 == 0 and (size - window) % stride == 0, (name, test_cfg)
    for preprocessor in (student.get('data_preprocessor'), cfg.get('data_preprocessor')):
        assert not (preprocessor or {}).get('test_cfg'), f'{name}: test images are padded'


@pytest.mark.parametrize('name', GROUPS['tiny DAFormer, RGB shift'])
def test_mit_networks_predict_the_whole_toy_image(name):
    # The MiT takes multiples of 32, which the 96x192 toy image is: whole and unpadded, as
    # DAFormer predicts 1024x512 Cityscapes images.
    cfg = Config.fromfile(toy(name))
    student = _student(cfg)
    assert student.test_cfg.mode == 'whole'
    for preprocessor in (student.get('data_preprocessor'), cfg.get('data_preprocessor')):
        assert not (preprocessor or {}).get('test_cfg'), f'{name}: test images are padded'
