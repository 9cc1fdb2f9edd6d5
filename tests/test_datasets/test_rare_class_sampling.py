"""RareClassSampler: DAFormer's RCS probabilities, file choice and re-crop predicate."""
import json
import math

import numpy as np
import pytest
import torch

from mmseg_diffuda.datasets import RareClassSampler

# Pixel totals: class 0 -> 150, class 1 -> 10, class 2 -> 40 (200 px); class 3 has 0 px.
STATS = [
    {'file': 'a.png', '0': 100, '1': 10},
    {'file': 'b.png', '0': 50, '2': 40, '3': 0},
]


def test_class_probs_are_the_softmax_of_one_minus_frequency():
    sampler = RareClassSampler(STATS, class_temp=0.5, min_pixels=5)
    # f = (150, 10, 40) / 200 = (0.75, 0.05, 0.2); logits (1 - f) / 0.5 = (0.5, 1.9, 1.6).
    z = math.exp(0.5) + math.exp(1.9) + math.exp(1.6)
    expected = {0: math.exp(0.5) / z, 1: math.exp(1.9) / z, 2: math.exp(1.6) / z}
    # Classes in ascending pixel count (official order); class 3 (0 px) is excluded.
    assert sampler.classes.tolist() == [1, 2, 0]
    for cls, prob in zip(sampler.classes.tolist(), sampler.class_probs):
        assert prob == pytest.approx(expected[cls], rel=1e-12)
    assert sampler.class_probs == pytest.approx([0.503166, 0.372755, 0.124079], abs=1e-6)


def test_daformer_temperature_concentrates_on_the_rarest_class():
    sampler = RareClassSampler(STATS, class_temp=0.01, min_pixels=5)
    # logit gap between class 1 and class 2: (0.95 - 0.8) / 0.01 = 15.
    assert sampler.class_probs[1] / sampler.class_probs[0] == pytest.approx(math.exp(-15))


def test_candidate_files_hold_more_than_min_pixels():
    sampler = RareClassSampler(STATS, class_temp=0.5, min_pixels=5)
    assert sampler.files_with_class == {0: ['a.png', 'b.png'], 1: ['a.png'], 2: ['b.png']}
    sampler = RareClassSampler(STATS, class_temp=0.5, min_pixels=9)
    assert sampler.files_with_class[1] == ['a.png']  # 10 > 9


def test_class_without_candidate_file_is_left_out_and_probs_renormalised():
    # class 1 has 10 px: not more than min_pixels=10 (strict, as the official code). f_c still
    # counts its pixels: logits stay (0.5, 1.6) for classes (0, 2), renormalised without class 1.
    sampler = RareClassSampler(STATS, class_temp=0.5, min_pixels=10)
    assert sampler.classes.tolist() == [2, 0]
    z = math.exp(1.6) + math.exp(0.5)
    assert sampler.class_probs == pytest.approx([math.exp(1.6) / z, math.exp(0.5) / z])
    assert sampler.files_with_class == {2: ['b.png'], 0: ['a.png', 'b.png']}


def test_no_candidate_file_at_all_is_an_error():
    with pytest.raises(ValueError, match=r'no file .* more than min_pixels=100 '):
        RareClassSampler(STATS, class_temp=0.5, min_pixels=100)


def test_sampled_class_frequencies_follow_the_probabilities():
    sampler = RareClassSampler(STATS, class_temp=0.5, min_pixels=5)
    rng = np.random.default_rng(0)
    n = 5000
    draws = np.array([sampler.sample_class(rng) for _ in range(n)])
    for cls, prob in zip(sampler.classes.tolist(), sampler.class_probs):
        std = math.sqrt(prob * (1 - prob) / n)
        assert abs((draws == cls).mean() - prob) < 4 * std


def test_files_are_drawn_uniformly_among_candidates():
    sampler = RareClassSampler(STATS, class_temp=0.5, min_pixels=5)
    rng = np.random.default_rng(1)
    n = 2000
    files = [sampler.sample_file(0, rng) for _ in range(n)]
    assert set(files) == {'a.png', 'b.png'}
    assert abs(files.count('a.png') / n - 0.5) < 4 * math.sqrt(0.25 / n)
    assert {sampler.sample_file(1, rng) for _ in range(50)} == {'a.png'}


