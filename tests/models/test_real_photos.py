"""The bundled model on real photos (the shared real validation split, judged by source), where
../shared is here: a floor under the figure the card records, so a model that forgets real photos
(as the renders-only v0.10.0 did: mAP50 0.0001) cannot be bundled unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.evaluation import evaluate
from models.registry import DEFAULT_MODEL, read_card, resolve_card

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-desk"


@pytest.mark.skipif(not (REAL / "images" / "val").is_dir(), reason="needs ../shared/data/real-desk")
def test_the_bundled_model_sees_real_photos_as_its_card_says(tmp_path):
    card = read_card(resolve_card(DEFAULT_MODEL))
    recorded = card.metrics["real-val"]  # measured on the FP32 export (backend onnx)
    metrics = evaluate(DEFAULT_MODEL, REAL, "val", out_dir=tmp_path / "onnx", backend="onnx")
    assert metrics["classes_judged"] == ["monitor", "pen", "keyboard", "mobile_phone", "bottle"]
    assert metrics["mAP50"] == pytest.approx(recorded["mAP50"], abs=0.005)  # the same path, the same figure
    assert metrics["mAP50"] >= 0.38 and metrics["per_class"]["bottle"]["ap50"] >= 0.6
    if card.default_backend != "onnx":  # what inspect runs (an INT8 backend) may lose at most 0.01 of it
        default = evaluate(DEFAULT_MODEL, REAL, "val", out_dir=tmp_path / "default")
        assert default["mAP50"] >= recorded["mAP50"] - 0.01, (card.default_backend, default["mAP50"])
