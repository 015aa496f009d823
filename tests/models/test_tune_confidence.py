"""Choosing a model's default confidence on a validation set: the threshold with the best mean
per-class F1, found by sweeping the detections of the product's own detector path."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from inspector.records import Detection
from models import registry
from models.evaluation import tune_confidence
from tests.models.conftest import build_tiny_model


class _Scripted:
    """A detector that returns fixed detections (what the sweep is tested on)."""

    confidence = 0.05

    def __init__(self, detections):
        self._detections = detections

    def detect(self, image):
        return self._detections


@pytest.fixture
def labelled(tmp_path):
    (tmp_path / "images" / "val").mkdir(parents=True)
    (tmp_path / "labels" / "val").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "val" / "a.jpg"), np.zeros((100, 100, 3), np.uint8))
    # a cup at (10,10)-(30,30) and a monitor at (50,50)-(80,80), YOLO-normalised
    (tmp_path / "labels" / "val" / "a.txt").write_text("0 0.2 0.2 0.2 0.2\n1 0.65 0.65 0.3 0.3\n")
    return tmp_path


def test_the_threshold_with_the_best_mean_f1_is_chosen_and_recorded(labelled, tmp_path, monkeypatch):
    card_path = build_tiny_model(tmp_path / "registry" / "tiny")
    scripted = _Scripted((
        Detection("cup", 0.6, (10.0, 10.0, 30.0, 30.0)),  # right
        Detection("cup", 0.3, (60.0, 10.0, 90.0, 30.0)),  # nothing there
        Detection("monitor", 0.21, (50.0, 50.0, 80.0, 80.0)),  # right, unsure
    ))
    monkeypatch.setattr(registry, "load_detector", lambda *args, **kwargs: scripted)
    result = tune_confidence(str(card_path), labelled, "val", record=True)
    by_threshold = {row["confidence"]: row for row in result["sweep"]}
    # <= 0.21: cup 1 right + 1 wrong (F1 2/3), monitor found (F1 1) -> mean 5/6
    assert by_threshold[0.2]["mean_f1"] == pytest.approx(5 / 6, abs=1e-4)
    # 0.21 <= t < 0.3: the monitor is lost; 0.3 <= t < 0.6: only the right cup is left (kept: score > t)
    assert by_threshold[0.25]["mean_f1"] == pytest.approx(1 / 3, abs=1e-4)
    assert by_threshold[0.4]["mean_f1"] == pytest.approx(0.5, abs=1e-4)
    assert by_threshold[0.4]["min_recall"] == 0.0 and by_threshold[0.2]["min_recall"] == 1.0
    assert by_threshold[0.7]["mean_f1"] == 0.0
    # ties between 0.05 and 0.2 go to the strictest threshold
    assert result["chosen"]["confidence"] == 0.2 and result["previous"] == pytest.approx(1e-9)
    assert yaml.safe_load(card_path.read_text())["confidence"] == 0.2


def _repeated(tmp_path, label_lines: str, count: int = 20):
    """`count` copies of one labelled 100x100 image: enough items for a class's own threshold."""
    for split in ("images", "labels"):
        (tmp_path / split / "val").mkdir(parents=True)
    for i in range(count):
        cv2.imwrite(str(tmp_path / "images" / "val" / f"{i}.jpg"), np.zeros((100, 100, 3), np.uint8))
        (tmp_path / "labels" / "val" / f"{i}.txt").write_text(label_lines)
    return tmp_path


def test_per_class_thresholds_keep_a_low_scoring_class_and_a_strict_one(tmp_path, monkeypatch):
    folder = _repeated(tmp_path / "data", "0 0.2 0.2 0.2 0.2\n1 0.65 0.65 0.3 0.3\n")
    card_path = build_tiny_model(tmp_path / "registry" / "tiny")
    scripted = _Scripted((
        Detection("monitor", 0.6, (50.0, 50.0, 80.0, 80.0)),  # right
        Detection("monitor", 0.3, (10.0, 60.0, 30.0, 90.0)),  # nothing there
        Detection("cup", 0.15, (10.0, 10.0, 30.0, 30.0)),  # right, but cups score low
    ))
    monkeypatch.setattr(registry, "load_detector", lambda *args, **kwargs: scripted)
    result = tune_confidence(str(card_path), folder, "val", record=True, per_class=True)
    # one threshold: under 0.15 the cup stays with the false monitor (F1 1 and 2/3), strictest 0.125
    assert result["chosen"]["confidence"] == 0.125
    assert result["chosen"]["mean_f1"] == pytest.approx(5 / 6, abs=1e-4)
    # the monitor's own best: 0.3 <= t < 0.6 drops only the false one; strictest 0.575
    assert result["class_confidence"] == {"monitor": 0.575}
    assert result["combined"]["mean_f1"] == 1.0 and result["combined"]["min_recall"] == 1.0
    card = yaml.safe_load(card_path.read_text())
    assert card["confidence"] == 0.125 and card["class_confidence"] == {"monitor": 0.575}
    # without --per-class a retune writes one threshold again
    tune_confidence(str(card_path), folder, "val", record=True)
    assert yaml.safe_load(card_path.read_text())["class_confidence"] == {}


