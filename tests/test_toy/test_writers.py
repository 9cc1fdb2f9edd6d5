"""On-disk encodings of the toy writers (hand-computed values)."""
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_diffuda.toy import camera_dict, deliver_semantic, encode_depth_like, encode_disparity
from mmseg_diffuda.toy.geometry import Camera
from mmseg_diffuda.toy.writers import write_camera_json, write_gta_label, write_grey, write_rgb


def test_disparity_encoding_by_hand():
    depth = np.array([[10.0, 7.0], [np.inf, 0.5]], dtype=np.float32)
    encoded = encode_disparity(depth, baseline=0.2, fx=200.0)
    assert encoded.dtype == np.uint16
    # d = 0.2 * 200 / 10 = 4 px -> 4 * 256 + 1
    assert encoded[0, 0] == 1025
    # d = 40 / 7 = 5.7142857 px -> round(1462.857) + 1 = 1464
    assert encoded[0, 1] == 1464
    # sky: invalid
    assert encoded[1, 0] == 0
    # d = 80 px -> 20481
    assert encoded[1, 1] == 20481
    decoded = (encoded[0, 1].astype(np.float64) - 1) / 256
    assert abs(decoded - 40 / 7) <= 1 / 512


def test_disparity_overflow_is_an_error():
    with pytest.raises(ValueError, match='16-bit'):
        encode_disparity(np.array([[0.01]]), baseline=0.2, fx=2000.0)


def test_disparity_png_round_trip(tmp_path):
    encoded = encode_disparity(np.array([[5.0, np.inf]]), baseline=0.209313, fx=212.0)
    write_grey(tmp_path / 'd.png', encoded)
    back = cv2.imread(str(tmp_path / 'd.png'), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, encoded)


def test_gta_label_is_palette_png(tmp_path):
    ids = np.array([[7, 26], [23, 0]], dtype=np.uint8)
    write_gta_label(tmp_path / 'l.png', ids)
    image = Image.open(tmp_path / 'l.png')
    assert image.mode == 'P'
    np.testing.assert_array_equal(np.array(image), ids)
    palette = np.array(image.getpalette()).reshape(-1, 3)
    assert tuple(palette[7]) == (128, 64, 128) and tuple(palette[26]) == (0, 0, 142)


def test_deliver_semantic_crafted_case(tmp_path):
    # road with a lane marking, car / rider, sky
    labels = np.array([[7, 26], [25, 23]], dtype=np.uint8)
    marks = np.array([[1, 0], [0, 0]], dtype=np.uint8)
    rgb = deliver_semantic(labels, marks)
    # RoadLine is index 5 -> 6; Cars 9 -> 10; rider -> Pedestrian 3 -> 4; Sky 12 -> 13
    np.testing.assert_array_equal(rgb[..., 0], [[6, 10], [4, 13]])
    assert not rgb[..., 1:].any()
    write_rgb(tmp_path / 's.png', rgb)
    bgr = cv2.imread(str(tmp_path / 's.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(bgr[..., 2], [[6, 10], [4, 13]])  # R is channel 2 in OpenCV
    assert not bgr[..., :2].any()
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / 's.png'))[..., 0], rgb[..., 0])


def test_rgb_writer_keeps_channel_order(tmp_path):
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # red
    write_rgb(tmp_path / 'x.png', rgb)
    assert tuple(np.array(Image.open(tmp_path / 'x.png'))[0, 0]) == (200, 0, 0)


def test_camera_json_structure(tmp_path):
    cam = Camera(fx=212.16, fy=212.16, u0=95.5, v0=41.2, height=1.22, baseline=0.209313, yaw=0.01)
    write_camera_json(tmp_path / 'c.json', cam)
    data = json.loads((tmp_path / 'c.json').read_text())
    assert data == camera_dict(cam)
    assert set(data['extrinsic']) == {'baseline', 'pitch', 'roll', 'x', 'y', 'yaw', 'z'}
    assert data['intrinsic'] == {'fx': 212.16, 'fy': 212.16, 'u0': 95.5, 'v0': 41.2}
    assert data['extrinsic']['baseline'] == 0.209313 and data['extrinsic']['z'] == 1.22


def test_depth_like_encoding_is_monotonic():
    depth = np.array([0.5, 1.0, 2.0, 10.0, 100.0, 1000.0, 5000.0, np.inf], dtype=np.float32)
    grey = encode_depth_like(depth)
    assert np.all(np.diff(grey) >= 0)
    assert np.all(np.diff(grey[1:6]) > 0)  # strictly increasing between near and far
    assert grey[1] == 0.0 and grey[-1] == 255.0
    # log scale: 10 m is a third of the way from 1 m to 1000 m
    assert grey[3] == pytest.approx(85.0, abs=1e-3)
