"""Night-time checks on constructed frames: each failure is detected, measured, and explained;
normal frames (items moved about, a dimmer hall, sensor noise, a tiny wobble) pass."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.camera import load_camera
from inspector.batch.quality import Reference, _gradients, assess, desk_corners_px, steady_shift
from inspector.batch.site import QualitySpec
from tests.batch import scenes as S

SIZE = (640, 360)
SPEC = QualitySpec()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    cam = S.scene_camera("window-01", SIZE)
    camera = load_camera(cam.camera_file(tmp_path_factory.mktemp("q") / "window-01.yaml"))
    reference_image = S.render(cam)
    return cam, camera, reference_image, Reference.build(reference_image, camera)


def _jpeg(image):
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1], cv2.IMREAD_COLOR)


def _ok_frames(cam, reference_image):
    moved_items = dict(S.ITEMS, cup=((60, 10), (8, 8), 10, (200, 200, 230)), bag=((20, 50), (35, 15), 28, (20, 90, 20)))
    moved_items.pop("keyboard")
    return {
        "same scene, new noise": S.sensor_noise(reference_image, 1, 6.0),
        "items moved about": S.render(cam, moved_items),
        "desk cleared": S.render(cam, {}),
        "hall half as bright": S.darken(reference_image, 0.5),
        "a 1 px wobble": S.bump(reference_image, 1, 0),
    }


def test_normal_frames_pass_every_check(scene):
    cam, camera, reference_image, reference = scene
    for name, image in _ok_frames(cam, reference_image).items():
        verdict = assess(_jpeg(image), camera, SPEC, reference)
        assert verdict.status == "ok", (name, verdict)
        assert verdict.metrics["shift_px"] < 3 and verdict.metrics["hidden_share"] < SPEC.max_hidden_share, name


def test_too_dark_is_cannot_judge_with_the_measured_luminance(scene):
    _, camera, reference_image, reference = scene
    verdict = assess(_jpeg(S.darken(reference_image, 0.1)), camera, SPEC, reference)
    assert verdict.status == "cannot_judge"
    assert 10 < verdict.metrics["luminance"] < SPEC.min_luminance
    assert f"mean luminance {verdict.metrics['luminance']:.1f}" in verdict.reason and "minimum 35" in verdict.reason


def test_too_blurred_is_cannot_judge_relative_to_the_reference(scene):
    _, camera, reference_image, reference = scene
    verdict = assess(_jpeg(S.blur(reference_image, 2.5)), camera, SPEC, reference)
    assert verdict.status == "cannot_judge" and verdict.metrics["sharpness_ratio"] < SPEC.min_sharpness_ratio
    assert "too blurred" in verdict.reason and f"{verdict.metrics['sharpness']:.1f}" in verdict.reason
    # without a reference only the absolute limit applies: a heavy blur still fails it
    alone = assess(_jpeg(S.blur(reference_image, 8.0)), camera, SPEC, None)
    assert alone.status == "cannot_judge" and alone.metrics["sharpness"] < SPEC.min_sharpness


@pytest.mark.parametrize("dx, dy, angle_deg", [(14, 5, 0.0), (-6, 20, 1.0), (40, -10, 3.0)])
def test_a_bumped_camera_is_camera_moved_with_how_far_it_moved(scene, dx, dy, angle_deg):
    _, camera, reference_image, reference = scene
    verdict = assess(_jpeg(S.bump(reference_image, dx, dy, angle_deg)), camera, SPEC, reference)
    # the same transform applied to the desk corners, exactly
    M = cv2.getRotationMatrix2D((SIZE[0] / 2, SIZE[1] / 2), angle_deg, 1.0)
    M[:, 2] += (dx, dy)
    corners = desk_corners_px(camera)
    moved = corners @ M[:, :2].T + M[:, 2]
    expected_px = float(np.max(np.linalg.norm(moved - corners, axis=1)))
    assert verdict.status == "camera_moved"
    assert verdict.metrics["shift_px"] == pytest.approx(expected_px, abs=1.5)
    assert verdict.metrics["shift_cm"] > 1.0
    assert f"shifted {verdict.metrics['shift_px']:.1f} px" in verdict.reason and "maximum 12 px" in verdict.reason


def test_a_view_that_no_longer_matches_the_reference_is_camera_moved(scene):
    _, camera, reference_image, reference = scene
    elsewhere = S.render(S.scene_camera("other", SIZE), {}, seed=9)[::-1, ::-1].copy()  # pointing somewhere else
    verdict = assess(_jpeg(elsewhere), camera, SPEC, reference)
    assert verdict.status == "camera_moved" and verdict.metrics["matches"] < SPEC.min_matches
    assert "camera moved" in verdict.reason


def test_in_a_bare_hall_the_desk_outline_tells_whether_the_camera_moved(scene):
    cam, camera, _, _ = scene
    bare = S.render(cam, plain=True)
    reference = Reference.build(bare, camera)
    tidy = dict(S.ITEMS, cup=((60, 10), (8, 8), 10, (200, 200, 230)))
    still = assess(_jpeg(S.sensor_noise(S.render(cam, tidy, plain=True), 2)), camera, SPEC, reference)
    assert still.status == "ok", still
    assert reference.static_mask.any() and still.metrics["matches"] < SPEC.min_matches  # nothing fixed to match
    for dx, dy in ((16, 0), (0, 14), (15, 8)):
        moved = assess(_jpeg(S.bump(bare, dx, dy)), camera, SPEC, reference)
        assert moved.status == "camera_moved", (dx, dy, moved)
        # measured from where the outline is found (translation; 2 full-size px per working pixel)
        assert moved.metrics["shift_px"] == pytest.approx(float(np.hypot(dx, dy)), abs=2.5)
        assert moved.metrics["outline_found"] > moved.metrics["outline_in_place"]
        assert f"the desk outline is {moved.metrics['shift_px']:.1f} px from where it was calibrated" in moved.reason


def test_a_person_in_front_of_the_desk_is_occluded_and_a_passer_by_at_the_side_is_not(scene):
    cam, camera, reference_image, reference = scene
    verdict = assess(_jpeg(S.person_in_front(cam, reference_image, 0.7)), camera, SPEC, reference)
    assert verdict.status == "occluded"
    assert verdict.metrics["hidden_share"] > 0.6
    assert f"{verdict.metrics['hidden_share']:.0%} of the desk top" in verdict.reason
    narrow = assess(_jpeg(S.person_in_front(cam, reference_image, 0.25)), camera, SPEC, reference)
    assert narrow.status == "ok" and 0.1 < narrow.metrics["hidden_share"] < SPEC.max_hidden_share


def test_without_a_reference_frame_only_light_and_sharpness_are_checked(scene):
    _, camera, reference_image, _ = scene
    verdict = assess(_jpeg(S.bump(reference_image, 40, 0)), camera, SPEC, None)
    assert verdict.status == "ok" and set(verdict.metrics) == {"luminance", "sharpness"}
    assert assess(S.darken(reference_image, 0.05), camera, QualitySpec(enabled=False), None).status == "ok"


def test_limits_come_from_the_site_file(scene):
    _, camera, reference_image, reference = scene
    bumped = _jpeg(S.bump(reference_image, 14, 5))
    assert assess(bumped, camera, QualitySpec(max_shift_px=40), reference).status == "ok"
    dim = _jpeg(S.darken(reference_image, 0.5))
    assert assess(dim, camera, QualitySpec(min_luminance=100), reference).status == "cannot_judge"


def _steady(reference, image):
    return steady_shift(reference, _gradients(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)))


def test_a_steady_camera_is_recognised_cheaply_and_anything_else_gets_the_full_check(scene):
    cam, camera, reference_image, reference = scene
    frame = _jpeg(S.sensor_noise(reference_image, 3, 6.0))
    shift_px, response = _steady(reference, frame)
    assert shift_px < 0.2 and response > 0.9
    verdict = assess(frame, camera, SPEC, reference)
    assert verdict.status == "ok" and verdict.metrics["steady_zncc"] == pytest.approx(response, abs=1e-3)
    assert "matches" not in verdict.metrics  # no feature matching was needed
    # a 2 px bump, a 0.5 degree turn in place, a 1% zoom: each half of the hall moves, so the
    # feature matching measures it (all small enough to judge the frame after aligning it)
    zoom = cv2.warpAffine(reference_image, cv2.getRotationMatrix2D((SIZE[0] / 2, SIZE[1] / 2), 0.0, 1.01), SIZE,
                          borderMode=cv2.BORDER_REPLICATE)
    for name, image in {"bump": S.bump(reference_image, 2, 0), "turn": S.bump(reference_image, 0, 0, 0.5), "zoom": zoom}.items():
        assert _steady(reference, _jpeg(image)) is None, name
        verdict = assess(_jpeg(image), camera, SPEC, reference)
        assert verdict.status == "ok" and "matches" in verdict.metrics and 0.5 < verdict.metrics["shift_px"] < SPEC.max_shift_px, (name, verdict)


def test_a_camera_turned_in_place_is_camera_moved(scene):
    _, camera, reference_image, reference = scene
    verdict = assess(_jpeg(S.bump(reference_image, 0, 0, 4.0)), camera, SPEC, reference)
    M = cv2.getRotationMatrix2D((SIZE[0] / 2, SIZE[1] / 2), 4.0, 1.0)
    corners = desk_corners_px(camera)
    expected_px = float(np.max(np.linalg.norm(corners @ M[:, :2].T + M[:, 2] - corners, axis=1)))
    assert verdict.status == "camera_moved" and verdict.metrics["shift_px"] == pytest.approx(expected_px, abs=1.5)
