"""Clicked corners in the wrong order are read the right way, and the tool says how."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from calibration.camera import load_camera, parse_camera
from calibration.corners import read_corners
from inspector.cli import app
from inspector.errors import CalibrationError

EXAMPLE = "calibration/cameras/window-01.yaml"
PHOTO = "examples/front-counter/photos/window-01_2026-11-20T08-30-00.jpg"
# the example camera's desk corners, front-left, front-right, back-right, back-left (customer's view)
FL, FR, BR, BL = (192.2, 530.7), (1072.2, 571.9), (1012.6, 282.7), (295.5, 255.4)
DESK = [(0, 0), (160, 0), (160, 80), (0, 80)]


def _fit(ordered):
    return parse_camera({"camera_id": "t", "image_size": [1280, 720], "desk": {"width_cm": 160, "depth_cm": 80},
                         "points": [{"image_px": p, "desk_cm": c} for p, c in zip(ordered, DESK)]})


@pytest.mark.parametrize("clicked, note", [
    ((FL, FR, BR, BL), ""),
    ((FR, FL, BL, BR), "staff chair"),  # front-left/right as the staff sees them
    ((FL, BL, BR, FR), "other way round"),
])
def test_mirrored_and_reversed_clicks_give_the_same_camera(clicked, note):
    reading, camera = read_corners(clicked, _fit)
    assert reading.corners_px == (FL, FR, BR, BL)
    assert (note in reading.note) if note else reading.note == ""
    truth = load_camera(EXAMPLE)
    assert np.allclose(camera.image_to_desk([[640, 400]]), truth.image_to_desk([[640, 400]]), atol=0.5)


def test_other_problems_are_not_hidden_by_reordering():
    with pytest.raises(CalibrationError, match="4 desk corners"):
        read_corners((FL, FR, BR), _fit)


def test_the_cli_says_how_it_read_the_clicks_and_writes_a_camera_inspect_accepts(tmp_path):
    out = tmp_path / "window-09.yaml"
    staff_view = " ".join(f"{x},{y}" for x, y in (FR, FL, BL, BR))
    result = CliRunner().invoke(app, ["calibrate", "--camera-id", "window-09", "--image", PHOTO, "--desk", "160x80",
                                      "--corners", staff_view, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "left and right were swapped" in result.output and "front-left (192, 531)" in result.output
    assert load_camera(out).desk.outline_cm is not None
