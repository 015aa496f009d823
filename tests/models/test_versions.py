"""models.versions: promote through the gate (refused / passed, nothing written on refusal),
rollback, bad models (missing files, sha256 mismatch, unknown names), names training may not
overwrite; and the service following a promotion without a restart."""

from __future__ import annotations

import pytest

from inspector.errors import ModelError
from models.compare import Tolerances
from models.registry import DEFAULT_MODEL, REGISTRY_ENV
from models.versions import (GateRefused, PromotionRecord, check_new_model_name, current_card, current_model,
                             identify, promote, promoted_path, read_record, rollback, write_record)
from tests.models.gate_data import make_candidate


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An empty site registry ($DESK_INSPECTOR_REGISTRY): nothing promoted yet."""
    registry = tmp_path / "site-registry"
    registry.mkdir()
    monkeypatch.setenv(REGISTRY_ENV, str(registry))
    return registry


def _comparison(candidate_card, current_card_path, candidate_recall: float, current_recall: float = 0.8) -> dict:
    """A comparison as compare_models writes it, with hand-made figures, for exactly these models."""
    def side(recall):
        return {"mAP50": 0.6, "recall": {"cup": recall}, "instances": {"cup": 50},
                "verdicts": {"images": 20, "agreement": 0.9, "kappa": 0.8, "disagreements": [{"image": "a.jpg"}]}}
    return {"kind": "desk-inspector model comparison", "candidate": identify(candidate_card).model_dump(),
            "current": identify(current_card_path).model_dump(),
            "folders": {"real": {"path": "/x", "images": 50, "candidate": side(candidate_recall),
                                 "current": side(current_recall)}}}


def test_a_worse_candidate_is_refused_with_its_figures_and_nothing_written(site):
    card = make_candidate(site, "desk-worse", confidence=0.9)
    with pytest.raises(GateRefused) as refused:
        promote("desk-worse", _comparison(card, current_card(), candidate_recall=0.7))
    failed = [check for check in refused.value.checks if check.passed is False]
    assert [check.figure for check in failed] == ["recall cup"]
    assert "0.700 vs 0.800" in refused.value.message and "nothing written" in refused.value.message
    assert not promoted_path().exists() and current_model() == DEFAULT_MODEL
    # a looser tolerance lets the same figures through
    record, _ = promote("desk-worse", _comparison(card, current_card(), candidate_recall=0.7),
                        Tolerances(recall_drop=0.1), by="tester")
    assert record.current.name == "desk-worse" and record.current.promoted_by == "tester"
    assert record.current.figures["tolerances"]["recall_drop"] == 0.1


def test_promote_then_rollback(site):
    first = make_candidate(site, "desk-a")
    record, checks = promote("desk-a", _comparison(first, current_card(), candidate_recall=0.8), by="ann")
    assert all(check.passed is not False for check in checks)
    assert current_model() == "desk-a" and current_card().resolve() == first.resolve()
    assert [entry.name for entry in record.history] == [DEFAULT_MODEL]
    # the per-image disagreements stay in the comparison file, not in the record
    assert "disagreements" not in record.current.figures["folders"]["real"]["candidate"]["verdicts"]
    assert read_record() == record

    second = make_candidate(site, "desk-b", version="1.0.2")
    promote("desk-b", _comparison(second, current_card(), candidate_recall=0.85))
    assert current_model() == "desk-b"
    assert [entry.name for entry in read_record().history] == ["desk-a", DEFAULT_MODEL]

    back = rollback(by="bob")
    assert current_model() == "desk-a" and back.rolled_back[0].name == "desk-b"
    assert back.rolled_back[0].rolled_back_by == "bob"
    rollback()
    assert current_model() == DEFAULT_MODEL and read_record().history == []
    with pytest.raises(ModelError, match="nothing to roll back"):
        rollback()


def test_a_comparison_of_other_models_is_refused(site):
    candidate = make_candidate(site, "desk-c")
    other = make_candidate(site, "desk-d")
    stale = _comparison(other, current_card(), candidate_recall=0.9)  # made for another candidate
    with pytest.raises(ModelError, match="compare again"):
        promote("desk-c", stale)
    against_other = _comparison(candidate, other, candidate_recall=0.9)  # against a model that is not current
    with pytest.raises(ModelError, match="comparison's current"):
        promote("desk-c", against_other)
    with pytest.raises(ModelError, match="current model already"):
        promote(DEFAULT_MODEL, _comparison(candidate, current_card(), candidate_recall=0.9))
    assert not promoted_path().exists()


def test_missing_or_altered_weights_and_unknown_names_are_refused(site):
    missing = make_candidate(site, "desk-missing")
    comparison = _comparison(missing, current_card(), candidate_recall=0.9)
    (missing.parent / "weights.onnx").unlink()
    with pytest.raises(ModelError, match="missing"):
        promote("desk-missing", comparison)
    altered = make_candidate(site, "desk-altered", copy_files=True)
    comparison = _comparison(altered, current_card(), candidate_recall=0.9)
    with open(altered.parent / "weights.pt", "ab") as weights:
        weights.write(b"\0")
    with pytest.raises(ModelError, match="does not match the card"):
        promote("desk-altered", comparison)
    with pytest.raises(ModelError, match="no such model"):
        promote("no-such-model", comparison)
    assert not promoted_path().exists()


def test_rollback_refuses_a_target_whose_files_changed(site):
    first = make_candidate(site, "desk-e", copy_files=True)
    promote("desk-e", _comparison(first, current_card(), candidate_recall=0.8))
    second = make_candidate(site, "desk-f")
    promote("desk-f", _comparison(second, current_card(), candidate_recall=0.8))
    before = promoted_path().read_bytes()
    with open(first.parent / "weights.pt", "ab") as weights:
        weights.write(b"\0")
    with pytest.raises(ModelError, match="does not match"):
        rollback()
    assert promoted_path().read_bytes() == before


def test_training_never_overwrites_the_current_or_a_rollback_target(site):
    with pytest.raises(ModelError, match="new name"):
        check_new_model_name(DEFAULT_MODEL, site)  # the bundled default is current while nothing is promoted
    check_new_model_name("desk-candidate-1", site)
    card = make_candidate(site, "desk-g")
    promote("desk-g", _comparison(card, current_card(), candidate_recall=0.8))
    for name in ("desk-g", DEFAULT_MODEL):
        with pytest.raises(ModelError, match="new name"):
            check_new_model_name(name, site)


# -- the service follows promotions -------------------------------------------------------------
def test_the_service_uses_the_promoted_model_without_a_restart(tmp_path, site, monkeypatch):
    """Model 'auto' loads the current model and reloads when promoted.yaml changes (a stat per
    request); reports name the model that made them."""
    from fastapi.testclient import TestClient

    from calibration.camera import save_camera
    from models import registry as registry_module
    from models.versions import default_entry
    from service.main import create_app
    from tests.models.conftest import build_tiny_model
    from tests.service import scene
    from tests.service.conftest import HEADERS, make_settings

    loads = []
    real_load = registry_module.load_detector
    monkeypatch.setattr(registry_module, "load_detector", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    tiny_a, tiny_b = build_tiny_model(site / "tiny-a"), build_tiny_model(site / "tiny-b")

    def make_current(card, history):
        from models.versions import _entry

        write_record(PromotionRecord(current=_entry(identify(card), site), history=history))

    make_current(tiny_a, [default_entry()])
    camera = scene.make_camera()
    save_camera(camera, tmp_path / "cameras" / f"{scene.CAMERA_ID}.yaml")
    photo, _ = scene.make_photo(camera)
    app = create_app(make_settings(tmp_path, model="auto"))
    with TestClient(app) as client:
        assert client.get("/api/v1/ready").json()["model"]["name"] == "tiny-a"
        assert client.get("/api/v1/ready").json()["model"]["name"] == "tiny-a"
        assert len(loads) == 1  # unchanged record: no reload
        make_current(tiny_b, [read_record().current])
        response = client.post("/api/v1/inspections", data={"camera_id": scene.CAMERA_ID}, headers=HEADERS,
                               files={"image": ("desk.jpg", photo, "image/jpeg")})
        assert response.status_code == 201, response.text
        assert response.json()["report"]["model"]["name"] == "tiny-b"
        ready = client.get("/api/v1/ready").json()
        assert ready["model"]["name"] == "tiny-b" and "changed" in ready["note"]
        # a promoted model that does not load leaves the one in use
        (tiny_a.parent / "weights.pt").unlink()
        make_current(tiny_a, [read_record().current])
        ready = client.get("/api/v1/ready").json()
        assert ready["model"]["name"] == "tiny-b" and "could not be loaded" in ready["note"]
    assert loads == ["tiny-a", "tiny-b", "tiny-a"]
    assert app.state.unexpected_errors == 0


def test_the_batch_uses_the_promoted_model(tmp_path, site):
    """A camera that names no model and no detections is judged by the current model."""
    import yaml

    from inspector.batch.site import load_site
    from tests.batch import scenes
    from tests.batch.conftest import STANDARD

    scenes.scene_camera("window-01", (640, 360), seed=0).camera_file(tmp_path / "window-01.yaml")
    spec = {"id": "centre", "timezone": "Asia/Shanghai", "defaults": {"standard": str(STANDARD)},
            "halls": [{"id": "hall-a", "cameras": [{"calibration": str(tmp_path / "window-01.yaml"),
                                                     "snapshots": str(tmp_path / "w1")}]}]}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert load_site(tmp_path / "site.yaml").cameras["window-01"].model == DEFAULT_MODEL
    card = make_candidate(site, "desk-night")
    promote("desk-night", _comparison(card, current_card(), candidate_recall=0.8))
    assert load_site(tmp_path / "site.yaml").cameras["window-01"].model == "desk-night"
