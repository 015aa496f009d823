"""A model's classes onto item ids: several network classes merged into one id (the best of their
scores), classes the card does not map dropped, and the COCO bridge run as any model is."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.classes import CANONICAL_CLASSES
from inspector.errors import ModelError
from models.detector import ClassGroups, map_class_names
from models.registry import load_detector

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "front-counter" / "photos"


def test_merged_classes_score_their_best_and_dropped_ones_vanish():
    names = {0: "person", 1: "handbag", 2: "cup", 3: "backpack"}
    ids = map_class_names(names, {"handbag": "bag", "backpack": "bag", "cup": "cup"}, set(), "card", drop_unmapped=True)
    assert ids == {1: "bag", 2: "cup", 3: "bag"}
    groups = ClassGroups.of(ids)
    assert groups.ids == ("bag", "cup") and groups.rows == ((1, 3), (2,))
    output = np.zeros((1, 4 + 4, 2))
    output[0, :4] = [[10, 20], [10, 20], [4, 4], [4, 4]]
    output[0, 4:, 0] = [0.9, 0.2, 0.1, 0.6]  # a person; as a bag 0.6 (backpack), as a cup 0.1
    output[0, 4:, 1] = [0.0, 0.3, 0.7, 0.1]
    reduced = groups.reduce(output)
    assert reduced.shape == (1, 4 + 2, 2)
    np.testing.assert_allclose(reduced[0, 4:], [[0.6, 0.3], [0.1, 0.7]])
    np.testing.assert_allclose(reduced[0, :4], output[0, :4])
    assert ClassGroups.of({0: "cup", 1: "monitor"}).is_identity(2)


def test_unmapped_classes_are_still_an_error_unless_the_card_drops_them():
    with pytest.raises(ModelError, match=r"\['person'\] map to no item id"):
        map_class_names({0: "person", 1: "cup"}, {}, set(), "card")
    with pytest.raises(ModelError, match="no model class maps"):
        map_class_names({0: "person"}, {}, set(), "card", drop_unmapped=True)


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_the_coco_bridge_reports_item_ids_only(backend, tmp_path):
    model = "coco-yolov8n"
    if backend == "onnx":  # the repository ships the bridge's PyTorch weights; ONNX is one export away
        import shutil

        from models.registry import resolve_card
        from models.training import export_onnx

        shutil.copytree(resolve_card(model).parent, tmp_path / model)
        export_onnx(str(tmp_path / model / "card.yaml"))
        model = str(tmp_path / model / "card.yaml")
    detector = load_detector(model, backend=backend, confidence=0.05)
    assert set(detector.class_ids.values()) <= set(CANONICAL_CLASSES)
    image = cv2.imread(str(sorted(EXAMPLE.glob("*.jpg"))[0]))
    detections = detector.detect(image)
    assert detections and {d.class_name for d in detections} <= set(detector.class_ids.values())
