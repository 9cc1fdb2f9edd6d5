"""OpenCLIP class-name embeddings: prompts, caching, seeded random towers, weight loading."""
import subprocess
import sys

import open_clip
import pytest
import torch

from mmseg_diffuda.models.utils.text_embeddings import (OpenCLIPClassEmbeddings,
                                                        OpenCLIPWeightsNotFoundError,
                                                        build_text_tower, class_prompts,
                                                        encode_prompts, text_tower_state_dict)

TINY = dict(text_cfg=dict(width=16, heads=2, layers=1), embed_dim=8)
NAMES = ('road', 'person', 'rider', 'bicycle', 'motorcycle')


def test_prompts_apply_the_lcmsm_renames():
    assert OpenCLIPClassEmbeddings(NAMES, **TINY).prompts == [
        'a photo of a road.', 'a photo of a pedestrian.', 'a photo of a driver.',
        'a photo of a bike.', 'a photo of a motorbike.'
    ]
    assert class_prompts(['person'], template='{}!') == ['person!']  # no renames by default


def test_default_class_names_are_the_19_cityscapes_classes():
    module = OpenCLIPClassEmbeddings(**TINY)
    assert len(module.class_names) == 19 and module.class_names[:2] == ('road', 'sidewalk')
    assert module.prompts[11] == 'a photo of a pedestrian.'  # 'person' renamed
    assert module.embeddings.shape == (19, 8) and module.embed_dim == 8


def test_cached_embeddings_equal_a_fresh_encode():
    module = OpenCLIPClassEmbeddings(NAMES, seed=3, **TINY)
    tower = build_text_tower('ViT-H-14', seed=3, **TINY)
    fresh = encode_prompts(tower, open_clip.get_tokenizer('ViT-H-14'), module.prompts)
    assert torch.equal(module(), fresh)
    assert not module.embeddings.requires_grad and list(module.parameters()) == []
    assert 'embeddings' in module.state_dict()  # checkpoints carry the training embeddings
    # distinct prompts give distinct embeddings; another seed gives another tower
    assert torch.cdist(fresh, fresh).add(torch.eye(5)).min() > 0
    assert not torch.equal(OpenCLIPClassEmbeddings(NAMES, seed=4, **TINY)(), module())


def test_seeded_tower_leaves_the_global_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_text_tower('ViT-H-14', seed=5, **TINY)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize('layout', ['clip', 'custom_text_clip'])
def test_loads_the_text_tower_of_a_local_clip_checkpoint(tmp_path, layout):
    source = build_text_tower('ViT-H-14', seed=7, **TINY)
    state = dict(source.state_dict())
    if layout == 'custom_text_clip':
        state = {f'text.{key}': value for key, value in state.items()}
    state.update({'visual.conv1.weight': torch.zeros(2, 3, 1, 1), 'logit_scale': torch.ones(())})
    path = tmp_path / 'open_clip_model.bin'
    torch.save(state, path)
    assert set(text_tower_state_dict(state)) == set(source.state_dict())

    module = OpenCLIPClassEmbeddings(NAMES, pretrained=str(path), seed=0, **TINY)
    fresh = encode_prompts(source, open_clip.get_tokenizer('ViT-H-14'), module.prompts)
    assert torch.equal(module(), fresh)


def test_checkpoint_of_another_architecture_is_rejected(tmp_path):
    path = tmp_path / 'other.bin'
    torch.save(build_text_tower('ViT-H-14', text_cfg=dict(width=8, heads=2, layers=1),
                                embed_dim=8).state_dict(), path)
    with pytest.raises(RuntimeError, match='does not fit'):
        OpenCLIPClassEmbeddings(NAMES, pretrained=str(path), **TINY)


def test_missing_file_and_unknown_tag_name_the_fix():
    with pytest.raises(OpenCLIPWeightsNotFoundError, match=r"missing/clip\.bin.*laion2b"):
        OpenCLIPClassEmbeddings(NAMES, pretrained='missing/clip.bin', **TINY)


def test_failed_download_names_the_tag_and_the_fix(monkeypatch):

    def offline(cfg, **kwargs):
        raise OSError('no network')

    monkeypatch.setattr(open_clip, 'download_pretrained', offline)
    with pytest.raises(OpenCLIPWeightsNotFoundError) as error:
        OpenCLIPClassEmbeddings(NAMES, pretrained='laion2b_s32b_b79k', **TINY)
    message = str(error.value)
    assert 'laion2b_s32b_b79k' in message and 'no network' in message
    assert 'huggingface.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K' in message
    assert 'pretrained="<path to the file>"' in message


def test_unknown_architecture_and_empty_names_are_rejected():
    with pytest.raises(KeyError, match='ViT-Q-99'):
        OpenCLIPClassEmbeddings(NAMES, model_name='ViT-Q-99')
    with pytest.raises(ValueError, match='class_names is empty'):
        OpenCLIPClassEmbeddings([], **TINY)


def test_vit_h_14_text_tower_builds_with_random_weights():
    # The real config's tower (about 5 s, 1.4 GB); the full model build is in test_lc_msm.py.
    tower = build_text_tower('ViT-H-14')
    assert sum(p.numel() for p in tower.parameters()) == 354_032_640
    assert tower.width == 1024 and tower.output_dim == 1024
    assert len(tower.transformer.resblocks) == 24


def test_package_import_does_not_load_open_clip():
    """open_clip is loaded by the first text tower, not by ``import mmseg_diffuda``."""
    code = 'import sys, mmseg_diffuda; print("open_clip" in sys.modules)'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == 'False'
