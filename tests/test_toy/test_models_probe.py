"""The toy-model probes of benchmarks/toy_models_probe.py on hand-computed cases."""
import os.path as osp
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def probe():
    sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
    try:
        import toy_models_probe
    finally:
        sys.path.pop(0)
    return toy_models_probe


class _FakeVAE:
    """encode -> mean = the image; decode -> ``fn(latent)``."""

    def __init__(self, fn):
        self.fn = fn

    def encode(self, x):
        return SimpleNamespace(latent_dist=SimpleNamespace(mean=x))

    def decode(self, z):
        return SimpleNamespace(sample=self.fn(z))


def test_palette_round_trip_identity_and_one_colour(probe):
    from mmseg_diffuda.models.utils.label_palette import LabelPalette
    labels = torch.tensor([[[[0, 0, 1, 1], [2, 2, 255, 1]]]])  # 7 valid pixels: 2x0, 3x1, 2x2
    perfect = probe.palette_round_trip(_FakeVAE(lambda z: z), labels, probe.MADM_PALETTE)
    assert perfect['pixel_acc'] == pytest.approx(100.0)
    assert perfect['miou'] == pytest.approx(100.0)
    colour_1 = LabelPalette(probe.MADM_PALETTE)(torch.ones_like(labels))
    flat = probe.palette_round_trip(_FakeVAE(lambda z: colour_1), labels, probe.MADM_PALETTE)
    assert flat['pixel_acc'] == pytest.approx(100 * 3 / 7, abs=1e-4)
    # IoU: class 0 -> 0, class 1 -> 3/7, class 2 -> 0 (classes in neither map skipped, as mmseg)
    assert flat['miou'] == pytest.approx(100 * (3 / 7) / 3, abs=1e-4)


class _FakeCLIP:
    """encode_text: one-hot of the prompt index (19 prompts -> 19 dims)."""

    def encode_text(self, tokens):
        return torch.eye(len(tokens))


def test_class_prompt_auc_is_100_when_scores_follow_the_tags_and_0_when_reversed(probe):
    from mmseg_diffuda.toy.pretrain.corpus import TAG_CLASSES
    rng = np.random.default_rng(0)
    tags = (rng.random((12, len(TAG_CLASSES))) < 0.5).astype(np.float32)
    tags[0], tags[1] = 1.0, 0.0  # every class both shown and not shown
    styles = np.array([0] * 6 + [1] * 6)
    tags[6], tags[7] = 1.0, 0.0
    corpus = SimpleNamespace(tags=tags, styles=styles)
    tokenizer = lambda prompts: list(prompts)  # noqa: E731
    img = torch.from_numpy(tags) + 0.1  # image scores follow the tags
    assert probe.class_prompt_auc(_FakeCLIP(), tokenizer, img, corpus) == pytest.approx(1.0)
    assert probe.class_prompt_auc(_FakeCLIP(), tokenizer, -img, corpus) == pytest.approx(0.0)
