import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.camera import CameraFile, fit_camera
from calibration.fit import check_correspondences, estimate_focal_px, fit_homography
from inspector.errors import CalibrationError

from .conftest import IMAGE_SIZE, desk_corner_pairs, look_at, project


def test_four_corners_give_exact_homography_round_trip(oblique):
    camera, _ = oblique
    desk_points = np.array([[0, 0], [160, 0], [80, 40], [12.5, 77.25], [160, 80]])
    back = camera.image_to_desk(camera.desk_to_image(desk_points))
    np.testing.assert_allclose(back, desk_points, atol=1e-9)
    assert camera.reprojection_error_px == pytest.approx(0.0, abs=1e-9)


def test_focal_length_and_pose_recovered_from_plane_homography(oblique):
    camera, (K, rvec, tvec) = oblique
    pose = camera.spec.fit.pose
    assert pose.focal_source == "estimated"
    assert pose.K[0][0] == pytest.approx(900.0, rel=1e-6)
    np.testing.assert_allclose(camera.camera_center_cm, [80, -90, 180], atol=1e-4)
    assert pose.camera_height_cm == pytest.approx(180.0, abs=1e-3)
    # 180 up, 130 along: atan(130/180)
    assert pose.tilt_deg == pytest.approx(math.degrees(math.atan2(130, 180)), abs=1e-3)


def test_projects_points_above_the_desk_like_the_true_camera(oblique):
    camera, (K, rvec, tvec) = oblique
    points = np.array([[10, 10, 0], [80, 40, 12], [150, 70, 45]], float)
    np.testing.assert_allclose(camera.project(points), project(K, rvec, tvec, points), atol=1e-6)
    # and back down at the right height
    np.testing.assert_allclose(camera.image_to_desk(project(K, rvec, tvec, points[1:2]), z_cm=12), [[80, 40]], atol=1e-6)


def test_overhead_view_falls_back_to_an_assumed_focal_length():
    K, rvec, tvec = look_at([80, 40, 200], [80, 40, 0], 800.0)
    spec = CameraFile(camera_id="top", image_size=IMAGE_SIZE, desk={"width_cm": 160, "depth_cm": 80},
                      points=desk_corner_pairs(K, rvec, tvec))
    camera = fit_camera(spec)
    assert camera.spec.fit.pose.focal_source == "assumed"
    assert camera.spec.fit.pose.tilt_deg == pytest.approx(0.0, abs=1e-3)


def test_ransac_rejects_a_wrong_point_pair():
    K, rvec, tvec = look_at([80, -90, 180], [80, 40, 0], 900.0)
    desk = np.array([[x, y] for x in (0, 40, 80, 120, 160) for y in (0, 40, 80)], float)
    image = project(K, rvec, tvec, np.hstack([desk, np.zeros((len(desk), 1))]))
    image[4] += [60, -45]  # one badly clicked point
    fit = fit_homography(image, desk)
    assert fit.inliers.sum() == len(desk) - 1 and not fit.inliers[4]
    assert fit.reprojection_error_px < 1e-4


def test_lens_distortion_is_undone_before_the_homography():
    K, rvec, tvec = look_at([80, -90, 180], [80, 40, 0], 900.0)
    dist = np.array([-0.25, 0.08, 0, 0, 0])
    desk = np.array([[x, y] for x in (0, 40, 80, 120, 160) for y in (0, 40, 80)], float)
    image = project(K, rvec, tvec, np.hstack([desk, np.zeros((len(desk), 1))]), dist)
    spec = CameraFile(camera_id="wide", image_size=IMAGE_SIZE, desk={"width_cm": 160, "depth_cm": 80},
                      points=[{"image_px": tuple(p), "desk_cm": tuple(c)} for p, c in zip(image, desk)],
                      intrinsics={"model": "pinhole", "K": K.tolist(), "dist": dist.tolist()})
    camera = fit_camera(spec)
    assert camera.reprojection_error_px < 0.01
    np.testing.assert_allclose(camera.image_to_desk(image), desk, atol=0.01)
    np.testing.assert_allclose(camera.desk_to_image(desk), image, atol=0.01)


@pytest.mark.parametrize(
    "image_px, message",
    [
        ([[10, 10], [10, 10], [500, 400], [20, 600]], "repeated"),
        ([[10, 10], [200, 200], [400, 400], [20, 600]], "collinear"),
        ([[10, 10], [2000, 10], [500, 400], [20, 600]], "outside"),
        ([[10, 10], [200, 10], [300, 300]], "at least 4"),
    ],
)
def test_degenerate_points_are_rejected_with_a_reason(image_px, message):
    desk = [[0, 0], [160, 0], [160, 80], [0, 80]][: len(image_px)]
    with pytest.raises(CalibrationError, match=message):
        check_correspondences(np.array(image_px, float), np.array(desk, float), IMAGE_SIZE)


@settings(max_examples=40, deadline=None)
@given(
    side=st.floats(-60, 60),
    back=st.floats(-160, -40),
    height=st.floats(120, 300),
    focal=st.floats(600, 1400),
)
def test_focal_estimate_recovers_any_oblique_camera(side, back, height, focal):
    K, rvec, tvec = look_at([80 + side, back, height], [80, 40, 0], focal)
    corners = np.array([[0, 0], [160, 0], [160, 80], [0, 80]], float)
    px = project(K, rvec, tvec, np.hstack([corners, np.zeros((4, 1))]))
    fit = fit_homography(px, corners)
    estimated = estimate_focal_px(np.linalg.inv(fit.image_to_desk), IMAGE_SIZE)
    assert estimated is not None and estimated == pytest.approx(focal, rel=1e-4)
