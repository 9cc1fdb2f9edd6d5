"""GTA5 converter (tools/dataset_converters/gta5.py) and GTA5Dataset on a hand-made tree."""
import numpy as np
import pytest
from mmseg.datasets import CityscapesDataset

from mmseg_diffuda.datasets import GTA5Dataset

from .data_trees import (GTA5_SAMPLES_WITH_CLASS, GTA5_STATS, gta5_train_ids, load_converter,
                         read_json, read_png, write_palette_label)

PIPELINE = [dict(type='LoadImage'), dict(type='LoadSegLabel', num_classes=19),
            dict(type='PackSegInputs')]


def test_converter_writes_train_ids_and_hand_counted_stats(converted_gta5_root):
    for name, expected in gta5_train_ids().items():
        out = read_png(converted_gta5_root / 'labels' / f'{name}_labelTrainIds.png')
        np.testing.assert_array_equal(out, expected)
    assert read_json(converted_gta5_root / 'sample_class_stats.json') == GTA5_STATS
    assert read_json(converted_gta5_root / 'samples_with_class.json') == GTA5_SAMPLES_WITH_CLASS


def test_converting_twice_gives_the_same_tree(converted_gta5_root):
    def outputs():
        return {p.name: p.read_bytes() for p in converted_gta5_root.rglob('*_labelTrainIds.png')}

    first = outputs()
    load_converter('gta5').main([str(converted_gta5_root), '--nproc', '2'])  # multiprocess path
    second = outputs()
    assert second == first
    assert len(first) == 3  # no *_labelTrainIds_labelTrainIds.png
    assert read_json(converted_gta5_root / 'sample_class_stats.json') == GTA5_STATS


def test_out_dir_receives_labels_and_stats(gta5_root, tmp_path):
    out = tmp_path / 'converted'
    load_converter('gta5').main([str(gta5_root), '--nproc', '1', '--out-dir', str(out)])
    assert read_json(out / 'sample_class_stats.json') == GTA5_STATS
    np.testing.assert_array_equal(read_png(out / 'labels' / '00001_labelTrainIds.png'),
                                  gta5_train_ids()['00001'])
    assert not list(gta5_root.rglob('*_labelTrainIds.png'))
    assert not (gta5_root / 'sample_class_stats.json').exists()


def test_converter_rejects_label_ids_outside_the_table(gta5_root):
    ids = np.full((8, 16), 7)
    ids[0, 0] = 200
    ids[1, 1] = 34
    write_palette_label(gta5_root / 'labels' / '00001.png', ids)
    with pytest.raises(ValueError, match=r'00001\.png.*\[34, 200\]'):
        load_converter('gta5').main([str(gta5_root), '--nproc', '1'])


def test_converter_rejects_rgb_labels(gta5_root):
    from PIL import Image
    Image.new('RGB', (16, 8)).save(gta5_root / 'labels' / '00002.png')
    with pytest.raises(ValueError, match=r"00002\.png.*mode 'RGB'"):
        load_converter('gta5').main([str(gta5_root), '--nproc', '1'])


def test_converter_missing_root_names_layout_and_download(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'(?s)gta.*labels.*images/00001\.png.*'
                       r'download\.visinf\.tu-darmstadt\.de'):
        load_converter('gta5').main([str(tmp_path / 'gta'), '--nproc', '1'])


def test_dataset_loads_converted_tree(converted_gta5_root):
    dataset = GTA5Dataset(data_root=str(converted_gta5_root), pipeline=PIPELINE,
                          serialize_data=False)
    assert len(dataset) == 3
    assert dataset.metainfo['classes'] == CityscapesDataset.METAINFO['classes']
    assert dataset.metainfo['palette'] == CityscapesDataset.METAINFO['palette']
    sample = dataset[1]
    assert sample['inputs'].shape == (3, 8, 16)
    np.testing.assert_array_equal(sample['data_samples'].gt_sem_seg.data[0].numpy(),
                                  gta5_train_ids()['00001'])


def test_dataset_missing_root_names_layout_and_converter(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'(?s)GTA5Dataset.*images.*does not exist.*'
                       r'download.*tools/dataset_converters/gta5\.py'):
        GTA5Dataset(data_root=str(tmp_path / 'nowhere'), pipeline=PIPELINE, serialize_data=False)


def test_dataset_without_converted_labels_names_the_converter(gta5_root):
    with pytest.raises(FileNotFoundError, match=r'3 of 3 trainId label maps are missing.*'
                       r'tools/dataset_converters/gta5\.py'):
        GTA5Dataset(data_root=str(gta5_root), pipeline=PIPELINE, serialize_data=False)


def test_dataset_with_empty_image_folder(converted_gta5_root):
    for image in (converted_gta5_root / 'images').iterdir():
        image.unlink()
    with pytest.raises(FileNotFoundError, match='no images found'):
        GTA5Dataset(data_root=str(converted_gta5_root), pipeline=PIPELINE, serialize_data=False)
