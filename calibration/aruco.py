"""Automatic correspondences from ArUco markers lying flat at known desk positions.

A markers file lists each marker's id, the desk position of its centre, its printed side length
and its rotation on the desk; each detected marker then gives 4 image<->desk point pairs.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inspector.errors import CalibrationError


class MarkerOnDesk(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: int = Field(ge=0)
    center_cm: tuple[float, float]
    size_cm: float = Field(gt=0)
    rotation_deg: float = 0.0  # counter-clockwise on the desk, seen from above


class MarkerLayout(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    dictionary: str = "DICT_4X4_50"
    markers: list[MarkerOnDesk] = Field(min_length=1)


def marker_corners_cm(marker: MarkerOnDesk) -> np.ndarray:
    """Desk cm of the marker's corners in OpenCV's order (top-left, top-right, bottom-right,
    bottom-left of the printed marker). Unrotated, the marker reads upright seen from above with
    the staff side at the top: its top edge faces the staff (y large), its left edge x small."""
    half = marker.size_cm / 2
    local = np.array([[-half, half], [half, half], [half, -half], [-half, -half]])
    a = math.radians(marker.rotation_deg)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return local @ rotation.T + np.asarray(marker.center_cm)


def _dictionary(name: str):
    if not hasattr(cv2.aruco, name):
        raise CalibrationError(f"unknown ArUco dictionary '{name}' (e.g. DICT_4X4_50, DICT_5X5_100)")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


def load_marker_layout(path: str | Path) -> MarkerLayout:
    from calibration.camera import format_validation_error, read_structured_file

    data = read_structured_file(Path(path), CalibrationError)
    try:
        return MarkerLayout.model_validate(data)
    except ValidationError as error:
        raise CalibrationError(format_validation_error(error), str(path)) from None


def detect_markers(image_bgr: np.ndarray, dictionary: str = "DICT_4X4_50") -> dict[int, np.ndarray]:
    """Marker id -> its 4 corner pixels (OpenCV order), refined to sub-pixel."""
    detector = cv2.aruco.ArucoDetector(_dictionary(dictionary), cv2.aruco.DetectorParameters())
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    corners, ids, _ = detector.detectMarkers(gray)
    if ids is None:
        return {}
    return {int(i): c.reshape(4, 2).astype(np.float64) for i, c in zip(ids.ravel(), corners)}


def correspondences_from_markers(image_bgr: np.ndarray, layout: MarkerLayout) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(image_px, desk_cm, used marker ids). Needs at least one known marker seen; more is better."""
    found = detect_markers(image_bgr, layout.dictionary)
    image_px, desk_cm, used = [], [], []
    for marker in layout.markers:
        if marker.id in found:
            image_px.extend(found[marker.id])
            desk_cm.extend(marker_corners_cm(marker))
            used.append(marker.id)
    if not used:
        seen = sorted(found) or "none"
        raise CalibrationError(
            f"none of the markers {[m.id for m in layout.markers]} was found in the image (seen: {seen})"
        )
    return np.array(image_px), np.array(desk_cm), used


def draw_marker_on_desk(canvas_bgr: np.ndarray, desk_to_image_h: np.ndarray, marker: MarkerOnDesk,
                        dictionary: str = "DICT_4X4_50", pixels: int = 200) -> np.ndarray:
    """Render a marker flat on the desk into a picture (for tests and printed-layout previews)."""
    tile = cv2.aruco.generateImageMarker(_dictionary(dictionary), marker.id, pixels)
    tile = cv2.copyMakeBorder(tile, pixels // 6, pixels // 6, pixels // 6, pixels // 6, cv2.BORDER_CONSTANT, value=255)
    border = pixels // 6
    src = np.array([[border, border], [border + pixels, border], [border + pixels, border + pixels], [border, border + pixels]], np.float64)
    dst_cm = marker_corners_cm(marker)
    dst_h = np.hstack([dst_cm, np.ones((4, 1))]) @ desk_to_image_h.T
    dst = dst_h[:, :2] / dst_h[:, 2:3]
    warp = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    h, w = canvas_bgr.shape[:2]
    warped = cv2.warpPerspective(cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR), warp, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full(tile.shape, 255, np.uint8), warp, (w, h))
    out = canvas_bgr.copy()
    out[mask > 127] = warped[mask > 127]
    return out
