import copy
import pickle
import uuid
from unittest.mock import MagicMock

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from mmseg.registry import HOOKS
from mmseg_diffuda.engine import PlainDataCheckpointHook


class RegressionData(Dataset):
    """Eight fixed samples of y = x1 - 2 x2."""

    def __init__(self):
        self.x = torch.linspace(-1, 1, 16).reshape(8, 2)

    def __len__(self):
        return 8

    def __getitem__(self, index):
        x = self.x[index]
        return dict(inputs=x, data_samples=x[:1] - 2 * x[1:])


class TinyRegressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.norm = nn.BatchNorm1d(1)  # state_dict `_metadata` and buffers

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.norm(self.linear(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=((pred - torch.stack(data_samples))**2).mean())
        return pred


class RecordHub(Hook):
    """Copies the message hub as it is when training (re)starts."""

    def before_train(self, runner):
        runner.recorded_hub = copy.deepcopy(runner.message_hub.state_dict())


def build_runner(work_dir, max_iters, plain_hook=True, **kwargs) -> Runner:
    custom_hooks = [RecordHub()] + ([dict(type='PlainDataCheckpointHook')] if plain_hook else [])
    return Runner(
        model=TinyRegressor(),
        work_dir=str(work_dir),
        experiment_name=f'plain_ckpt_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=RegressionData(),
            sampler=dict(type='InfiniteSampler', shuffle=True),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.01)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
            dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=2, end=6),
        ],
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2)),
        custom_hooks=custom_hooks,
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        default_scope='mmseg',
        **kwargs)


def scalars(hub_state: dict) -> dict:
    return {key: buffer.data for key, buffer in hub_state['log_scalars'].items()}


def test_hook_is_registered_and_runs_last():
    assert HOOKS.get('PlainDataCheckpointHook') is PlainDataCheckpointHook
    assert PlainDataCheckpointHook.priority == 'VERY_LOW'


def test_checkpoint_without_the_hook_needs_unsafe_loading(tmp_path):
    # The problem the hook solves: mmengine 0.10.7 pickles HistoryBuffers and numpy scalars.
    build_runner(tmp_path, max_iters=2, plain_hook=False).train()
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(tmp_path / 'iter_2.pth', weights_only=True)


def test_checkpoint_loads_safely_and_resume_restores_state(tmp_path):
    first = build_runner(tmp_path / 'a', max_iters=6)
    first.train()
    checkpoint = torch.load(tmp_path / 'a' / 'iter_4.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 4
    assert isinstance(checkpoint['message_hub']['log_scalars']['train/loss'], dict)
    assert type(checkpoint['message_hub']['runtime_info']['iter']) is int
    assert type(checkpoint['message_hub']['runtime_info']['eta']) is float  # numpy.float64 before
    assert isinstance(checkpoint['param_schedulers'], list)
    assert 'state' in checkpoint['optimizer']

    resumed = build_runner(
        tmp_path / 'b', max_iters=6, resume=True, load_from=str(tmp_path / 'a' / 'iter_4.pth'))
    resumed.train()
    assert resumed.iter == 6
    assert not (tmp_path / 'b' / 'iter_2.pth').exists()  # iterations 1-4 were not trained again
    # message hub right after resuming: the buffers of iteration 4, rebuilt as HistoryBuffers
    at_resume = scalars(resumed.recorded_hub)
    checkpoint_hub = PlainDataCheckpointHook()
    checkpoint_hub.after_load_checkpoint(None, checkpoint)
    expected = scalars(checkpoint['message_hub'])
    assert at_resume.keys() == expected.keys() and 'train/loss' in at_resume
    for key, (log, count) in expected.items():
        np.testing.assert_array_equal(at_resume[key][0], log)
        np.testing.assert_array_equal(at_resume[key][1], count)
    assert resumed.recorded_hub['runtime_info']['iter'] == 4
    assert len(at_resume['train/loss'][0]) == 4
    # same data order, weights, optimiser and lr state: the resumed losses equal the first run's
    np.testing.assert_allclose(
        resumed.message_hub.get_scalar('train/loss').data[0],
        first.message_hub.get_scalar('train/loss').data[0], rtol=1e-6)
    np.testing.assert_allclose(
        resumed.message_hub.get_scalar('train/lr').data[0],
        first.message_hub.get_scalar('train/lr').data[0], rtol=1e-12)
    final = torch.load(tmp_path / 'b' / 'iter_6.pth', weights_only=True)
    assert torch.equal(final['state_dict']['linear.weight'], first.model.linear.weight.detach())


def test_hook_warns_about_objects_it_cannot_convert():
    class Opaque:
        pass

    runner = MagicMock()
    checkpoint = dict(meta=dict(eta=np.float64(3.0), custom=Opaque()),
                      message_hub=dict(log_scalars=dict(loss=HistoryBuffer([1.0], [1]))))
    PlainDataCheckpointHook().before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta']['eta'] == 3.0 and type(checkpoint['meta']['eta']) is float
    runner.logger.warning.assert_called_once()
    assert "checkpoint['meta']['custom']" in runner.logger.warning.call_args[0][0]
