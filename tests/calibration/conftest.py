"""A known synthetic camera: pose and intrinsics chosen by hand, desk corners projected exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.camera import CameraFile, fit_camera

IMAGE_SIZE = (1280, 720)


def look_at(position_cm, target_cm, focal_px, image_size=IMAGE_SIZE):
    position, target = np.asarray(position_cm, float), np.asarray(target_cm, float)
    forward = (target - position) / np.linalg.norm(target - position)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-9:  # looking straight down: image x along desk x
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    if right[0] < 0:
        right = -right
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    rvec, _ = cv2.Rodrigues(R)
    K = np.array([[focal_px, 0, image_size[0] / 2], [0, focal_px, image_size[1] / 2], [0, 0, 1.0]])
    return K, rvec.ravel(), -R @ position


def project(K, rvec, tvec, points_cm3, dist=None):
    px, _ = cv2.projectPoints(np.asarray(points_cm3, float).reshape(-1, 1, 3), rvec, tvec, K, dist)
    return px.reshape(-1, 2)


def desk_corner_pairs(K, rvec, tvec, width=160.0, depth=80.0, dist=None):
    corners = np.array([[0, 0], [width, 0], [width, depth], [0, depth]], float)
    px = project(K, rvec, tvec, np.hstack([corners, np.zeros((4, 1))]), dist)
    return [{"image_px": tuple(p), "desk_cm": tuple(c)} for p, c in zip(px, corners)]


@pytest.fixture
def oblique():
    """Camera 180 cm up on the customer side, looking at the desk centre (about 36° from vertical)."""
    K, rvec, tvec = look_at([80, -90, 180], [80, 40, 0], 900.0)
    spec = CameraFile(camera_id="oblique", image_size=IMAGE_SIZE, desk={"width_cm": 160, "depth_cm": 80},
                      points=desk_corner_pairs(K, rvec, tvec))
    return fit_camera(spec), (K, rvec, tvec)
