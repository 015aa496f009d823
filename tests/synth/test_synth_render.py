"""Renderer: ground truth boxes, occlusion, determinism and ray/projection consistency."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.synth.render import pixel_rays, render
from models.synth.scene import CameraSpec, DeskSpec, Effects, ItemSpec, LightSpec, Scene, sample_scene

SMALL = (320, 180)  # keep the tests fast


def _scene(items, dist=(0.0, 0.0, 0.0, 0.0, 0.0), effects=Effects()):
    cam = CameraSpec.look_at((80.0, -150.0, 200.0), (80.0, 40.0, 0.0), 1100.0, (1280, 720), dist=dist)
    return Scene(camera=cam, desk=DeskSpec(), items=tuple(items), light=LightSpec(), effects=effects)


def test_truth_boxes_and_corners():
    scene = _scene([ItemSpec("cup", (40.0, 30.0), (9.0, 7.5), 10.0, appearance_seed=1),
                    ItemSpec("keyboard", (100.0, 50.0), (44.0, 14.0), 3.0, appearance_seed=2)])
    r = render(scene, np.random.default_rng(0), image_size=SMALL)
    assert r.image.shape == (180, 320, 3) and r.image.dtype == np.uint8
    assert r.desk_corners_px == pytest.approx(scene.camera.scaled(SMALL).project(scene.desk.corners_cm))
    for i, t in enumerate(r.items_truth):
        assert t.visible_fraction == pytest.approx(1.0)  # nothing in front of them
        fx0, fy0, fx1, fy1 = t.bbox_full_px
        vx0, vy0, vx1, vy1 = t.bbox_visible_px
        assert fx0 <= vx0 < vx1 <= fx1 and fy0 <= vy0 < vy1 <= fy1
        # the pixels drawn for the item hug its projected box to within a pixel
        ys, xs = np.nonzero(r.id_buffer == i + 1)
        assert xs.min() == pytest.approx(fx0, abs=1.0) and xs.max() + 1 == pytest.approx(fx1, abs=1.0)
        assert ys.min() == pytest.approx(fy0, abs=1.0) and ys.max() + 1 == pytest.approx(fy1, abs=1.0)
        assert t.front_margin_cm == pytest.approx(min(y for _, y in t.footprint_cm))


def test_hidden_item_gets_a_smaller_visible_fraction():
    # The camera looks from the customer side (-y); a bag in front hides most of a cup behind it.
    cup = ItemSpec("cup", (95.0, 52.0), (8.0, 8.0), 10.0, appearance_seed=3, variant=1)
    bag = ItemSpec("bag", (80.0, 35.0), (35.0, 15.0), 28.0, appearance_seed=4)
    alone = render(_scene([cup]), image_size=SMALL).items_truth[0]
    both = render(_scene([cup, bag]), image_size=SMALL).items_truth
    hidden = both[0]
    assert alone.visible_fraction == pytest.approx(1.0)
    assert 0.0 < hidden.visible_fraction < 0.6
    assert hidden.bbox_full_px == pytest.approx(alone.bbox_full_px)  # full box ignores occlusion
    hx0, hy0, hx1, hy1 = hidden.bbox_visible_px
    ax0, ay0, ax1, ay1 = alone.bbox_visible_px
    assert (hx1 - hx0) * (hy1 - hy0) < (ax1 - ax0) * (ay1 - ay0)
    assert both[1].visible_fraction == pytest.approx(1.0, abs=0.01)  # edge pixels may tie
    # straight behind the bag: not visible at all
    gone = render(_scene([replace(cup, center_cm=(80.0, 52.0)), bag]), image_size=SMALL).items_truth[0]
    assert gone.visible_fraction == 0.0 and gone.bbox_visible_px is None and gone.bbox_full_px is not None


def test_render_is_deterministic():
    scene = sample_scene(np.random.default_rng(42), image_size=(1280, 720))
    a = render(scene, np.random.default_rng(7), image_size=SMALL)
    b = render(scene, np.random.default_rng(7), image_size=SMALL)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.id_buffer, b.id_buffer)
    assert a.items_truth == b.items_truth


def test_pixel_rays_invert_the_distorted_projection():
    cam = CameraSpec.look_at((80.0, -120.0, 180.0), (80.0, 40.0, 0.0), 700.0, SMALL,
                             dist=(-0.25, 0.05, 0.001, -0.0005, 0.0))
    rays = pixel_rays(cam)
    C = cam.center_cm
    rows, cols = np.mgrid[5:180:37, 7:320:41]
    r = rays[rows.ravel(), cols.ravel()].astype(np.float64)
    t = -C[2] / r[:, 2]  # hit the desk plane z = 0
    hits = C + t[:, None] * r
    px = cam.project(hits)
    expected = np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5])
    assert np.abs(px - expected).max() < 0.05


def test_distorted_render_keeps_boxes_consistent():
    scene = _scene([ItemSpec("monitor", (60.0, 50.0), (55.0, 20.0), 42.0, appearance_seed=5)],
                   dist=(-0.3, 0.06, 0.0, 0.0, 0.0))
    r = render(scene, image_size=SMALL)
    t = r.items_truth[0]
    ys, xs = np.nonzero(r.id_buffer == 1)
    assert xs.min() == pytest.approx(t.bbox_full_px[0], abs=1.0)
    assert xs.max() + 1 == pytest.approx(t.bbox_full_px[2], abs=1.0)
    assert ys.min() == pytest.approx(t.bbox_full_px[1], abs=1.0)


def test_effects_change_pixels_not_truth():
    scene = _scene([ItemSpec("telephone", (40.0, 30.0), (20.0, 18.0), 9.0, appearance_seed=6)],
                   effects=Effects(exposure=1.3, noise_sigma=4.0, blur_sigma_px=1.0, jpeg_quality=60, vignette=0.3))
    clean = render(scene, image_size=SMALL, effects=False)
    noisy = render(scene, image_size=SMALL)
    assert not np.array_equal(clean.image, noisy.image)
    assert clean.items_truth == noisy.items_truth
