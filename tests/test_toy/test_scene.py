"""Scene geometry: the ray caster, ground depth and label/depth consistency."""
import numpy as np
import pytest

from mmseg_diffuda.toy import CITYSCAPES, DELIVER, GTA5, render_depth_like, render_rgb, sample_scene
from mmseg_diffuda.toy.geometry import Camera, Facing, Primitive
from mmseg_diffuda.toy.labels import ID
from mmseg_diffuda.toy.scene import Raster
from mmseg_diffuda.toy.shapes import Shape


def _camera(yaw=0.0):
    return Camera(fx=100.0, fy=100.0, u0=50.0, v0=25.0, height=1.5, baseline=0.2, yaw=yaw)


def test_frontal_rectangle_projection_by_hand():
    raster = Raster(_camera(), 50, 100)
    # 2 m wide, 2 m tall wall at 10 m:
    # columns 50 + 100 * [-1, 1] / 10, rows 25 + 100 * (1.5 - [2, 0]) / 10
    raster.cast_primitive(Primitive(ID['wall'], Shape.WALL, False, 10.0, -1.0, 2.0, 0.0, 2.0, 5))
    rows, cols = np.nonzero(raster.label == ID['wall'])
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (20, 40, 40, 60)
    assert np.all(raster.depth[raster.label == ID['wall']] == 10.0)
    assert np.all(raster.facing[raster.label == ID['wall']] == Facing.FRONT)


def test_lateral_rectangle_depth_and_occlusion():
    raster = Raster(_camera(), 50, 100)
    # facade on the right at X = 4 m from Z = 5 to 40 m, 10 m tall
    raster.cast_primitive(Primitive(ID['building'], Shape.WALL, True, 4.0, 5.0, 35.0, 0.0, 10.0, 3))
    # column 90 looks along X/Z = 0.4 -> meets X = 4 at depth 10 m
    assert raster.label[25, 90] == ID['building'] and raster.depth[25, 90] == pytest.approx(10.0)
    # a nearer car in front of it wins the z-test, a farther one does not
    raster.cast_primitive(Primitive(ID['car'], Shape.WALL, False, 8.0, 2.5, 1.2, 0.0, 2.0, 4))
    raster.cast_primitive(Primitive(ID['bus'], Shape.WALL, False, 30.0, 10.0, 3.0, 0.0, 3.0, 6))
    assert raster.label[25, 90] == ID['car'] and raster.depth[25, 90] == pytest.approx(8.0)
    assert not (raster.label == ID['bus']).any()


def test_ground_depth_follows_the_perspective_rows():
    scene = sample_scene(np.random.default_rng(3), 96, 192, GTA5.layout)
    cam = scene.camera
    ground = scene.facing == Facing.GROUND
    rows = np.nonzero(ground)[0]
    assert rows.size > 0
    i, j = rows[-1], np.nonzero(ground[rows[-1]])[0][0]
    assert scene.depth[i, j] == pytest.approx(cam.fy * cam.height / (i - cam.v0), rel=1e-5)
    expected = cam.fy * cam.height / (np.arange(96)[:, None] - cam.v0)
    np.testing.assert_allclose(scene.depth[ground], np.broadcast_to(expected, ground.shape)[ground],
                               rtol=1e-5)


@pytest.mark.parametrize('spec', [GTA5, CITYSCAPES, DELIVER], ids=lambda s: s.name)
def test_scene_maps_are_consistent(spec):
    scene = sample_scene(np.random.default_rng(11), 48, 96, spec.layout)
    sky = scene.label == ID['sky']
    np.testing.assert_array_equal(sky, ~np.isfinite(scene.depth))
    np.testing.assert_array_equal(sky, scene.instance < 0)
    assert set(np.unique(scene.label)) <= set(ID.values())
    assert np.all(scene.depth[~sky] > 0)
    drawn = ~sky
    np.testing.assert_array_equal(scene.instance_labels[scene.instance[drawn]], scene.label[drawn])
    assert ((scene.label == ID['ego vehicle']).any()) == spec.layout.ego_hood
    rgb = render_rgb(scene, spec.style, np.random.default_rng(0))
    assert rgb.shape == (48, 96, 3) and rgb.dtype == np.uint8


def test_depth_like_image_darker_near_than_far():
    scene = sample_scene(np.random.default_rng(5), 96, 192, DELIVER.layout)
    grey = render_depth_like(scene, np.random.default_rng(0)).astype(np.float64)
    assert grey.ndim == 2
    near = scene.depth < 10
    mid = (scene.depth > 20) & (scene.depth < 100)
    sky = ~np.isfinite(scene.depth)
    assert near.any() and mid.any() and sky.any()
    assert grey[near].mean() < grey[mid].mean() < grey[sky].mean()
    assert grey[sky].mean(
    ) > 253 and grey[sky].min() >= 240  # 255 up to the sensor noise (1.5 levels)


def test_same_rng_state_gives_same_scene():
    a = sample_scene(np.random.default_rng(7), 32, 64, CITYSCAPES.layout)
    b = sample_scene(np.random.default_rng(7), 32, 64, CITYSCAPES.layout)
    c = sample_scene(np.random.default_rng(8), 32, 64, CITYSCAPES.layout)
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert not np.array_equal(a.depth, c.depth)
