"""Draw the result pictures of the README ("Set up your counter"): the bundled example's 10:15 and
13:45 photos inspected with their detections files, as `desk-inspector inspect` draws them.

    .venv/bin/python examples/make_result_pictures.py
    # writes docs/annotated-example.jpg (10:15), docs/annotated-missing.jpg (13:45) and
    # docs/desk-map-example.jpg (10:15)
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calibration.camera import load_camera  # noqa: E402
from inspector.detections_io import load_detections  # noqa: E402
from inspector.frames import load_frame  # noqa: E402
from inspector.outputs import render_pictures  # noqa: E402
from inspector.pipeline import inspect  # noqa: E402
from rules.standard import load_standard  # noqa: E402

EXAMPLE = ROOT / "examples" / "front-counter"


def pictures(stem: str):
    camera = load_camera(ROOT / "calibration" / "cameras" / "window-01.yaml")
    standard = load_standard(ROOT / "rules" / "standards" / "front-counter.yaml")
    frame = load_frame(EXAMPLE / "photos" / f"{stem}.jpg", camera.camera_id)
    report = inspect(frame, camera, standard, detections=load_detections(EXAMPLE / "detections" / f"{stem}.json"))
    return render_pictures(frame, report, camera, standard)


def main() -> list[Path]:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    annotated, desk_map = pictures("window-01_2026-11-20T10-15-00")
    missing, _ = pictures("window-01_2026-11-20T13-45-00")
    written = [docs / "annotated-example.jpg", docs / "annotated-missing.jpg", docs / "desk-map-example.jpg"]
    cv2.imwrite(str(written[0]), annotated, [cv2.IMWRITE_JPEG_QUALITY, 85])
    cv2.imwrite(str(written[1]), missing, [cv2.IMWRITE_JPEG_QUALITY, 85])
    cv2.imwrite(str(written[2]), desk_map, [cv2.IMWRITE_JPEG_QUALITY, 88])
    return written


if __name__ == "__main__":
    for path in main():
        print(path)
