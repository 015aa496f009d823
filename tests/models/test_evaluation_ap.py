"""mAP as COCO computes it, from hand-made boxes, and partial labels: a detection of a class its
image's source does not label is neither right nor wrong."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from inspector.records import Detection
from models.evaluation import (IOU_THRESHOLDS, average_precision, detect_folder, labelled_classes_by_source,
                               source_of, true_positives)

NAMES = ["cup", "monitor", "pen"]


def test_a_box_is_right_at_the_overlaps_it_reaches_and_a_twin_is_wrong():
    truth = np.array([[0, 0, 10, 10]], dtype=float)
    # IoU 0.7 (10 x 7 box inside), then a second box on the same item, then another class
    predicted = np.array([[0, 0, 10, 7], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    hits = true_positives(predicted, np.array([0, 0, 1]), truth, np.array([0]))
    assert IOU_THRESHOLDS.tolist()[:5] == [0.5, 0.55, 0.6, 0.65, 0.7]
    assert hits[0].tolist() == [True] * 5 + [False] * 5
    # the twin takes the item only where the first could not
    assert hits[1].tolist() == [False] * 5 + [True] * 5
    assert not hits[2].any()


def test_average_precision_of_a_perfect_an_empty_and_a_blind_detector():
    hits = np.ones((3, 1), dtype=bool)
    # ultralytics' AP (trapezoids over COCO's 101 recall points, closing at zero precision past the
    # last recall) tops out at 0.995: kept, so our figures compare with what ultralytics prints
    assert average_precision(np.array([0.9, 0.8, 0.7]), hits, 3)[0] == pytest.approx(0.995)
    assert average_precision(np.zeros(0), np.zeros((0, 1), dtype=bool), 3)[0] == 0.0  # a class never predicted
    assert np.isnan(average_precision(np.array([0.5]), np.zeros((1, 1), dtype=bool), 0)[0])  # nothing to find
    # one right at 0.9, one wrong at 0.8: half the items at precision 1, then never more
    ap = average_precision(np.array([0.9, 0.8]), np.array([[True], [False]]), 2)[0]
    assert ap == pytest.approx(0.5, abs=0.01)


@pytest.fixture
def two_sources(tmp_path):
    """A cup photo set and a monitor photo set: each labels its own class only."""
    for split in ("train", "val"):
        (tmp_path / "images" / split).mkdir(parents=True)
        (tmp_path / "labels" / split).mkdir(parents=True)
    for name, line in (("cups__a", "0 0.2 0.2 0.2 0.2\n"), ("screens__b", "1 0.5 0.5 0.4 0.4\n")):
        cv2.imwrite(str(tmp_path / "images" / "val" / f"{name}.jpg"), np.zeros((100, 100, 3), np.uint8))
        (tmp_path / "labels" / "val" / f"{name}.txt").write_text(line)
    return tmp_path


def test_sources_label_the_classes_found_in_their_labels_or_named_in_data_yaml(two_sources):
    masks = labelled_classes_by_source(two_sources, 3)
    assert {source: mask.tolist() for source, mask in masks.items()} == {
        "cups": [True, False, False], "screens": [False, True, False]}
    (two_sources / "data.yaml").write_text(yaml.safe_dump(
        {"names": dict(enumerate(NAMES)), "labelled_classes": {"cups": ["cup", "pen"]}}))
    assert {s: m.tolist() for s, m in labelled_classes_by_source(two_sources, 3).items()} == {
        "cups": [True, False, True]}
    (two_sources / "data.yaml").write_text(yaml.safe_dump({"names": NAMES, "labelled_classes": {"cups": ["mug"]}}))
    with pytest.raises(Exception, match="unknown classes"):
        labelled_classes_by_source(two_sources, 3)
    assert source_of(two_sources / "plain.jpg") == ""


def test_a_class_the_source_does_not_label_is_neither_right_nor_wrong(two_sources):
    class Scripted:
        def detect(self, image):
            return (Detection("cup", 0.9, (10.0, 10.0, 30.0, 30.0)),  # right on the cup photo
                    Detection("monitor", 0.8, (30.0, 30.0, 70.0, 70.0)))  # right on the screen photo

    results = detect_folder(Scripted(), NAMES, two_sources, "val", labelled_classes_by_source(two_sources, 3))
    by_name = {r.truth.image.stem: r for r in results}
    assert by_name["cups__a"].classes.tolist() == [0]  # the 'monitor' on a cup photo is left out
    assert by_name["screens__b"].classes.tolist() == [1]
    full = detect_folder(Scripted(), NAMES, two_sources, "val", None)
    assert [len(r.classes) for r in full] == [2, 2]
