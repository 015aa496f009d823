"""A tiny real YOLO model built from ultralytics' yaml (untrained), registered with a card."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")


def build_tiny_model(folder, classes=None, imgsz=160):
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from inspector.classes import CANONICAL_CLASSES
    from models.registry import ModelCard, sha256_of, write_card

    classes = list(classes or CANONICAL_CLASSES)
    torch.manual_seed(0)
    network = DetectionModel("yolov8n.yaml", nc=len(classes), verbose=False)
    network.names = dict(enumerate(classes))
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "weights.pt"
    torch.save({"model": network, "train_args": {"imgsz": imgsz}}, weights)
    card = ModelCard(name=folder.name, version="0.0.1", weights="weights.pt", sha256=sha256_of(weights),
                     imgsz=imgsz, confidence=1e-9, classes=classes, default_backend="torch")
    write_card(card, folder / "card.yaml")
    return folder / "card.yaml"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("registry") / "tiny")
