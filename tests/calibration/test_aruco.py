import numpy as np
import pytest

from calibration.aruco import MarkerLayout, correspondences_from_markers, draw_marker_on_desk
from calibration.camera import CameraFile, fit_camera
from inspector.errors import CalibrationError

from .conftest import IMAGE_SIZE, look_at


def _desk_to_image(K, rvec, tvec):
    import cv2

    R, _ = cv2.Rodrigues(rvec)
    return K @ np.column_stack([R[:, 0], R[:, 1], tvec])


def test_markers_at_known_positions_calibrate_the_desk():
    K, rvec, tvec = look_at([80, -60, 160], [80, 40, 0], 1000.0)
    layout = MarkerLayout(markers=[
        {"id": 1, "center_cm": [15, 15], "size_cm": 12},
        {"id": 2, "center_cm": [145, 15], "size_cm": 12},
        {"id": 3, "center_cm": [145, 65], "size_cm": 12},
        {"id": 4, "center_cm": [15, 65], "size_cm": 12, "rotation_deg": 90},
    ])
    H = _desk_to_image(K, rvec, tvec)
    image = np.full((IMAGE_SIZE[1], IMAGE_SIZE[0], 3), 170, np.uint8)
    for marker in layout.markers:
        image = draw_marker_on_desk(image, H, marker)
    image_px, desk_cm, used = correspondences_from_markers(image, layout)
    assert used == [1, 2, 3, 4] and len(image_px) == 16
    spec = CameraFile(camera_id="aruco", image_size=IMAGE_SIZE, desk={"width_cm": 160, "depth_cm": 80},
                      points=[{"image_px": tuple(p), "desk_cm": tuple(c)} for p, c in zip(image_px, desk_cm)])
    camera = fit_camera(spec)
    assert camera.reprojection_error_px < 1.0
    np.testing.assert_allclose(camera.image_to_desk(camera.desk_to_image([[80, 40]])), [[80, 40]], atol=1e-6)
    # the corners of the desk land within a few mm of the truth
    truth = (H @ np.array([160, 80, 1.0]))
    np.testing.assert_allclose(camera.image_to_desk([truth[:2] / truth[2]]), [[160, 80]], atol=0.5)


def test_no_marker_in_view_is_a_clear_error():
    layout = MarkerLayout(markers=[{"id": 7, "center_cm": [10, 10], "size_cm": 10}])
    with pytest.raises(CalibrationError, match="none of the markers"):
        correspondences_from_markers(np.full((100, 100, 3), 128, np.uint8), layout)
