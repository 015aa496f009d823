"""The bundled default model on the bundled example photos: it must find the example's items.

The example's detections files hold the true boxes of every item (rendered truth), so this is a
real check of the shipped weights, not of a stand-in: a model that was trained wrong, exported
wrong or thresholded too strictly fails here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.detections_io import load_detections
from inspector.frames import read_image_file
from models.registry import DEFAULT_MODEL, load_detector
from models.evaluation import found_true

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "front-counter"
PHOTOS = sorted((EXAMPLE / "photos").glob("*.jpg"))


@pytest.fixture(scope="module")
def detector():
    return load_detector(DEFAULT_MODEL)  # the card's default backend and thresholds, as `inspect` uses


def _boxes_and_classes(detections):
    ordered = sorted(detections, key=lambda d: -d.confidence)  # the matching takes the surest first
    return np.array([d.bbox_px for d in ordered], dtype=float).reshape(-1, 4), [d.class_name for d in ordered]


def test_the_bundled_model_finds_the_example_items(detector):
    found_per_photo = {}
    for photo in PHOTOS:
        true_boxes, true_classes = _boxes_and_classes(load_detections(EXAMPLE / "detections" / f"{photo.stem}.json"))
        pred_boxes, pred_classes = _boxes_and_classes(detector.detect(read_image_file(photo)))
        found = found_true(pred_boxes, pred_classes, true_boxes, true_classes)
        found_per_photo[photo.name] = (int(found.sum()), len(found),
                                       [c for c, hit in zip(true_classes, found) if not hit])
        # a false item can break a rule as surely as a missed one: few detections beyond the items
        assert len(pred_classes) - int(found.sum()) <= 2, (photo.name, pred_classes)
    assert len(found_per_photo) == 4
    found_items = sum(hit for hit, _, _ in found_per_photo.values())
    all_items = sum(total for _, total, _ in found_per_photo.values())
    # 41 items on the four desks; the bundled model misses at most a few (the keyboard the bag
    # hides at 13:45 among them): the README lists what it finds.
    assert found_items >= 0.9 * all_items, found_per_photo
    for name, (hit, total, missed) in found_per_photo.items():
        assert hit >= total - 2, (name, missed)
