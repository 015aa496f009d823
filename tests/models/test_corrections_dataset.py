"""`dataset export` and `dataset combine` on hand-made histories and folders: the camera-day split,
exact YOLO lines, what is left out and why, and nothing half-written on an error."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from inspector.history import History, add_correction, inspection_key
from models.corrections_dataset import DatasetError, combine, export, split_groups

REPO = Path(__file__).resolve().parents[2]
CAMERAS = REPO / "calibration" / "cameras"
STANDARDS = REPO / "rules" / "standards"


def _photo(path: Path, shade: int) -> bytes:
    image = np.full((48, 64, 3), shade, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path.read_bytes()


def _history(tmp_path: Path, days: int, confirmed=True) -> tuple[History, list[Path]]:
    """One batch snapshot of window-01 a day, each corrected to one cup at (8, 6)-(40, 30) px."""
    history = History(f"sqlite:///{tmp_path / 'history.db'}")
    photos = []
    for day in range(days):
        path = tmp_path / "snapshots" / f"window-01_{day}.jpg"
        sha256 = hashlib.sha256(_photo(path, 40 + day)).hexdigest()
        row = history.add(key=inspection_key("window-01", sha256, "batch"), camera_id="window-01",
                          image_name=str(path), image_sha256=sha256, origin="batch", status="ok",
                          captured_at=datetime(2026, 11, 1, 21, tzinfo=timezone.utc) + timedelta(days=day),
                          report_json=json.dumps({"standard": {"id": "front-counter", "version": "1.0"},
                                                  "verdict": "pass"}))
        items = [{"item_id": 1, "class": "cup", "bbox_px": [8.0, 6.0, 40.0, 30.0], "confidence": 1.0,
                  "source": "person", "checked": True}]
        add_correction(history, inspection_id=row.id, revision=1, author="t", model_name=None, model_version=None,
                       actions_json="[]", items_json=json.dumps(items), next_item_id=2,
                       verdict_confirmed=confirmed, original_verdict="pass", corrected_verdict="fail",
                       report_json=json.dumps({"standard": {"id": "front-counter", "version": "1.0"}, "verdict": "fail"}))
        photos.append(path)
    return history, photos


def test_split_groups_holds_whole_camera_days_and_never_all_of_them():
    assert split_groups(["a"], 0.5) == set()  # one camera-day: nothing to hold out
    assert split_groups(["a", "b"], 0.0) == set()
    groups = [f"window-01/2026-11-{d:02d}" for d in range(1, 11)]
    chosen = split_groups(groups + groups, 0.2)  # repeated frames of a day count once
    assert len(chosen) == 2 and chosen <= set(groups)
    assert split_groups(list(reversed(groups)), 0.2) == chosen  # the same whatever the order
    assert len(split_groups(groups[:2], 0.9)) == 1  # at least one left to train on


def test_export_writes_exact_yolo_lines_and_the_verdicts(tmp_path):
    history, _ = _history(tmp_path, days=4)
    summary = export(history, tmp_path / "data", tmp_path / "out", CAMERAS, STANDARDS, val_fraction=0.5)
    assert summary.images == {"train": 2, "val": 2}
    labels = sorted((tmp_path / "out" / "labels").rglob("*.txt"))
    assert len(labels) == 4
    # cup is class 0; centre (24, 18) and size (32, 24) of a 64 x 48 photo
    assert labels[0].read_text() == "0 0.375000 0.375000 0.500000 0.500000\n"
    verdicts = [json.loads(line) for line in (tmp_path / "out" / "verdicts.jsonl").read_text().splitlines()]
    assert {v["verdict"] for v in verdicts} == {"fail"} and len(verdicts) == 4
    assert (tmp_path / "out" / "cameras" / "window-01.yaml").is_file()
    assert (tmp_path / "out" / "standards" / "front-counter.yaml").is_file()
    data = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert data["path"] == str((tmp_path / "out").resolve()) and data["names"][0] == "cup"


def test_export_leaves_out_a_photo_no_longer_there_and_unconfirmed_corrections(tmp_path):
    history, photos = _history(tmp_path, days=3)
    photos[0].unlink()
    summary = export(history, tmp_path / "data", tmp_path / "out", CAMERAS, STANDARDS)
    assert sum(summary.images.values()) == 2 and summary.skipped == {"photo no longer on this server": 1}

    unconfirmed, _ = _history(tmp_path / "other", days=2, confirmed=None)
    with pytest.raises(DatasetError, match="nothing to export"):
        export(unconfirmed, tmp_path / "data", tmp_path / "out2", CAMERAS, STANDARDS)
    assert not (tmp_path / "out2").exists()


def test_export_refuses_a_folder_that_holds_files(tmp_path):
    history, _ = _history(tmp_path, days=2)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        export(history, tmp_path / "data", tmp_path / "out", CAMERAS, STANDARDS)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(".out.partial-*"))


def _yolo_folder(root: Path, names: dict[str, str]) -> Path:
    for split_name, label in names.items():
        split, name = split_name.split("/")
        _photo(root / "images" / split / f"{name}.jpg", 90)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split / f"{name}.txt").write_text(label)
    return root


def test_combine_links_every_image_with_its_labels_and_refuses_twins(tmp_path):
    first = _yolo_folder(tmp_path / "renders", {"train/a": "0 0.5 0.5 0.2 0.2\n", "val/b": ""})
    second = _yolo_folder(tmp_path / "photos", {"train/c": "3 0.1 0.1 0.1 0.1\n"})
    summary = combine([first, second], tmp_path / "combined")
    assert summary["images"] == {"photos/train": 1, "renders/train": 1, "renders/val": 1}
    linked = tmp_path / "combined" / "images" / "train" / "photos__c.jpg"
    assert linked.is_symlink() and linked.resolve() == (second / "images" / "train" / "c.jpg").resolve()
    assert (tmp_path / "combined" / "labels" / "train" / "photos__c.txt").read_text() == "3 0.1 0.1 0.1 0.1\n"

    with pytest.raises(DatasetError, match="two folders hold"):
        combine([first, first], tmp_path / "twice")
    assert not (tmp_path / "twice").exists() and not list(tmp_path.glob(".twice.partial-*"))
