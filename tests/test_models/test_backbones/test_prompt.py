import math

import torch

from mmseg_diffuda.models.backbones.prompt import LearnablePrompt


def test_initialisation_follows_madm():
    torch.manual_seed(0)
    prompt = LearnablePrompt(seq_len=77, embed_dim=16, time_embed_dim=32)
    assert prompt.prompt_embed.shape == (1, 77, 16)
    assert prompt.time_embed.shape == (1, 1, 32)
    for gate in (prompt.alpha_uncond_prompt, prompt.alpha_cond_prompt):
        assert gate.shape == (1, 77, 16)
        assert gate.min() >= 0 and gate.max() < 1  # U(0, 1)
    assert torch.count_nonzero(prompt.alpha_cond_time) == 0  # zero-init time gate ...
    assert torch.equal(prompt.time_offset(), torch.zeros(1, 32))  # ... so no offset at init
    # trunc-normal std 0.02 over 1232 values: the sample std lies well within 0.015-0.025
    assert 0.015 < prompt.prompt_embed.std() < 0.025
    assert prompt.prompt_embed.abs().max() < 2


def test_condition_and_offset_hand_values():
    prompt = LearnablePrompt(seq_len=2, embed_dim=3, time_embed_dim=4)
    with torch.no_grad():
        prompt.alpha_uncond_prompt.fill_(math.atanh(0.5))
        prompt.alpha_cond_prompt.fill_(math.atanh(0.25))
        prompt.prompt_embed.fill_(2.0)
        prompt.alpha_cond_time.fill_(math.atanh(0.5))
        prompt.time_embed.fill_(3.0)
    condition, offset = prompt(torch.full((1, 2, 3), 4.0))
    # 0.5 * E("") + 0.25 * P = 0.5 * 4 + 0.25 * 2
    assert torch.allclose(condition, torch.full((1, 2, 3), 2.5))
    assert torch.allclose(offset, torch.full((1, 4), 1.5))  # tanh(alpha_t) * tau = 0.5 * 3


def test_every_parameter_is_trained():
    prompt = LearnablePrompt(seq_len=4, embed_dim=3, time_embed_dim=5)
    with torch.no_grad():
        prompt.alpha_cond_time.fill_(0.3)  # at 0 the gradient of tau is exactly 0
    condition, offset = prompt(torch.randn(1, 4, 3))
    (condition.sum() + offset.sum()).backward()
    for name, param in prompt.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
