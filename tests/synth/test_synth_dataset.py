"""YOLO dataset writer: layout, label format and determinism by seed."""

from __future__ import annotations

import json

import yaml

from inspector.classes import CANONICAL_CLASSES
from models.synth.dataset import DatasetSettings, main, split_of, write_dataset


def _files(root, kind):
    return sorted(p.relative_to(root) for p in (root / kind).rglob("*") if p.is_file())


def test_same_seed_same_bytes(tmp_path):
    settings = DatasetSettings(seed=3, imgsz=256)
    write_dataset(tmp_path / "a", 3, settings)
    write_dataset(tmp_path / "b", 3, settings)
    la, lb = _files(tmp_path / "a", "labels"), _files(tmp_path / "b", "labels")
    assert la == lb and len(la) == 3
    for rel in la:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    for rel in _files(tmp_path / "a", "images"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    other = DatasetSettings(seed=4, imgsz=256)
    write_dataset(tmp_path / "c", 1, other)
    assert _files(tmp_path / "c", "labels")[0].name != la[0].name


def test_cli_layout_and_labels(tmp_path):
    out = tmp_path / "ds"
    assert main(["--out", str(out), "--count", "3", "--seed", "1", "--imgsz", "256"]) == 0
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert [data["names"][i] for i in range(len(CANONICAL_CLASSES))] == list(CANONICAL_CLASSES)
    assert data["train"] == "images/train" and data["val"] == "images/val"
    for i in range(3):
        split = split_of(i, 0.2)
        name = f"synth_s1_{i:06d}"
        assert (out / "images" / split / f"{name}.jpg").stat().st_size > 0
        truth = json.loads((out / "truth" / split / f"{name}.json").read_text())
        assert truth["image_size"] == [256, 144]
        assert {"K", "dist", "rvec", "tvec"} <= set(truth["camera"])
        lines = (out / "labels" / split / f"{name}.txt").read_text().splitlines()
        for line in lines:
            parts = line.split()
            assert len(parts) == 5 and 0 <= int(parts[0]) < len(CANONICAL_CLASSES)
            assert all(0.0 <= float(v) <= 1.0 for v in parts[1:])
        labelled = [t for t in truth["items"] if t["bbox_visible_px"] and t["visible_fraction"] * t["in_image_fraction"] >= 0.3]
        assert len(lines) <= len(labelled)
        for t in truth["items"]:
            assert t["height_cm"] > 0 and len(t["footprint_cm"]) >= 3
