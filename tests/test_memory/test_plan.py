"""The plan's static figures against hand counts of the same tiny model."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmseg_diffuda.memory import plan_train_step
from mmseg_diffuda.memory.plan import build_training, prepare_config

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'configs/toy/daformer_mitb0-tiny_toy.py'


@pytest.fixture(scope='module')
def tiny_plan():
    return plan_train_step(Config.fromfile(TINY), batch_size=1, crop=(64, 64))


@pytest.fixture(scope='module')
def real_model():
    torch.manual_seed(0)
    model_cfg, optim_cfg, amp = prepare_config(Config.fromfile(TINY), crop=(64, 64))
    model, _ = build_training(model_cfg, optim_cfg, amp)
    return model


def test_weights_match_hand_counts(tiny_plan, real_model):
    trainable = [p for p in real_model.parameters() if p.requires_grad]
    frozen = [p for p in real_model.parameters() if not p.requires_grad]
    assert tiny_plan.trainable_params == sum(p.numel() for p in trainable) > 0
    assert tiny_plan.trainable_bytes == 4 * tiny_plan.trainable_params  # float32
    assert tiny_plan.frozen_bytes == 4 * sum(p.numel() for p in frozen)
    # Frozen: the EMA teacher (a copy of the student) and the ImageNet feature-distance encoder.
    teacher = sum(p.numel() for p in real_model.teacher.parameters())
    assert teacher == tiny_plan.trainable_params
    assert tiny_plan.frozen_bytes > 4 * teacher


def test_gradients_and_adamw_state_match_hand_counts(tiny_plan, real_model):
    trainable = [p for p in real_model.parameters() if p.requires_grad]
    # One float32 gradient per trainable weight when the optimiser steps.
    assert tiny_plan.gradient_bytes == tiny_plan.trainable_bytes
    # AdamW: exp_avg + exp_avg_sq (float32) per weight, one float32 step counter per tensor.
    assert tiny_plan.optimizer_bytes == 2 * tiny_plan.trainable_bytes + 4 * len(trainable)


def test_peak_holds_state_and_activations(tiny_plan):
    breakdown = tiny_plan.peak_breakdown
    assert sum(breakdown.values()) == tiny_plan.peak_bytes
    assert breakdown['parameters'] == tiny_plan.trainable_bytes + tiny_plan.frozen_bytes
    assert breakdown['optimizer_state'] >= tiny_plan.optimizer_bytes
    assert tiny_plan.activation_peak_bytes > 0
    assert 0 < tiny_plan.step_growth_bytes < tiny_plan.peak_bytes


def test_activations_scale_with_the_crop(tiny_plan):
    larger = plan_train_step(Config.fromfile(TINY), batch_size=1, crop=(128, 128))
    assert larger.trainable_bytes == tiny_plan.trainable_bytes
    ratio = larger.activation_peak_bytes / tiny_plan.activation_peak_bytes
    assert 3.0 < ratio < 4.5  # 4x the pixels (plus crop-independent parts)
