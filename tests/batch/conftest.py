"""A small site built on disk for the batch tests: two halls, four windows, a night of snapshots
with known verdicts, the night-time faults and every kind of bad file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.batch import scenes as S

REPO = Path(__file__).resolve().parents[2]
STANDARD = REPO / "rules" / "standards" / "front-counter.yaml"
SIZE = (640, 360)
TIMES = ["20-00-00", "20-30-00", "21-00-00", "21-30-00", "22-00-00", "22-30-00"]


def times(n: int) -> list[str]:
    """n capture times from 20:00, every 30 min for the first six (TIMES), then every minute."""
    return TIMES[:n] + [f"{22 + (k // 60):02d}-{k % 60:02d}-30" for k in range(max(0, n - len(TIMES)))]


@dataclass
class BuiltSite:
    root: Path
    site_file: Path
    expected: dict[str, str] = field(default_factory=dict)  # file name -> "pass" | "fail" | status
    problems: dict[str, str] = field(default_factory=dict)  # file/folder name -> problem kind

    @property
    def snapshot_count(self) -> int:
        return len(self.expected)


def _items(**changes):
    items = dict(S.ITEMS)
    for name, value in changes.items():
        if value is None:
            items.pop(name, None)
        else:
            items[name] = value
    return items


BAG = ((60, 10), (35, 15), 28, (30, 90, 30))  # not permitted, in the pass-through, 2.5 cm from the front
PHONE = ((45, 30), (8, 15), 1, (20, 20, 20))  # not permitted


def build_site(root: Path, *, snapshots_per_camera: int = len(TIMES), faults: bool = True,
               decision: str = "simple") -> BuiltSite:
    """The test night. `decision: simple` by default so that "pass" and "fail" are the scenes'
    verdicts: at these small test frames the guard band (the default) leaves window-01's compliant
    desk to check by eye (test_runner.py::test_a_guarded_night_counts_what_to_check_by_eye)."""
    root.mkdir(parents=True, exist_ok=True)
    built = BuiltSite(root, root / "site.yaml")
    standard = yaml.safe_load(STANDARD.read_text(encoding="utf-8"))
    S.write_yaml(root / "standard.yaml", {**standard, "decision": decision})
    cams = {}
    for index, camera_id in enumerate(["window-01", "window-02", "window-03", "window-04"]):
        cam = S.scene_camera(camera_id, SIZE, seed=index)
        reference = S.write_jpeg(root / "reference" / f"{camera_id}.jpg", S.render(cam, seed=index))
        # window-04 was calibrated without keeping a reference frame: its moved/occluded checks are off
        cam.camera_file(root / "cameras" / f"{camera_id}.yaml",
                        reference_frame=None if camera_id == "window-04" else f"../reference/{camera_id}.jpg")
        cams[camera_id] = cam
        assert reference.is_file()

    def shot(camera_id: str, when: str, items: dict, verdict: str, fault=None, stem: str | None = None):
        cam = cams[camera_id]
        image = S.render(cam, items, seed=list(cams).index(camera_id))
        stem = stem or f"{camera_id}_2026-11-20T{when}"
        image = S.sensor_noise(image, seed=len(built.expected))  # every snapshot's bytes differ, as a camera's do
        if fault is not None:
            image = fault(cam, image)
        S.write_jpeg(root / "photos" / f"{stem}.jpg", image)
        S.write_json(root / "detections" / f"{stem}.json", S.detections_for(cam, items))
        built.expected[f"{stem}.jpg"] = verdict

    for k, when in enumerate(times(snapshots_per_camera)):
        shot("window-01", when, S.ITEMS, "pass")  # compliant all night
        shot("window-02", when, _items(bag=BAG), "fail")  # a bag on the counter all night
        shot("window-03", when, _items(mobile_phone=PHONE) if k == 2 else S.ITEMS, "fail" if k == 2 else "pass")
    if faults:
        shot("window-01", "23-00-00", S.ITEMS, "cannot_judge", lambda c, im: S.darken(im, 0.1))
        shot("window-01", "23-30-00", S.ITEMS, "occluded", lambda c, im: S.person_in_front(c, im, 0.7))
        shot("window-02", "23-00-00", _items(bag=BAG), "cannot_judge", lambda c, im: S.blur(im, 3.0))
        shot("window-03", "23-00-00", S.ITEMS, "camera_moved", lambda c, im: S.bump(im, 18, 6, 1.0))
        photos = root / "photos"
        (photos / "window-01_2026-11-20T23-45-00.jpg").write_bytes(b"")  # zero-byte
        good = (photos / f"window-01_2026-11-20T{TIMES[0]}.jpg").read_bytes()
        (photos / "window-02_2026-11-20T23-45-00.jpg").write_bytes(good[: len(good) // 2])  # truncated
        (photos / "window-03_2026-11-20T23-45-00.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9")  # corrupt
        (photos / "window-03_notes.txt").write_text("camera 3 was cleaned at 18:00\n", encoding="utf-8")  # not an image
        S.write_jpeg(photos / "window-02_2026-11-20T23-50-00.jpg", np.full((180, 320, 3), 128, np.uint8))  # wrong size
        built.expected.update({"window-01_2026-11-20T23-45-00.jpg": "error", "window-02_2026-11-20T23-45-00.jpg": "error",
                               "window-03_2026-11-20T23-45-00.jpg": "error", "window-03_notes.txt": "error",
                               "window-02_2026-11-20T23-50-00.jpg": "error"})
        S.write_jpeg(photos / "window-09_2026-11-20T21-00-00.jpg", S.render(cams["window-01"]))  # camera not in site file
        built.problems.update({"window-09_2026-11-20T21-00-00.jpg": "unknown_camera", "window-04": "unreadable_folder"})

    S.write_yaml(built.site_file, {
        "id": "test-centre",
        "name": "测试政务服务中心 Test centre",
        "timezone": "Asia/Shanghai",
        "defaults": {"standard": "standard.yaml", "detections": "detections"},
        "halls": [
            {"id": "hall-a", "name": "A 区", "cameras": [
                {"id": "window-01", "name": "1 号窗口", "calibration": "cameras/window-01.yaml", "snapshots": "photos/window-01_*"},
                {"id": "window-02", "name": "2 号窗口", "calibration": "cameras/window-02.yaml", "snapshots": "photos/window-02_*"},
            ]},
            {"id": "hall-b", "name": "B 区", "cameras": [
                {"id": "window-03", "calibration": "cameras/window-03.yaml", "snapshots": "photos/window-03_*"},
                {"id": "window-04", "calibration": "cameras/window-04.yaml", "snapshots": "missing-folder/window-04"},
            ]},
        ],
        "snapshot_roots": [{"folder": "photos"}],
    })
    return built


@pytest.fixture(scope="session")
def night_site(tmp_path_factory) -> BuiltSite:
    """The full test night (read-only: tests copy or use their own out/db)."""
    return build_site(tmp_path_factory.mktemp("site"))


@dataclass
class NightRun:
    site: BuiltSite
    out: Path
    db_url: str
    summary: object


@pytest.fixture(scope="session")
def night_run(night_site, tmp_path_factory) -> NightRun:
    """The test night run once with two worker processes (tests read its DB and report)."""
    from inspector.batch.runner import run_batch

    out = tmp_path_factory.mktemp("night-out")
    db_url = f"sqlite:///{out / 'history.db'}"
    summary = run_batch(night_site.site_file, out, workers=2, database_url=db_url, progress=False)
    return NightRun(night_site, out, db_url, summary)
