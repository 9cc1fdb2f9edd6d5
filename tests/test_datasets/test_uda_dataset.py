"""UDADataset: DAFormer pairing, source-only path, class check, RCS wiring and data loading."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import InfiniteSampler, pseudo_collate
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import DataLoader, Dataset

from mmseg_diffuda.datasets import RareClassSampler, UDADataset

# serialize_data=False: mmengine's serialisation runs gc.collect() (~0.5 s per dataset).
SOURCE_PIPELINE = [dict(type='LoadImage'), dict(type='LoadSegLabel', num_classes=19),
                   dict(type='PackSegInputs')]
TARGET_PIPELINE = [dict(type='LoadImage'), dict(type='PackSegInputs')]


def source_cfg(root):
    return dict(type='GTA5Dataset', data_root=str(root), pipeline=SOURCE_PIPELINE,
                serialize_data=False)


def target_cfg(root, **kwargs):
    return dict(type='CityscapesDataset', data_root=str(root),
                data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
                pipeline=TARGET_PIPELINE, serialize_data=False, **kwargs)


def name_of(packed: dict) -> str:
    return osp.basename(packed['data_samples'].img_path)


@pytest.fixture
def uda(converted_gta5_root, converted_cityscapes_root):
    return UDADataset(source=source_cfg(converted_gta5_root),
                      target=target_cfg(converted_cityscapes_root))


def test_length_and_pairing(uda):
    """Index i is source i; the target is uniform (seeded from torch's stream)."""
    assert len(uda.source) == 3 and len(uda.target) == 2
    assert len(uda) == 3
    sources = [f'0000{i}.png' for i in range(3)]
    targets = [name_of(uda.target[i]) for i in range(2)]
    torch.manual_seed(0)
    expected = [targets[int(np.random.default_rng(int(torch.randint(0, 2**62, (1, ))))
                            .integers(2))] for _ in range(60)]
    torch.manual_seed(0)
    seen = []
    for idx in range(60):
        sample = uda[idx % 3]
        assert set(sample) == {'source', 'target'}
        assert name_of(sample['source']) == sources[idx % 3]
        seen.append(name_of(sample['target']))
    assert seen == expected
    assert set(seen) == set(targets)  # both targets drawn in 60 tries (p of failure 2**-59)
    assert uda.metainfo['classes'] == uda.source.metainfo['classes']


def test_source_only_has_no_target_key(converted_gta5_root):
    dataset = UDADataset(source=source_cfg(converted_gta5_root))
    assert len(dataset) == 3
    assert set(dataset[2]) == {'source'}
    assert name_of(dataset[2]['source']) == '00002.png'


def test_class_mismatch_names_both_datasets(converted_gta5_root, converted_cityscapes_root):
    target = target_cfg(converted_cityscapes_root, metainfo=dict(classes=('road', 'sidewalk')))
    with pytest.raises(ValueError, match=r'source GTA5Dataset has 19 classes but target '
                       r'CityscapesDataset has 2 classes'):
        UDADataset(source=source_cfg(converted_gta5_root), target=target)


def test_rcs_draws_class_then_file_then_uniform_target(converted_gta5_root,
                                                       converted_cityscapes_root):
    rcs = dict(class_temp=1.0, min_pixels=4, min_crop_ratio=0.5)
    dataset = UDADataset(source=source_cfg(converted_gta5_root),
                         target=target_cfg(converted_cityscapes_root), rare_class_sampling=rcs)
    assert len(dataset) == 3
    # The same draws by hand: one generator per sample, seeded from torch's stream; the 8x16
    # images are not cropped, so the source pipeline draws no random numbers.
    targets = [name_of(dataset.target[i]) for i in range(2)]
    torch.manual_seed(3)
    seeds = torch.randint(0, 2**62, (8, ))
    torch.manual_seed(3)
    for seed in seeds.tolist():
        rng = np.random.default_rng(seed)
        cls = dataset.rcs.sample_class(rng)
        expected_source = osp.basename(dataset.rcs.sample_file(cls, rng)).replace(
            '_labelTrainIds', '')
        expected_target = targets[int(rng.integers(2))]
        sample = dataset[0]  # the index is ignored under RCS
        assert name_of(sample['source']) == expected_source
        assert name_of(sample['target']) == expected_target
        assert (sample['source']['data_samples'].gt_sem_seg.data == cls).sum() > 4 * 0.5


def test_rcs_is_reproducible_under_torch_seeding(converted_gta5_root):
    dataset = UDADataset(source=source_cfg(converted_gta5_root),
                         rare_class_sampling=dict(class_temp=1.0, min_pixels=4))

    def draws(seed):
        torch.manual_seed(seed)
        return [name_of(dataset[0]['source']) for _ in range(12)]

    assert draws(0) == draws(0)
    assert draws(0) != draws(5)


def test_rcs_reads_the_source_statistics(converted_gta5_root):
    # GTA5 tree totals: 0 -> 148, 13 -> 32, 8/10/11 -> 64, 18 -> 8 (380 px).
    dataset = UDADataset(source=source_cfg(converted_gta5_root),
                         rare_class_sampling=dict(class_temp=0.01, min_pixels=4))
    assert dataset.rcs.classes.tolist()[0] == 18 and dataset.rcs.classes.tolist()[-1] == 0
    assert dataset.rcs.files_with_class[18] == ['labels/00001_labelTrainIds.png']


def test_missing_rcs_stats_names_the_gta5_converter(converted_gta5_root):
    (converted_gta5_root / 'sample_class_stats.json').unlink()
    with pytest.raises(FileNotFoundError, match=r'sample_class_stats\.json.*'
                       r'python tools/dataset_converters/gta5\.py .*gta'):
        UDADataset(source=source_cfg(converted_gta5_root),
                   rare_class_sampling=dict(class_temp=0.01, min_pixels=4))


class CropSequence(Dataset):
    """One-image source whose successive loads hold ``counts[k]`` pixels of class 1."""
    metainfo = dict(classes=('a', 'b'), label_map=None)

    def __init__(self, data_root, counts):
        self.data_root = data_root
        self.counts = counts
        self.loads = 0

    def __len__(self):
        return 1

    def get_data_info(self, idx):
        return dict(seg_map_path=osp.join(self.data_root, 'x.png'))

    def __getitem__(self, idx):
        gt = torch.zeros(1, 10, 10, dtype=torch.long)
        gt.view(-1)[:self.counts[min(self.loads, len(self.counts) - 1)]] = 1
        self.loads += 1
        return dict(data_samples=SegDataSample(gt_sem_seg=PixelData(data=gt)))


@pytest.mark.parametrize('counts, loads', [([6], 1), ([0, 3, 6, 0], 3), ([0], 11)])
def test_recrops_until_the_crop_holds_the_class(tmp_path, counts, loads):
    # Class 1 is rare (20 of 100 px) -> drawn with probability 1 - e^-60 at T=0.01; crops need
    # more than 10 * 0.5 = 5 px; after 10 re-crops the last one is kept (official code).
    (tmp_path / 'sample_class_stats.json').write_text(
        json.dumps([{'file': 'x.png', '0': 80, '1': 20}]))
    source = CropSequence(str(tmp_path), counts)
    dataset = UDADataset(source=source, rare_class_sampling=dict(
        class_temp=0.01, min_pixels=10, min_crop_ratio=0.5))
    dataset[0]
    assert source.loads == loads
    assert RareClassSampler.MAX_RECROPS == 10


def test_batches_with_infinite_sampler_and_pseudo_collate(uda):
    loader = DataLoader(uda, batch_size=2, sampler=InfiniteSampler(uda, shuffle=True, seed=0),
                        collate_fn=pseudo_collate, num_workers=0)
    batch = next(iter(loader))
    assert set(batch) == {'source', 'target'}
    for domain in ('source', 'target'):
        assert set(batch[domain]) == {'inputs', 'data_samples'}
        assert len(batch[domain]['inputs']) == 2
        assert batch[domain]['inputs'][0].shape == (3, 8, 16)
    assert 'gt_sem_seg' in batch['source']['data_samples'][0]


def test_rcs_in_dataloader_workers(converted_gta5_root, converted_cityscapes_root):
    dataset = UDADataset(source=source_cfg(converted_gta5_root),
                         target=target_cfg(converted_cityscapes_root),
                         rare_class_sampling=dict(class_temp=1.0, min_pixels=4))
    loader = DataLoader(dataset, batch_size=2, sampler=InfiniteSampler(dataset, seed=0),
                        collate_fn=pseudo_collate, num_workers=2)
    batches = [batch for _, batch in zip(range(2), loader)]
    assert all(len(b['source']['inputs']) == 2 and len(b['target']['inputs']) == 2
               for b in batches)
