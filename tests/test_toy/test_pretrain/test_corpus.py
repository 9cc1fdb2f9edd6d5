"""The label-free pretraining corpus: determinism, captions, tags, seeds apart from benchmarks."""
import numpy as np
import pytest

from mmseg_diffuda.toy.generate import SPLITS, Tree, sample_toy_scene
from mmseg_diffuda.toy.pretrain.corpus import (CLASS_PHRASES, CORPUS_STYLES, CORPUS_TREE,
                                               TAG_CLASSES, CorpusSample, caption, corpus_sample,
                                               corpus_seed_entropy, describe, make_corpus,
                                               short_caption)


def test_same_seed_same_corpus_other_seed_other_images():
    a, b = make_corpus(1, seed=3), make_corpus(1, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions
    c = make_corpus(1, seed=4)
    assert not np.array_equal(a.images, c.images)


def test_every_style_renders_a_three_channel_image_with_its_phrase():
    corpus = make_corpus(1)
    assert corpus.images.shape == (len(CORPUS_STYLES), 96, 192, 3)
    assert corpus.images.dtype == np.uint8
    for style, text in zip(CORPUS_STYLES, corpus.captions):
        assert f' {style.phrase} of a street' in text
    # single-channel modalities are repeated to three equal channels
    depth = corpus.images[[s.name for s in CORPUS_STYLES].index('depth')]
    np.testing.assert_array_equal(depth[..., 0], depth[..., 2])


def test_caption_hand_case():
    depth = next(s for s in CORPUS_STYLES if s.name == 'depth')
    event = next(s for s in CORPUS_STYLES if s.name == 'event')
    assert caption(depth, ['road', 'building', 'vegetation'], {'car': 1, 'person': 2}) == \
        'a depth map of a street with buildings, trees, two persons and a car'
    assert caption(event, [], {}) == 'an event camera frame of a street'
    assert caption(depth, [], {'bus': 9}) == 'a depth map of a street with many buses'


def _tags(*names):
    tags = np.zeros(len(TAG_CLASSES), dtype=np.float32)
    for name in names:
        tags[TAG_CLASSES.index(name)] = 1.0
    return tags


def test_short_caption_names_one_present_class_by_one_of_its_names():
    photo = [s.name for s in CORPUS_STYLES].index('photo')
    event = [s.name for s in CORPUS_STYLES].index('event')
    rng = np.random.default_rng(0)
    seen = {short_caption(photo, _tags('bus'), rng) for _ in range(50)}
    assert seen == {'a photo of a bus', 'a photo of a coach'}
    seen = {short_caption(event, _tags('car', 'terrain'), rng) for _ in range(200)}
    assert seen == {'an event camera frame of a car', 'an event camera frame of an automobile',
                    'an event camera frame of grass', 'an event camera frame of terrain',
                    'an event camera frame of a lawn'}
    assert short_caption(photo, _tags(), rng) == 'a photo of a street'
    # the same generator state gives the same caption
    a = [short_caption(photo, _tags('car', 'bus', 'person'), np.random.default_rng(7))
         for _ in range(2)]
    assert a[0] == a[1]


def test_class_phrases_cover_every_class_and_lcmsm_prompt_words():
    from mmseg_diffuda.models.utils.text_embeddings import LCMSM_CLASS_RENAMES
    assert set(CLASS_PHRASES) == set(TAG_CLASSES)
    for name in TAG_CLASSES:  # the Cityscapes name and LC-MSM's rename are both spoken
        words = ' '.join(CLASS_PHRASES[name])
        assert LCMSM_CLASS_RENAMES.get(name, name) in words
        assert name in words


def test_tags_are_the_classes_the_caption_names():
    sample = corpus_sample(style=0, index=5)
    scene_stuff_things = describe(_scene_of(0, 5))
    named = set(scene_stuff_things[0]) | set(scene_stuff_things[1])
    assert {TAG_CLASSES[i] for i in np.flatnonzero(sample.tags)} == named
    assert set(vars(sample)) == {'image', 'caption', 'style', 'tags'}  # no mask leaves


def _scene_of(style: int, index: int):
    from mmseg_diffuda.toy.pretrain.corpus import CORPUS_LAYOUTS
    from mmseg_diffuda.toy.scene import sample_scene
    sequence = np.random.SeedSequence(list(corpus_seed_entropy(0, style, index)))
    scene_rng, _ = (np.random.default_rng(s) for s in sequence.spawn(2))
    return sample_scene(scene_rng, 96, 192, CORPUS_LAYOUTS[index % len(CORPUS_LAYOUTS)])


def test_corpus_seeds_are_disjoint_from_every_benchmark_split():
    benchmark = {(0, int(tree), split_index, i) for tree in Tree
                 for split_index in range(len(SPLITS[tree])) for i in range(500)}
    corpus = {corpus_seed_entropy(0, s, i) for s in range(len(CORPUS_STYLES)) for i in range(500)}
    assert CORPUS_TREE not in {int(t) for t in Tree}
    assert not benchmark & corpus
    # and the scenes differ: the corpus' first scene is none of the benchmark's first scenes
    scene = _scene_of(0, 0)
    for tree in Tree:
        for split in SPLITS[tree]:
            assert not np.array_equal(sample_toy_scene(tree, split, 0).label, scene.label)


def test_bad_size_is_refused():
    with pytest.raises(ValueError, match='per_style'):
        make_corpus(0)
    assert isinstance(corpus_sample(1, 0), CorpusSample)
