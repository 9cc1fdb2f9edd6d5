"""MapillaryDataset: Mapillary v1.2 ids read as Cityscapes trainIds while loading."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from PIL import Image

import mmseg_diffuda  # noqa: F401
from mmseg_diffuda.datasets.mapillary import MapillaryDataset, mapillary_to_cityscapes_ids

init_default_scope('mmseg')


def test_id_table_by_hand():
    table = mapillary_to_cityscapes_ids()
    assert len(table) == 66
    # road, curb -> sidewalk, lane marking -> road, sign back -> traffic sign, on rails -> train,
    # bicyclist -> rider, street light -> pole, bird / ego vehicle / unlabeled -> ignored
    expected = {13: 0, 2: 1, 24: 0, 49: 7, 58: 16, 20: 12, 44: 5, 0: 255, 64: 255, 65: 255}
    assert {k: table[k] for k in expected} == expected
    assert sorted(set(table.values()) - {255}) == list(range(19))


def test_labels_are_mapped_on_load(tmp_path):
    (tmp_path / 'validation/images').mkdir(parents=True)
    (tmp_path / 'validation/v1.2/labels').mkdir(parents=True)
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(tmp_path / 'validation/images/k.jpg')
    raw = np.array([[13, 2, 49, 58, 0, 55]] * 4, np.uint8)
    Image.fromarray(raw).save(tmp_path / 'validation/v1.2/labels/k.png')
    dataset = MapillaryDataset(
        data_root=str(tmp_path),
        pipeline=[dict(type='LoadImage'), dict(type='LoadSegLabel', num_classes=19)])
    label = dataset[0]['gt_seg_map']
    assert label[0].tolist() == [0, 1, 7, 16, 255, 13]
    assert dataset.metainfo['classes'][13] == 'car'


def test_missing_folder_names_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match='v1.2/labels'):
        MapillaryDataset(data_root=str(tmp_path), pipeline=[])
