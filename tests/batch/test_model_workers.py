"""With a real model (an untrained YOLOv8n built from its yaml: the same compute as a trained
one), each worker process loads it once, at start, and every report names it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from inspector.batch.runner import run_batch
from inspector.history import History, InspectionRow
from tests.batch import scenes as S
from tests.batch.conftest import STANDARD

pytest.importorskip("ultralytics")


def build_untrained_model(folder: Path) -> Path:
    """weights + card, offline: nothing is downloaded."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from inspector.classes import CANONICAL_CLASSES
    from models.registry import ModelCard, sha256_of, write_card

    folder.mkdir(parents=True, exist_ok=True)
    model = DetectionModel("yolov8n.yaml", nc=len(CANONICAL_CLASSES), verbose=False)
    model.names = dict(enumerate(CANONICAL_CLASSES))
    weights = folder / "untrained-yolov8n.pt"
    torch.save({"model": model, "train_args": {}}, weights)
    card = ModelCard(name="untrained-yolov8n", version="0", weights=weights.name, sha256=sha256_of(weights),
                     classes=list(CANONICAL_CLASSES), notes="untrained: for tests and throughput only")
    return write_card(card, folder / "card.yaml")


@pytest.mark.slow
def test_each_worker_loads_the_model_once_and_reports_name_it(tmp_path):
    card = build_untrained_model(tmp_path / "model")
    cam = S.scene_camera("window-01", (640, 360))
    cam.camera_file(tmp_path / "window-01.yaml")
    for k in range(6):
        S.write_jpeg(tmp_path / "photos" / f"window-01_2026-11-20T2{k}-00-00.jpg", S.sensor_noise(S.render(cam), k))
    S.write_yaml(tmp_path / "site.yaml", {"id": "m", "defaults": {"standard": str(STANDARD), "model": "model/card.yaml"},
                                          "halls": [{"id": "h", "cameras": [{"calibration": "window-01.yaml", "snapshots": "photos"}]}]})
    url = f"sqlite:///{tmp_path / 'history.db'}"
    summary = run_batch(tmp_path / "site.yaml", tmp_path / "out", workers=2, database_url=url, progress=False)
    assert summary.inspected_now == 6 and summary.errors == 0
    assert 1 <= len(summary.worker_stats) <= 2
    assert all(loads == 1 for _, loads, _ in summary.worker_stats)  # once per worker, never per image
    assert sum(n for _, _, n in summary.worker_stats) == 6
    history = History(url)
    rows = history.list(limit=10).rows
    assert len(rows) == 6 and {r.status for r in rows} == {"ok"}
    for row in rows:
        assert isinstance(row, InspectionRow)
        report = json.loads(row.report_json)
        assert report["model"]["name"] == "untrained-yolov8n" and report["model"]["sha256"] == card.parent.joinpath(
            "card.yaml").read_text().split("sha256: ")[1].split()[0]