def test_per_class_thresholds_are_dropped_when_together_they_do_not_beat_one(tmp_path, monkeypatch):
    folder = _repeated(tmp_path / "data", "0 0.2 0.2 0.2 0.2\n1 0.65 0.65 0.3 0.3\n")
    card_path = build_tiny_model(tmp_path / "registry" / "tiny")
    scripted = _Scripted((
        Detection("monitor", 0.7, (50.0, 50.0, 80.0, 80.0)),  # right
        Detection("monitor", 0.5, (10.0, 10.0, 30.0, 30.0)),  # on the cup: takes it in matching
        Detection("cup", 0.1, (10.0, 10.0, 30.0, 30.0)),  # right, but the cup is matched already
    ))
    monkeypatch.setattr(registry, "load_detector", lambda *args, **kwargs: scripted)
    result = tune_confidence(str(card_path), folder, "val", per_class=True)
    assert result["chosen"]["confidence"] == 0.675 and result["chosen"]["mean_f1"] == 0.5
    # the cup's F1 is 0 at every threshold (its strictest, 0.775, differs from 0.675), but together
    # the thresholds score no better than 0.675 alone, so none is kept
    assert result["combined"]["mean_f1"] == 0.5 and result["class_confidence"] == {}


def test_a_recall_floor_lowers_a_class_to_the_strictest_threshold_that_finds_enough(tmp_path, monkeypatch):
    # per image: two cups (A at 10-30, B at 60-80 across the top), a monitor, a telephone
    folder = _repeated(tmp_path / "data", "0 0.2 0.2 0.2 0.2\n0 0.7 0.2 0.2 0.2\n1 0.65 0.65 0.3 0.3\n"
                                          "2 0.2 0.7 0.2 0.2\n")
    card_path = build_tiny_model(tmp_path / "registry" / "tiny")
    scripted = _Scripted((
        Detection("cup", 0.6, (10.0, 10.0, 30.0, 30.0)),  # cup A, sure
        Detection("cup", 0.4, (40.0, 40.0, 45.0, 45.0)),  # nothing there
        Detection("cup", 0.4, (85.0, 85.0, 95.0, 95.0)),  # nothing there
        Detection("cup", 0.2, (60.0, 10.0, 80.0, 30.0)),  # cup B, unsure
        Detection("monitor", 0.7, (50.0, 50.0, 80.0, 80.0)),  # right
    ))  # the telephone is never found
    monkeypatch.setattr(registry, "load_detector", lambda *args, **kwargs: scripted)
    # cups: F1 2/3 under 0.2 (2 right, 2 false) and 2/3 from 0.4 to 0.6 (1 right, recall 1/2)
    plain = tune_confidence(str(card_path), folder, "val", per_class=True)
    assert plain["chosen"]["confidence"] == 0.575 and plain["class_confidence"] == {}
    floored = tune_confidence(str(card_path), folder, "val", min_recall=0.8, record=True)
    # cups: the strictest threshold under 0.2 finds both; the telephone reaches 0.8 nowhere: the lowest
    assert floored["class_confidence"] == {"cup": 0.175, "monitor": 0.675, "telephone": 0.05}
    assert floored["combined"]["mean_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3, abs=1e-4)
    assert floored["combined"]["mean_recall"] == pytest.approx((1 + 1 + 0) / 3, abs=1e-4)
    assert yaml.safe_load(card_path.read_text())["class_confidence"]["cup"] == 0.175


def test_a_recall_floor_outside_zero_to_one_is_refused(tmp_path):
    with pytest.raises(ValueError, match="min_recall"):
        tune_confidence("any", tmp_path, "val", min_recall=1.5)
