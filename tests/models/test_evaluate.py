"""evaluate on a rendered labelled folder with the bundled model: the card's own thresholds or one
given for every class, per-class F1 consistent with precision and recall, recall by size adding up
to each class's recall, and no --record of metrics measured at a threshold the card does not use."""

from __future__ import annotations

import pytest

from inspector.errors import ModelError
from models.registry import DEFAULT_MODEL, read_card, resolve_card
from models.synth.dataset import DatasetSettings, write_dataset
from models.evaluation import evaluate


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("heldout")
    write_dataset(folder, 3, DatasetSettings(seed=77, imgsz=640, val_fraction=1.0))
    return folder


def test_the_cards_thresholds_or_one_given_for_every_class(rendered, tmp_path):
    card = read_card(resolve_card(DEFAULT_MODEL))
    own = evaluate(DEFAULT_MODEL, rendered, "val", out_dir=tmp_path / "own")
    assert own["confidence"] == card.confidence and own["class_confidence"] == card.class_confidence
    single = evaluate(DEFAULT_MODEL, rendered, "val", out_dir=tmp_path / "single", confidence=0.5)
    assert single["confidence"] == 0.5 and "class_confidence" not in single
    assert single["mAP50"] == own["mAP50"]  # mAP does not depend on the threshold
    for metrics in (own, single):
        rows = [row for row in metrics["per_class"].values() if row["instances"]]
        assert rows and metrics["mean_f1"] == pytest.approx(sum(row["f1"] for row in rows) / len(rows), abs=1e-4)
        for row in rows:
            if row["precision"]:
                p, r = row["precision"], row["recall"]
                assert row["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0, abs=2e-4)
        for name, bins in metrics["recall_by_size"].items():  # the size bins split the class's own recall
            row = metrics["per_class"][name]
            assert sum(cell["instances"] for cell in bins.values()) == row["instances"]
            hits = sum(round(cell["instances"] * cell["recall"]) for cell in bins.values() if cell["instances"])
            assert hits == round(row["instances"] * row["recall"])
    assert (tmp_path / "single" / "confusion_matrix.png").is_file()
    assert (tmp_path / "single" / "recall_by_size.png").is_file()


def test_recording_metrics_at_a_given_confidence_is_refused(rendered, tmp_path):
    with pytest.raises(ModelError, match="card's own thresholds"):
        evaluate(DEFAULT_MODEL, rendered, "val", out_dir=tmp_path, record=True, confidence=0.5)
