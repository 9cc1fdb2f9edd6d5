import pytest
import torch

from mmseg_diffuda.models.utils import get_class_masks, mix

IGNORE = 255

# Sample 0 holds every class of the batch (0, 1, 2, 3 and the ignore index);
# sample 1 holds classes 0 and 1 only.
LABELS = torch.tensor([
    [[0, 0, 1, 1],
     [0, 0, 1, 1],
     [2, 2, 3, 3],
     [IGNORE, IGNORE, 3, 3]],
    [[0, 0, 0, 0],
     [0, 0, 0, 0],
     [1, 1, 1, 1],
     [1, 1, 1, 1]],
]).unsqueeze(1)


def covered_classes(mask: torch.Tensor, label: torch.Tensor) -> set:
    """Classes of ``label`` under ``mask``; also checks every class is fully in or out."""
    covered = set()
    for cls in torch.unique(label).tolist():
        values = mask[0][label == cls]
        assert torch.all(values == values[0]), 'a class is split by the mask'
        if values[0] == 1:
            covered.add(cls)
    return covered


def test_masks_are_binary_and_shaped_per_sample():
    masks = get_class_masks(LABELS, generator=torch.Generator().manual_seed(0))
    assert len(masks) == 2
    for m in masks:
        assert m.shape == (1, 1, 4, 4)
        assert m.dtype == torch.float32
        assert torch.all((m == 0) | (m == 1))


def test_batch_wide_candidates_choose_ceil_half_and_include_ignore():
    gen = torch.Generator().manual_seed(0)
    ignore_hits = 0
    trials = 600
    for _ in range(trials):
        masks = get_class_masks(LABELS, batch_wide_classes=True, generator=gen)
        # 5 batch candidates {0, 1, 2, 3, 255} -> (5 + 1) // 2 = 3 chosen; sample 0 shows all
        covered0 = covered_classes(masks[0], LABELS[0])
        assert len(covered0) == 3
        ignore_hits += IGNORE in covered0
        # sample 1 only shows the chosen classes among its own {0, 1}
        assert covered_classes(masks[1], LABELS[1]) <= {0, 1}
    # each class is chosen with probability 3 / 5
    assert abs(ignore_hits / trials - 0.6) < 0.07


def test_per_sample_candidates_exclude_ignore():
    gen = torch.Generator().manual_seed(1)
    for _ in range(200):
        masks = get_class_masks(LABELS, batch_wide_classes=False, generator=gen)
        covered0 = covered_classes(masks[0], LABELS[0])
        assert len(covered0) == 2  # own classes {0, 1, 2, 3} -> 2 chosen
        assert IGNORE not in covered0
        assert len(covered_classes(masks[1], LABELS[1])) == 1  # {0, 1} -> 1 chosen


@pytest.mark.parametrize('num_classes, expected', [(1, 1), (2, 1), (3, 2), (4, 2), (7, 4)])
def test_number_of_chosen_classes(num_classes, expected):
    label = torch.arange(num_classes).reshape(1, 1, 1, num_classes)
    masks = get_class_masks(label, generator=torch.Generator().manual_seed(3))
    assert int(masks[0].sum()) == expected


def test_generator_makes_masks_reproducible():
    first = get_class_masks(LABELS, generator=torch.Generator().manual_seed(5))
    second = get_class_masks(LABELS, generator=torch.Generator().manual_seed(5))
    for a, b in zip(first, second):
        assert torch.equal(a, b)


def test_mix_images_labels_and_weights():
    mask = torch.tensor([[1., 0.], [0., 1.]]).reshape(1, 1, 2, 2)
    image = mix(mask, torch.full((1, 3, 2, 2), 5.), torch.zeros(1, 3, 2, 2))
    assert torch.equal(image, torch.tensor([[5., 0.], [0., 5.]]).expand(1, 3, 2, 2))

    src_label = torch.tensor([[1, 2], [3, 4]]).reshape(1, 1, 2, 2)
    tgt_label = torch.full((1, 1, 2, 2), 9)
    label = mix(mask, src_label, tgt_label)
    assert label.dtype == torch.int64
    assert torch.equal(label, torch.tensor([[1, 9], [9, 4]]).reshape(1, 1, 2, 2))

    weight = mix(mask[:, 0], torch.ones(1, 2, 2), torch.full((1, 2, 2), 0.25))
    assert torch.equal(weight, torch.tensor([[[1., 0.25], [0.25, 1.]]]))


def test_mix_rejects_mask_that_would_broadcast_to_another_shape():
    mask = torch.ones(2, 1, 2, 2)
    with pytest.raises(ValueError, match='mask\\[:, 0\\]'):
        mix(mask, torch.ones(2, 2, 2), torch.zeros(2, 2, 2))


def test_mix_rejects_soft_mask_for_labels():
    with pytest.raises(ValueError, match='binary'):
        mix(torch.full((1, 1, 1, 1), 0.5), torch.ones(1, 1, 1, 1, dtype=torch.long),
            torch.zeros(1, 1, 1, 1, dtype=torch.long))
