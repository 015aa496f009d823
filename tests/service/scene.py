"""A small hand-made counter scene for the service tests: camera file, photo and detections.

Desk 160 x 80 cm seen from the customer side; its layout is the one the front-counter standard
describes. The photo is drawn from the fitted camera, so the detections match the picture.
"""

from __future__ import annotations

import cv2
import numpy as np

from calibration.camera import Camera, parse_camera

IMAGE_SIZE = (1280, 720)
CAMERA_ID = "window-test"
# image px of the desk corners: front-left, front-right, back-right, back-left
CORNERS_PX = [(180.0, 680.0), (1100.0, 680.0), (960.0, 300.0), (320.0, 300.0)]
DESK_CM = (160.0, 80.0)
ZONES = {
    "monitor": [[95, 40], [155, 40], [155, 75], [95, 75]],
    "document_camera": [[5, 35], [40, 35], [40, 75], [5, 75]],
    "cup": [[140, 12], [158, 12], [158, 32], [140, 32]],
    "pass_through": [[60, 0], [95, 0], [95, 25], [60, 25]],
}
# (class, x1, y1, x2, y2 desk cm, height cm, BGR)
ITEMS = [
    ("monitor", 100.0, 48.0, 155.0, 68.0, 42.0, (60, 60, 60)),
    ("cup", 145.0, 2.0, 153.0, 10.0, 10.0, (200, 200, 240)),  # too close to the front edge, off its zone
    ("mobile_phone", 40.0, 20.0, 47.5, 35.5, 0.9, (30, 30, 30)),  # not permitted on the counter
    ("keyboard", 60.0, 30.0, 104.0, 44.0, 3.0, (90, 90, 90)),
]


def camera_dict(camera_id: str = CAMERA_ID, corners=CORNERS_PX) -> dict:
    w, d = DESK_CM
    desk = [(0.0, 0.0), (w, 0.0), (w, d), (0.0, d)]
    return {
        "camera_id": camera_id,
        "image_size": list(IMAGE_SIZE),
        "desk": {"width_cm": w, "depth_cm": d},
        "points": [{"image_px": list(p), "desk_cm": list(c)} for p, c in zip(corners, desk)],
        "layout": {"zones": ZONES},
    }


def make_camera(camera_id: str = CAMERA_ID) -> Camera:
    return parse_camera(camera_dict(camera_id), f"{camera_id}.yaml")


def _box_px(camera: Camera, x1, y1, x2, y2, height) -> np.ndarray:
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    points = [(x, y, z) for x, y in corners for z in (0.0, height)]
    return camera.project(points)


def make_photo(camera: Camera) -> tuple[bytes, list[dict]]:
    """JPEG bytes of the desk with its items, and the SPEC detections for them."""
    w, h = IMAGE_SIZE
    image = np.full((h, w, 3), (70, 80, 90), np.uint8)
    desk = camera.desk_to_image([(0, 0), (DESK_CM[0], 0), DESK_CM, (0, DESK_CM[1])])
    cv2.fillPoly(image, [np.round(desk).astype(np.int32)], (150, 190, 215))
    detections = []
    # far items first so near ones are drawn over them
    for name, x1, y1, x2, y2, height, colour in sorted(ITEMS, key=lambda item: -item[2]):
        px = _box_px(camera, x1, y1, x2, y2, height)
        hull = cv2.convexHull(np.round(px).astype(np.int32))
        cv2.fillConvexPoly(image, hull, colour)
        cv2.polylines(image, [hull], True, (20, 20, 20), 2)
        bx1, by1 = px.min(axis=0)
        bx2, by2 = px.max(axis=0)
        detections.append({"class": name, "confidence": 0.9,
                           "bbox_px": [round(float(bx1), 1), round(float(by1), 1), round(float(bx2), 1), round(float(by2), 1)]})
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes(), detections
