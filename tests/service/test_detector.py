"""The detector path: a real (tiny, untrained) ultralytics model loaded once at start-up."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.service.conftest import HEADERS, make_settings

os.environ.setdefault("YOLO_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A yolov8n-shaped network built from its yaml (random weights) with a registry card beside it."""
    torch = pytest.importorskip("torch")
    from ultralytics.nn.tasks import DetectionModel

    from inspector.classes import CANONICAL_CLASSES
    from models.registry import ModelCard, sha256_of, write_card

    folder = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=len(CANONICAL_CLASSES), verbose=False)
    model.names = dict(enumerate(CANONICAL_CLASSES))
    weights = folder / "tiny.pt"
    torch.save({"model": model, "train_args": {}}, weights)
    card = ModelCard(name="tiny-test", version="0.0.1", weights="tiny.pt", sha256=sha256_of(weights),
                     imgsz=320, confidence=0.25, classes=list(CANONICAL_CLASSES))
    return write_card(card, folder / "card.yaml")


@pytest.mark.slow
def test_uploads_without_detections_use_the_model_loaded_at_start_up(site, sample, tiny_model, monkeypatch):
    from models import registry

    loads = []
    real_load = registry.load_detector
    monkeypatch.setattr(registry, "load_detector", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    app = create_app(make_settings(site, model=str(tiny_model)))
    with TestClient(app) as client:
        ready = client.get("/api/v1/ready").json()
        assert ready["model"]["name"] == "tiny-test" and ready["detections_required"] is False
        for _ in range(2):
            response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id}, headers=HEADERS,
                                   files={"image": ("desk.jpg", sample.photo, "image/jpeg")})
            assert response.status_code == 201, response.text
            report = response.json()["report"]
            assert report["model"]["name"] == "tiny-test" and report["model"]["version"] == "0.0.1"
            assert "detect" in report["timings_ms"]
        # detections sent with the image still take precedence over the model
        response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id}, headers=HEADERS,
                               files={"image": ("desk.jpg", sample.photo, "image/jpeg"),
                                      "detections": ("d.json", sample.detections, "application/json")})
        assert response.status_code == 201 and response.json()["report"]["model"] is None
    assert len(loads) == 1  # once at start-up, not per request
    assert app.state.unexpected_errors == 0


def test_auto_without_a_bundled_model_falls_back_to_detections(site, sample, monkeypatch):
    from inspector.errors import ModelError
    from models import registry

    def no_model(name, **_):
        raise ModelError("no such model (registry models: none)", name)

    monkeypatch.setattr(registry, "load_detector", no_model)
    with TestClient(create_app(make_settings(site, model="auto"))) as client:
        ready = client.get("/api/v1/ready").json()
        assert ready["model"] is None and ready["detections_required"] is True
        assert ready["note"].startswith("no bundled model")
        response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id}, headers=HEADERS,
                               files={"image": ("desk.jpg", sample.photo, "image/jpeg")})
        assert response.status_code == 409