def test_recrop_predicate_needs_more_than_min_pixels_times_ratio():
    sampler = RareClassSampler([{'file': 'a.png', '7': 5000}], class_temp=0.01,
                               min_pixels=3000, min_crop_ratio=0.5)
    crop = torch.zeros(1, 64, 64, dtype=torch.long)  # 4096 px
    crop.view(-1)[:1500] = 7
    assert not sampler.accepts_crop(crop, 7)  # 1500 is not > 3000 * 0.5
    crop.view(-1)[1500] = 7
    assert sampler.accepts_crop(crop, 7)  # 1501 > 1500
    assert not sampler.accepts_crop(crop, 3)  # pixels of other classes do not count
    assert sampler.accepts_crop(crop.numpy(), 7)


def test_zero_crop_ratio_disables_recropping():
    sampler = RareClassSampler(STATS, class_temp=0.01, min_pixels=5, min_crop_ratio=0)
    assert sampler.accepts_crop(np.zeros((4, 4)), 1)


def test_from_stats_file_uses_only_the_dataset_files(tmp_path):
    path = tmp_path / 'sample_class_stats.json'
    path.write_text(json.dumps(STATS + [{'file': 'extra.png', '1': 10000}]))
    sampler = RareClassSampler.from_stats_file(str(path), ['b.png', 'a.png'], 'convert me',
                                               class_temp=0.5, min_pixels=5)
    # extra.png is not in the dataset: same probabilities as the two-file statistics.
    assert sampler.class_probs == pytest.approx([0.503166, 0.372755, 0.124079], abs=1e-6)
    only_b = RareClassSampler.from_stats_file(str(path), ['b.png'], 'convert me',
                                              class_temp=0.5, min_pixels=5)
    assert only_b.classes.tolist() == [2, 0]


def test_from_stats_file_applies_the_label_map(tmp_path):
    path = tmp_path / 'sample_class_stats.json'
    path.write_text(json.dumps(STATS))
    # Subset ('sidewalk', 'wall') of a dataset: old 1 -> 0, old 2 -> 1, old 0 dropped.
    sampler = RareClassSampler.from_stats_file(
        str(path), ['a.png', 'b.png'], 'convert me', label_map={0: 255, 1: 0, 2: 1, 3: 255},
        class_temp=0.5, min_pixels=5)
    assert sampler.classes.tolist() == [0, 1]
    assert sampler.files_with_class == {0: ['a.png'], 1: ['b.png']}


def test_original_class_stats_sample_unmerged_ids_and_test_crops_merged(tmp_path):
    """MADM: classes and files by the original ids, the re-crop test on the merged label."""
    path = tmp_path / 'sample_class_stats.json'
    path.write_text(json.dumps(STATS))
    # Merge original 1 and 2 into class 0, original 0 -> 1.
    label_map = {0: 1, 1: 0, 2: 0, 3: 255}
    sampler = RareClassSampler.from_stats_file(
        str(path), ['a.png', 'b.png'], 'convert me', label_map=label_map,
        original_class_stats=True, class_temp=0.5, min_pixels=5, min_crop_ratio=0.5)
    # The un-merged statistics: the same classes and probabilities as without a label map.
    plain = RareClassSampler.from_stats_file(str(path), ['a.png', 'b.png'], 'convert me',
                                             class_temp=0.5, min_pixels=5)
    assert sampler.classes.tolist() == plain.classes.tolist() == [1, 2, 0]
    assert sampler.class_probs == pytest.approx(plain.class_probs)
    assert sampler.files_with_class == {1: ['a.png'], 2: ['b.png'], 0: ['a.png', 'b.png']}
    crop = torch.zeros(1, 4, 4, dtype=torch.long)  # 16 px of merged class 0, none of 1
    assert sampler.accepts_crop(crop, 2)  # original 2 -> merged 0: 16 > 5 * 0.5
    assert sampler.accepts_crop(crop, 1)
    assert not sampler.accepts_crop(crop, 0)  # original 0 -> merged 1: no pixel


def test_missing_stats_file_names_file_and_converter(tmp_path):
    path = tmp_path / 'sample_class_stats.json'
    with pytest.raises(FileNotFoundError,
                       match=r'sample_class_stats\.json.*`python tools/x\.py root`'):
        RareClassSampler.from_stats_file(str(path), ['a.png'], 'python tools/x.py root')


def test_stale_stats_file_is_an_error(tmp_path):
    path = tmp_path / 'sample_class_stats.json'
    path.write_text(json.dumps(STATS))
    with pytest.raises(ValueError, match=r'no entry for 1 of the 2 .*new\.png.*re-run'):
        RareClassSampler.from_stats_file(str(path), ['a.png', 'new.png'], 'convert me')
