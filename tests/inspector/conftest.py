"""A desk scene built by hand: a known camera file with the example layout, and detections that are
the exact image boxes of items of known size placed at known desk positions."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import yaml

from calibration.camera import load_camera
from inspector.footprint import solid_image_box
from rules.standard import load_standard

from ..calibration.conftest import desk_corner_pairs, look_at

STANDARD = "rules/standards/front-counter.yaml"
ZONES = {
    "monitor": [[95, 40], [155, 40], [155, 75], [95, 75]],
    "document_camera": [[5, 35], [40, 35], [40, 75], [5, 75]],
    "cup": [[140, 12], [158, 12], [158, 32], [140, 32]],
    "pass_through": [[60, 0], [95, 0], [95, 25], [60, 25]],
}
# (class, centre cm, (width, depth, height) = the standard's nominal size)
COMPLIANT_DESK = [
    ("monitor", (125, 57), (55, 20, 42)),
    ("keyboard", (120, 25), (44, 14, 3)),
    ("cup", (149, 22), (8, 8, 10)),
    ("name_plate", (30, 12), (20, 6, 8)),
    ("document_camera", (22, 55), (30, 20, 35)),
]


@pytest.fixture(scope="session")
def camera_file(tmp_path_factory):
    K, rvec, tvec = look_at([80, 210, 200], [80, 40, 0], 900.0)  # behind the staff chair
    spec = {
        "camera_id": "window-test",
        "image_size": [1280, 720],
        "desk": {"width_cm": 160, "depth_cm": 80},
        "points": [{"image_px": [float(v) for v in p["image_px"]], "desk_cm": [float(v) for v in p["desk_cm"]]}
                   for p in desk_corner_pairs(K, rvec, tvec)],
        "layout": {"zones": ZONES},
    }
    path = tmp_path_factory.mktemp("cameras") / "window-test.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture(scope="session")
def camera(camera_file):
    return load_camera(camera_file)


@pytest.fixture(scope="session")
def standard():
    return load_standard(STANDARD)


@pytest.fixture(scope="session")
def simple_standard_file(tmp_path_factory):
    """The example standard with `decision: simple` (no guard band): a compliant desk passes on its
    measured values alone. With the default guard band, this camera's monitor (U about 5 cm) in a
    zone 5 cm wider than it is a conditional pass (see test_pipeline)."""
    data = yaml.safe_load(open(STANDARD, encoding="utf-8"))
    path = tmp_path_factory.mktemp("standard") / "front-counter-simple.yaml"
    path.write_text(yaml.safe_dump({**data, "decision": "simple"}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def simple_standard(simple_standard_file):
    return load_standard(simple_standard_file)


def scene_detections(camera, scene, confidence=0.9):
    return [{"class": cls, "confidence": confidence,
             "bbox_px": [float(v) for v in solid_image_box(camera, cls, center, size, 0.0)]}
            for cls, center, size in scene]


@pytest.fixture
def write_scene(tmp_path, camera):
    """Write a grey 1280x720 photo and its detections file; returns (image path, detections path)."""

    def write(name, scene, size=(1280, 720)):
        image = tmp_path / f"{name}.jpg"
        cv2.imwrite(str(image), np.full((size[1], size[0], 3), 150, np.uint8))
        detections = tmp_path / "detections" / f"{name}.json"
        detections.parent.mkdir(exist_ok=True)
        detections.write_text(json.dumps(scene_detections(camera, scene)))
        return image, detections

    return write
