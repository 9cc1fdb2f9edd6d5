"""The demo's picture: target image, ground truth and each run's prediction in the palette."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmseg_diffuda.toy import generate_toy_dataset
from mmseg_diffuda.toy.prediction_figure import prediction_figure

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/madm/madm_tiny_toy-rgb2depth.py')


def test_figure_rows_and_tiles(tmp_path):
    import runpy
    root = tmp_path / 'toy'
    generate_toy_dataset(root, num_source=0, num_target_train=0, num_target_val=0,
                         num_deliver_train=0, num_deliver_test=5)  # one per condition
    convert = runpy.run_path(osp.join(REPO, 'tools/dataset_converters/deliver.py'),
                             run_name='converter')['main']
    convert([str(root / 'deliver'), '--nproc', '1'])
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.data_root = str(root / 'deliver')
    preds = {}
    for name, value in (('run a', 0), ('run b', 3)):
        folder = tmp_path / name.replace(' ', '_')
        folder.mkdir()
        for png in sorted((root / 'deliver' / 'depth').rglob('*.png')):
            cv2.imwrite(str(folder / png.name), np.full((96, 192), value, np.uint8))
        preds[name] = str(folder)
    out = tmp_path / 'fig.png'
    figure = prediction_figure(cfg, preds, str(out), num_images=2)
    assert out.is_file()
    # a header, then 2 rows of 4 tiles (image, ground truth, 2 predictions) with 2-px borders
    assert figure.shape == (18 + 2 * 100, 4 * 196, 3)
    from mmseg.registry import DATASETS
    palette = DATASETS.get(cfg.test_dataloader.dataset.type).METAINFO['palette']
    assert figure[18 + 50, 2 * 196 + 98].tolist() == list(palette[0])
    assert figure[18 + 50, 3 * 196 + 98].tolist() == list(palette[3])
    with pytest.raises(FileNotFoundError, match='--out'):
        prediction_figure(cfg, {'missing': str(tmp_path / 'nothing')}, str(out), 1)
