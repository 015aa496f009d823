import numpy as np
import pytest
import yaml

from inspector.errors import ModelError
from models.registry import load_detector, read_card, resolve_card

from .conftest import build_tiny_model


def test_tiny_model_from_yaml_runs_and_maps_classes(tiny_model):
    detector = load_detector(str(tiny_model))
    image = np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    detections = detector.detect(image)
    assert detector.ref.name == "tiny" and len(detector.ref.sha256) == 64
    assert detections, "an untrained network at a near-zero threshold still proposes boxes"
    for d in detections:
        assert 0 <= d.bbox_px[0] < d.bbox_px[2] <= 1280 and 0 <= d.bbox_px[1] < d.bbox_px[3] <= 720
        assert d.class_name in read_card(tiny_model).classes


def test_weights_path_resolves_to_its_card(tiny_model):
    assert resolve_card(str(tiny_model.parent / "weights.pt")) == tiny_model


def test_missing_corrupt_and_unmapped_models_name_the_file(tmp_path, tiny_model):
    with pytest.raises(ModelError, match="no such model"):
        load_detector("no-such-model", registry=tmp_path)
    corrupt = build_tiny_model(tmp_path / "corrupt")
    (corrupt.parent / "weights.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="sha256") as error:
        load_detector(str(corrupt))
    assert "weights.pt" in str(error.value)
    # a checkpoint whose bytes match the card but are not a model
    card = yaml.safe_load(corrupt.read_text())
    from models.registry import sha256_of

    card["sha256"] = sha256_of(corrupt.parent / "weights.pt")
    corrupt.write_text(yaml.safe_dump(card))
    with pytest.raises(ModelError, match="not a usable YOLO model"):
        load_detector(str(corrupt))
    unmapped = build_tiny_model(tmp_path / "unmapped", classes=["cup", "spaceship"])
    with pytest.raises(ModelError, match="spaceship"):
        load_detector(str(unmapped))


def test_per_class_thresholds_filter_each_class_at_its_own_confidence():
    from models.inference import Letterbox, postprocess

    # two anchors in a 2-class output, both scoring 0.3: one for class 0, one for class 1
    output = np.zeros((1, 6, 2), dtype=np.float32)
    output[0, :4, 0] = [20, 20, 10, 10]
    output[0, :4, 1] = [60, 60, 10, 10]
    output[0, 4, 0] = output[0, 5, 1] = 0.3
    placement = Letterbox(1.0, 0.0, 0.0)
    _, _, classes = postprocess(output, placement, (100, 100), np.array([0.2, 0.5]))
    assert classes.tolist() == [0]
    _, _, classes = postprocess(output, placement, (100, 100), 0.2)
    assert sorted(classes.tolist()) == [0, 1]


def test_same_class_near_twins_over_the_nms_overlap_become_one_box_other_classes_stay():
    from models.inference import NMS_IOU, Letterbox, postprocess

    # a thin pen-like box 40x4 and a twin shifted 10 px along it: IoU = 30*4 / (2*160 - 120) = 0.6,
    # over the 0.5 overlap, so the weaker twin goes; the same boxes as two classes both stay
    output = np.zeros((1, 6, 2), dtype=np.float32)
    output[0, :4, 0] = [40, 50, 40, 4]
    output[0, :4, 1] = [50, 50, 40, 4]
    output[0, 4, 0], output[0, 4, 1] = 0.8, 0.6
    placement = Letterbox(1.0, 0.0, 0.0)
    assert NMS_IOU == 0.5
    boxes, scores, classes = postprocess(output, placement, (100, 100), 0.25)
    assert classes.tolist() == [0] and scores.tolist() == pytest.approx([0.8])
    assert boxes[0].tolist() == pytest.approx([20, 48, 60, 52])
    # ultralytics' 0.7 keeps both: the near-twin the README describes
    assert len(postprocess(output, placement, (100, 100), 0.25, iou=0.7)[0]) == 2
    output[0, 4, 1], output[0, 5, 1] = 0.0, 0.6  # the twin as the other class
    assert sorted(postprocess(output, placement, (100, 100), 0.25)[2].tolist()) == [0, 1]


def test_card_class_confidence_reaches_the_detector_and_a_given_confidence_replaces_it(tmp_path):
    card_path = build_tiny_model(tmp_path / "tiny")
    card = yaml.safe_load(card_path.read_text())
    card["class_confidence"] = {"cup": 0.4}
    card_path.write_text(yaml.safe_dump(card))
    detector = load_detector(str(card_path))
    assert detector.class_confidence == {"cup": 0.4} and detector._thresholds[0] == 0.4
    assert detector._thresholds[1] == pytest.approx(1e-9)
    assert load_detector(str(card_path), confidence=0.3).class_confidence == {}
    card["class_confidence"] = {"spaceship": 0.4}
    card_path.write_text(yaml.safe_dump(card))
    with pytest.raises(ModelError, match="spaceship") as error:
        load_detector(str(card_path))
    assert "weights.pt" in str(error.value)
