"""Snapshot discovery: capture times (file name, EXIF, file time), time windows, and every file
or folder that cannot take part."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PIL import Image

from inspector.batch.discover import capture_time, discover
from inspector.batch.runner import _time_window
from inspector.batch.site import TimestampSpec, load_site
from tests.batch import scenes as S
from tests.batch.conftest import STANDARD

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_time_from_the_file_name_default_and_custom_patterns(tmp_path):
    path = tmp_path / "window-01_2026-11-20T08-30-00.jpg"
    path.write_bytes(b"x")
    assert capture_time(path, TimestampSpec(), SHANGHAI) == (datetime(2026, 11, 20, 8, 30, tzinfo=SHANGHAI), "name")
    custom = TimestampSpec(pattern=r"cam\d+-(?P<ts>\d{8}_\d{6})", format="%Y%m%d_%H%M%S")
    other = tmp_path / "cam07-20261120_233005.jpg"
    other.write_bytes(b"x")
    assert capture_time(other, custom, SHANGHAI)[0] == datetime(2026, 11, 20, 23, 30, 5, tzinfo=SHANGHAI)
    assert capture_time(path, TimestampSpec(pattern="(\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2})",
                                            format="%Y-%m-%dT%H-%M-%S"), timezone.utc)[0] == datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)


def test_time_from_exif_then_from_the_file_time(tmp_path):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2026:11:20 22:15:30"  # DateTimeOriginal
    path = tmp_path / "IMG_0001.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, exif=exif)
    assert capture_time(path, TimestampSpec(), SHANGHAI) == (datetime(2026, 11, 20, 22, 15, 30, tzinfo=SHANGHAI), "exif")
    plain = tmp_path / "IMG_0002.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(plain)
    moment = datetime(2026, 11, 20, 14, 0, tzinfo=timezone.utc)
    os.utime(plain, (moment.timestamp(), moment.timestamp()))
    assert capture_time(plain, TimestampSpec(), SHANGHAI) == (moment, "mtime")
    # source: mtime ignores the name and EXIF
    assert capture_time(path, TimestampSpec(source="mtime"), SHANGHAI)[1] == "mtime"


@pytest.fixture
def small_site(tmp_path):
    for camera_id in ("window-01", "window-02"):
        S.scene_camera(camera_id, (64, 36)).camera_file(tmp_path / f"{camera_id}.yaml")
    photos = tmp_path / "photos"
    for i, when in enumerate(["2026-11-20T19-00-00", "2026-11-20T22-00-00", "2026-11-21T03-00-00", "2026-11-21T13-00-00"]):
        S.write_jpeg(photos / f"window-01_{when}.jpg", np.full((36, 64, 3), 40 + i, np.uint8))
    (photos / "window-01_2026-11-20T22-00-00_copy.jpg").write_bytes((photos / "window-01_2026-11-20T22-00-00.jpg").read_bytes())
    S.write_jpeg(photos / "window-07_2026-11-20T22-00-00.jpg", np.zeros((36, 64, 3), np.uint8))
    S.write_jpeg(photos / "unnamed.jpg", np.zeros((36, 64, 3), np.uint8))
    S.write_yaml(tmp_path / "site.yaml", {
        "id": "s", "timezone": "Asia/Shanghai", "day_starts_at_hour": 12,
        "defaults": {"standard": str(STANDARD), "detections": "photos"},
        "halls": [{"id": "h", "cameras": [
            {"calibration": "window-01.yaml", "snapshots": "photos/window-01_*.jpg"},
            {"calibration": "window-02.yaml", "snapshots": "nowhere"},
        ]}],
        "snapshot_roots": [{"folder": "photos"}],
    })
    return load_site(tmp_path / "site.yaml", check_files=False)


def test_discovery_lists_snapshots_duplicates_unknown_cameras_and_unreadable_folders(small_site):
    found = discover(small_site)
    assert [s.path.name for s in found.snapshots] == [
        "window-01_2026-11-20T19-00-00.jpg", "window-01_2026-11-20T22-00-00.jpg",
        "window-01_2026-11-21T03-00-00.jpg", "window-01_2026-11-21T13-00-00.jpg"]
    assert all(s.time_source == "name" and s.camera_id == "window-01" for s in found.snapshots)
    assert len({s.key for s in found.snapshots}) == 4
    problems = {p.kind: p for p in found.problems if p.kind != "unknown_camera"}
    assert problems["duplicate"].path.endswith("_copy.jpg") and "inspected once" in problems["duplicate"].message
    assert problems["unreadable_folder"].camera_id == "window-02" and "not found" in problems["unreadable_folder"].message
    unknown = sorted((p.path.rsplit("/", 1)[-1], p.camera_id, p.message) for p in found.problems if p.kind == "unknown_camera")
    assert unknown[0][0] == "unnamed.jpg" and "no camera id" in unknown[0][2]
    assert unknown[1][:2] == ("window-07_2026-11-20T22-00-00.jpg", "window-07") and "not in the site file" in unknown[1][2]


def test_a_night_runs_from_day_starts_at_hour_to_the_next(small_site):
    since, until = _time_window(small_site, None, None, "2026-11-20")
    assert since == datetime(2026, 11, 20, 12, tzinfo=SHANGHAI) and until - since == timedelta(days=1)
    found = discover(small_site, since, until)
    assert [s.path.stem[-19:] for s in found.snapshots] == ["2026-11-20T19-00-00", "2026-11-20T22-00-00", "2026-11-21T03-00-00"]
    assert small_site.night_of(found.snapshots[-1].captured_at).isoformat() == "2026-11-20"
    # a naive --since is the site's local time; an offset is kept
    since, until = _time_window(small_site, "2026-11-21T00:00", "2026-11-21T12:00+08:00", None)
    assert [s.path.stem[-19:] for s in discover(small_site, since, until).snapshots] == ["2026-11-21T03-00-00"]
