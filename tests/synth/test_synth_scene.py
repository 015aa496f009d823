"""Scene model: camera projection with hand-made numbers, and random sampling invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.synth.scene import (
    CameraSpec,
    DeskSpec,
    ItemSpec,
    sample_camera,
    sample_scene,
)


def test_look_at_straight_down_projects_known_points():
    cam = CameraSpec.look_at((80.0, 40.0, 200.0), (80.0, 40.0, 0.0), focal_px=1000.0, image_size=(1280, 720))
    px = cam.project(np.array([[80.0, 40.0, 0.0], [90.0, 40.0, 0.0], [80.0, 50.0, 0.0], [80.0, 40.0, 100.0]]))
    # principal point is the image centre in the pixel-corner convention
    assert px[0] == pytest.approx([640.0, 360.0], abs=1e-9)
    assert px[1] == pytest.approx([640.0 + 1000.0 * 10 / 200, 360.0], abs=1e-9)  # +x -> right
    assert px[2] == pytest.approx([640.0, 360.0 - 1000.0 * 10 / 200], abs=1e-9)  # +y (staff) -> up
    assert px[3] == pytest.approx([640.0, 360.0], abs=1e-9)  # on the optical axis
    assert cam.tilt_deg == pytest.approx(0.0, abs=1e-9)
    assert cam.center_cm == pytest.approx([80.0, 40.0, 200.0])


def test_oblique_camera_target_and_tilt():
    # 45 degrees from vertical, from the customer side (y < 0) looking toward +y.
    cam = CameraSpec.look_at((80.0, -160.0, 200.0), (80.0, 40.0, 0.0), focal_px=1200.0)
    assert cam.tilt_deg == pytest.approx(45.0)
    assert cam.project(np.array([[80.0, 40.0, 0.0]]))[0] == pytest.approx([640.0, 360.0], abs=1e-9)
    front, back = cam.project(np.array([[80.0, 0.0, 0.0], [80.0, 80.0, 0.0]]))
    assert front[1] > back[1]  # the customer edge is nearer, so lower in the image
    # depth of the target is its distance along the axis
    assert cam.to_camera(np.array([[80.0, 40.0, 0.0]]))[0] == pytest.approx([0, 0, 200 * math.sqrt(2)])


def test_scaled_camera_is_the_same_view():
    cam = CameraSpec.look_at((30.0, -100.0, 180.0), (70.0, 40.0, 0.0), 900.0, dist=(-0.1, 0.01, 0, 0, 0))
    half = cam.scaled((640, 360))
    p = np.array([[10.0, 5.0, 0.0], [150.0, 70.0, 20.0]])
    assert half.project(p) == pytest.approx(cam.project(p) / 2, abs=1e-9)


def test_camera_roundtrips_through_dict():
    cam = CameraSpec.look_at((30.0, -100.0, 180.0), (70.0, 40.0, 0.0), 900.0, dist=(-0.1, 0.01, 0, 0, 0))
    assert CameraSpec.from_dict(cam.to_dict()) == cam


@pytest.mark.parametrize("seed", range(12))
def test_sampled_camera_sees_the_whole_desk(seed):
    rng = np.random.default_rng(seed)
    desk = DeskSpec(width_cm=150.0, depth_cm=75.0)
    cam = sample_camera(rng, desk, tilt_deg_range=(0, 65), height_cm_range=(120, 300))
    assert 0.0 <= cam.tilt_deg <= 66.0
    assert 120.0 - 1e-6 <= cam.center_cm[2] <= 300.0 + 1e-6
    px = cam.project(desk.corners_cm)
    w, h = cam.image_size
    assert np.all(px[:, 0] > 0) and np.all(px[:, 0] < w) and np.all(px[:, 1] > 0) and np.all(px[:, 1] < h)


@pytest.mark.parametrize("seed", range(8))
def test_sampled_items_do_not_overlap(seed):
    scene = sample_scene(np.random.default_rng(seed))
    polys = [it.box_polygon_cm() for it in scene.items + scene.clutter]
    for i in range(len(polys)):
        for j in range(i + 1, len(polys)):
            assert not polys[i].intersects(polys[j])
    for it in scene.items:
        assert isinstance(it, ItemSpec)
        # every centre is on the desk (overhangs only over the front edge)
        assert 0 <= it.center_cm[0] <= scene.desk.width_cm and it.center_cm[1] <= scene.desk.depth_cm


def test_sample_scene_is_deterministic():
    a = sample_scene(np.random.default_rng(123))
    b = sample_scene(np.random.default_rng(123))
    assert a == b
