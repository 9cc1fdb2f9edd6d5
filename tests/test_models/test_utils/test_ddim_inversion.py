"""DIFF's DDIM inversion bookkeeping and update rule, against hand-computed values."""
import math

import pytest
import torch

from mmseg_diffuda.models.utils.ddim_inversion import (
    DIFF_SAVE_INDICES_5, DIFF_SAVE_INDICES_37, DIFF_TIMESTEPS_5, DIFF_TIMESTEPS_37,
    ddim_inversion_coefficients, ddim_step, eta_at, guided_eps, inversion_schedule, v_to_eps)


def test_official_37_step_schedule():
    schedule = inversion_schedule(DIFF_TIMESTEPS_37, DIFF_SAVE_INDICES_37)
    evaluated = [t for t, _ in schedule.steps]
    # UNet runs at 0..23, then the sparse tail, stepping up to 160 (never evaluated).
    assert evaluated == list(range(0, 24)) + [26, 30, 34, 40, 45, 52, 60, 69, 80, 91, 105, 121,
                                              139]
    assert [n for _, n in schedule.steps] == evaluated[1:] + [160]
    assert schedule.saved_timesteps == [91, 52, 30, 22, 18, 14, 11, 7, 3]
    assert schedule.last_saved_index == 33
    assert schedule.num_evaluations(stop_after_last_save=False) == 37
    assert schedule.num_evaluations(stop_after_last_save=True) == 34  # t = 105, 121, 139 cut


def test_official_5_step_schedule():
    schedule = inversion_schedule(DIFF_TIMESTEPS_5, DIFF_SAVE_INDICES_5)
    assert schedule.steps == [(0, 1), (1, 20), (20, 40), (40, 60), (60, 80)]
    assert schedule.saved_timesteps == [60, 40, 20, 1, 0]
    assert schedule.num_evaluations(True) == schedule.num_evaluations(False) == 5


@pytest.mark.parametrize('timesteps,save', [((80, 60), (2, )), ((80, 60), (0, 0)),
                                            ((80, 80), (0, )), ((80, 60), ())])
def test_schedule_rejects_bad_settings(timesteps, save):
    with pytest.raises(ValueError):
        inversion_schedule(timesteps, save)


def test_eta_window_is_exclusive():
    window = (10, 250)
    assert [eta_at(t, 1.0, window) for t in (0, 10, 11, 249, 250)] == [0, 0, 1.0, 1.0, 0]


def test_ddim_step_without_eta():
    # x0 = (1 - 0.5 sqrt(0.1)) / sqrt(0.9); x_next = sqrt(0.8) x0 + sqrt(0.2) 0.5
    x, eps = torch.ones(1), torch.full((1, ), 0.5)
    out = ddim_step(x, eps, torch.tensor(0.9), torch.tensor(0.8), 0.0, torch.full((1, ), 9.0))
    assert out.item() == pytest.approx(1.0173446, abs=1e-6)


def test_inversion_coefficients_with_eta():
    # Upward step a_t=0.99 -> a_next=0.95: a_skip = 0.95/0.99, c1 = 0.1 sqrt(a_skip' ...).
    c1, c2 = ddim_inversion_coefficients(torch.tensor(0.99), torch.tensor(0.95), 0.1)
    expected_c1 = 0.1 * math.sqrt((1 - 0.95 / 0.99) * 0.05 / 0.01)
    assert c1.item() == pytest.approx(expected_c1, rel=1e-5)
    assert c2.item() == pytest.approx(math.sqrt(0.05 - expected_c1**2), rel=1e-5)
    # eta = 1 asks for more noise than 1 - a_next: c2 is clamped at sqrt(1e-10).
    _, c2 = ddim_inversion_coefficients(torch.tensor(0.9), torch.tensor(0.8), 1.0)
    assert c2.item() == pytest.approx(1e-5, rel=1e-3)


def test_v_to_eps_and_guidance():
    v, x = torch.tensor([1.0]), torch.tensor([2.0])
    assert v_to_eps(v, x, torch.tensor(0.64)).item() == pytest.approx(0.8 + 0.6 * 2.0)
    eps_u, eps_c = torch.tensor([1.0]), torch.tensor([[3.0], [1.0]])
    assert guided_eps(eps_u, eps_c, 5.0).flatten().tolist() == [11.0, 1.0]
    assert guided_eps(None, eps_c, None) is eps_c
