"""`desk-inspector models list|show|compare|promote|rollback` and `train --base current`: exit
codes (1 refused by the gate, 2 bad input), the figures printed, nothing written on refusal."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from inspector.cli import app
from models.registry import DEFAULT_MODEL, REGISTRY_ENV
from models.versions import current_model, promoted_path, read_record
from tests.models.gate_data import make_candidate, make_heldout_folder

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def site(tmp_path, monkeypatch):
    registry = tmp_path / "site-registry"
    registry.mkdir()
    monkeypatch.setenv(REGISTRY_ENV, str(registry))
    return registry


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    return make_heldout_folder(tmp_path_factory.mktemp("heldout") / "examples")


def test_list_marks_the_current_model_and_shows_site_models(site):
    make_candidate(site, "desk-site")
    listed = _run("models", "list")
    assert listed.exit_code == 0, listed.output
    lines = {line.split()[1] if line.startswith("*") else line.split()[0]: line for line in listed.output.splitlines()
             if "  v" in line}
    assert lines[DEFAULT_MODEL].startswith("*") and not lines["desk-site"].startswith("*")
    assert "nothing promoted" in listed.output
    assert _run("models").output == listed.output  # `models` alone lists, as it always did
    shown = _run("models", "show", DEFAULT_MODEL)
    assert shown.exit_code == 0 and "sha256:" in shown.output and "this is the current model" in shown.output


def test_compare_then_promote_refused_then_passed_then_rollback(site, heldout, tmp_path):
    make_candidate(site, "desk-strict", confidence=0.95, class_confidence={})
    out = tmp_path / "compare.json"
    compared = _run("models", "compare", "desk-strict", DEFAULT_MODEL, "--on", heldout, "--out", out,
                    "--tolerance", "min_instances=1")
    assert compared.exit_code == 0, compared.output
    assert "mAP50" in compared.output and "verdict agreement" in compared.output and "would refuse" in compared.output
    assert json.loads(out.read_text())["candidate"]["name"] == "desk-strict"

    refused = _run("models", "promote", "desk-strict", "--comparison", out, "--tolerance", "min_instances=1")
    assert refused.exit_code == 1, refused.output
    assert "refused" in refused.output and "WORSE" in refused.output and "recall cup" in refused.output
    assert not promoted_path().exists() and current_model() == DEFAULT_MODEL

    make_candidate(site, "desk-same")  # the same network and thresholds: no figure moves
    promoted = _run("models", "promote", "desk-same", "--on", heldout, "--by", "ann")
    assert promoted.exit_code == 0, promoted.output
    assert "promoted desk-same v1.0.1" in promoted.output
    assert current_model() == "desk-same" and read_record().current.promoted_by == "ann"
    listed = _run("models", "list").output
    assert next(line for line in listed.splitlines() if "desk-same" in line).startswith("*")
    # the saved comparison was made against the bundled model, which is no longer current
    stale = _run("models", "promote", "desk-strict", "--comparison", out)
    assert stale.exit_code == 2 and "compare again" in stale.output

    back = _run("models", "rollback")
    assert back.exit_code == 0 and f"{DEFAULT_MODEL} v1.0.0 is current again" in back.output
    again = _run("models", "rollback")
    assert again.exit_code == 2 and "nothing to roll back" in again.output


def test_bad_input_is_exit_2_and_writes_nothing(site, heldout, tmp_path):
    missing = make_candidate(site, "desk-missing")
    (missing.parent / "weights.pt").unlink()
    altered = make_candidate(site, "desk-altered", copy_files=True)
    with open(altered.parent / "weights.onnx", "ab") as weights:
        weights.write(b"\0")
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "not.json").write_text("{", encoding="utf-8")
    cases = [
        (("models", "promote", "desk-missing", "--on", heldout), "missing"),
        (("models", "promote", "desk-altered", "--on", heldout), "does not match the card"),
        (("models", "promote", "no-such-model", "--on", heldout), "no such model"),
        (("models", "promote", "desk-altered"), "--comparison FILE"),
        (("models", "promote", "desk-altered", "--comparison", tmp_path / "not.json"), "unreadable"),
        (("models", "promote", "desk-altered", "--on", tmp_path / "nowhere"), "not a folder"),
        (("models", "compare", "desk-altered", DEFAULT_MODEL, "--on", empty), "no images"),
        (("models", "compare", "desk-altered", DEFAULT_MODEL, "--on", heldout, "--tolerance", "x=1"), "--tolerance"),
        (("models", "show", "no-such-model"), "no such model"),
    ]
    for args, message in cases:
        result = _run(*args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    assert not promoted_path().exists()
    assert sorted(p.name for p in site.iterdir()) == ["desk-altered", "desk-missing"]  # nothing else written


def test_train_refuses_to_overwrite_the_current_model(site, heldout, tmp_path):
    result = _run("train", "--data", heldout / "data.yaml", "--name", DEFAULT_MODEL, "--base", "current",
                  "--runs", tmp_path / "runs")
    assert result.exit_code == 2 and "new name" in result.output, result.output
    assert not (site / DEFAULT_MODEL).exists() and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_train_base_current_makes_a_candidate_in_the_site_registry(site, heldout, tmp_path):
    """One epoch at 64 px on the four photos (about 10 s): a candidate in the site registry, the
    current model's thresholds kept, ready for compare."""
    result = _run("train", "--data", heldout / "data.yaml", "--name", "desk-candidate", "--base", "current",
                  "--epochs", "1", "--imgsz", "64", "--batch", "4", "--workers", "0", "--runs", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    from models.registry import read_card, resolve_card

    card = read_card(site / "desk-candidate" / "card.yaml")
    bundled = read_card(resolve_card(DEFAULT_MODEL))
    assert card.confidence == bundled.confidence and card.class_confidence == bundled.class_confidence
    assert card.training["base"] == DEFAULT_MODEL and "kept from" in card.training["thresholds"]
    listed = _run("models", "list").output
    assert "desk-candidate" in listed
