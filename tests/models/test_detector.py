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
