"""YOLO dataset writer: layout, label format and determinism by seed."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml

from inspector.classes import CANONICAL_CLASSES
from models.synth.dataset import DatasetSettings, main, parse_boost, split_of, write_dataset
from models.synth.scene import sample_scene


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


def test_parse_boost_reads_pairs_and_refuses_bad_ones():
    assert parse_boost("cup=1.6, pen=2") == (("cup", 1.6), ("pen", 2.0))
    assert parse_boost("") == ()
    for bad, words in [("cupp=2", "CLASS=FACTOR"), ("cup", "CLASS=FACTOR"), ("cup=x", "number"),
                       ("cup=0", "(0, 20]"), ("cup=-1", "(0, 20]")]:
        with pytest.raises(ValueError, match=re.escape(words)):
            parse_boost(bad)


def test_boost_draws_the_boosted_class_more_often():
    # Over the same 150 scene seeds, a 6x pen weight must give clearly more pens than none.
    def pens(boost):
        return sum(item.class_name == "pen"
                   for i in range(150)
                   for item in sample_scene(np.random.default_rng(i), class_boost=boost).items)
    plain, boosted = pens(None), pens({"pen": 6.0})
    assert boosted > 1.5 * plain > 0


def test_cli_refuses_a_bad_boost(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(tmp_path / "ds"), "--count", "1", "--boost", "pencil=2"])
    assert exc.value.code == 2
    assert "--boost 'pencil=2'" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()
