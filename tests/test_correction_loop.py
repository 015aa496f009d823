"""The corrections loop end to end (issue 20, item 5): supervisors correct inspections in real
Chromium, the corrections become a YOLO dataset, a candidate is fine-tuned from the current model on
it, and the gate refuses it on the held-out split at the default tolerances, then promotes it when the
site's tolerances allow the difference, and rolls back.

The photos are the bundled example (renders), uploaded with their detections files to a real uvicorn
on 127.0.0.1, each on a day of its own so that the export's camera-day split has both a train and a
val part. The candidate trains one epoch at 64 px: worse than the bundled model by construction, so
the refusal is certain and the test stays under a minute.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from inspector.cli import app
from models.registry import DEFAULT_MODEL, REGISTRY_ENV
from models.versions import current_model, promoted_path, read_record
from tests.service.conftest import HEADERS, KEY, LiveServer, make_settings
from tests.service.page_helpers import CHROMIUM, correct_in_page, launch_chromium, open_page

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "front-counter"
CAMERA = REPO / "calibration" / "cameras" / "window-01.yaml"
runner = CliRunner()

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium")]


def _cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


@pytest.fixture
def site(tmp_path, monkeypatch):
    registry = tmp_path / "site-registry"
    registry.mkdir()
    monkeypatch.setenv(REGISTRY_ENV, str(registry))
    cameras = tmp_path / "cameras"
    cameras.mkdir()
    shutil.copy(CAMERA, cameras / CAMERA.name)
    return tmp_path


def _upload(server, photo: Path, day: int) -> dict:
    detections = EXAMPLE / "detections" / f"{photo.stem}.json"
    with photo.open("rb") as image, detections.open("rb") as boxes:
        response = httpx.post(
            f"{server.url}/api/v1/inspections", headers=HEADERS, timeout=60,
            data={"camera_id": "window-01", "captured_at": f"2026-11-{day:02d}T{photo.stem[-8:-6]}:00:00+00:00"},
            files={"image": (photo.name, image, "image/jpeg"), "detections": (detections.name, boxes, "application/json")})
    assert response.status_code == 201, response.text
    return response.json()


def test_correct_in_the_page_export_fine_tune_and_gate(site, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    settings = make_settings(site, cameras_dir=site / "cameras")
    photos = sorted((EXAMPLE / "photos").glob("*.jpg"))
    from service.main import create_app

    with LiveServer(create_app(settings)) as server, sync_api.sync_playwright() as playwright:
        inspections = [_upload(server, photo, day) for day, photo in enumerate(photos, start=20)]
        browser = launch_chromium(playwright)
        try:
            page, errors = open_page(browser, server.url, KEY)
            deleted = None
            for inspection in inspections:
                items = {item["class"]: item["id"] for item in inspection["report"]["items"]}
                # a supervisor removes the phone where there is one (say it was a reflection) and
                # confirms every verdict: only confirmed inspections are exported
                delete = [items["mobile_phone"]] if "mobile_phone" in items else []
                deleted = deleted or (inspection["id"] if delete else None)
                run = correct_in_page(page, server.url, inspection["id"], delete=delete, verdict_confirmed=True,
                                      author="loop")
                assert run.revision == 1 and not run.conflict, run.status
            assert deleted is not None and not errors, errors
        finally:
            browser.close()

    # corrections -> dataset: every confirmed photo, the deleted phone gone from its labels
    export = tmp_path / "export"
    exported = _cli("dataset", "export", "--out", export, "--database", settings.db_url, "--data-dir",
                    settings.data_dir, "--cameras-dir", site / "cameras", "--val-fraction", "0.5")
    assert exported.exit_code == 0, exported.output
    train_images = list((export / "images" / "train").iterdir())
    val_images = list((export / "images" / "val").iterdir())
    assert len(train_images) == 2 and len(val_images) == 2  # four camera-days, half in val
    label_lines = sum(len(p.read_text().splitlines()) for p in (export / "labels").rglob("*.txt"))
    boxes_before = sum(len(i["report"]["items"]) for i in inspections)
    assert label_lines == boxes_before - 1
    verdicts = [json.loads(line) for line in (export / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 4
    again = _cli("dataset", "export", "--out", export, "--database", settings.db_url, "--data-dir", settings.data_dir)
    assert again.exit_code == 2 and "not empty" in again.output  # never into a folder that holds files

    # a candidate from the current model, on the corrections
    trained = _cli("train", "--data", export / "data.yaml", "--name", "loop-candidate", "--base", "current",
                   "--epochs", "1", "--imgsz", "64", "--batch", "2", "--workers", "0", "--runs", tmp_path / "runs")
    assert trained.exit_code == 0, trained.output
    assert (site / "site-registry" / "loop-candidate" / "card.yaml").is_file()

    # the gate on the held-out split and the confirmed verdicts
    comparison = tmp_path / "compare.json"
    compared = _cli("models", "compare", "loop-candidate", "current", "--on", export, "--out", comparison,
                    "--tolerance", "min_instances=1")
    assert compared.exit_code == 0, compared.output
    figures = json.loads(comparison.read_text())
    folder = next(iter(figures["folders"].values()))
    assert folder["current"]["mAP50"] > folder["candidate"]["mAP50"]
    assert folder["current"]["verdicts"]["images"] == 2  # the val split's confirmed verdicts, re-judged

    refused = _cli("models", "promote", "loop-candidate", "--comparison", comparison, "--tolerance", "min_instances=1")
    assert refused.exit_code == 1, refused.output
    assert "WORSE" in refused.output and "mAP50" in refused.output
    assert not promoted_path().exists() and current_model() == DEFAULT_MODEL

    # a site that accepts any difference: the same comparison now promotes
    loose = ["--tolerance", "map50_drop=1", "--tolerance", "recall_drop=1", "--tolerance", "agreement_drop=1",
             "--tolerance", "kappa_drop=2", "--tolerance", "min_instances=1"]
    promoted = _cli("models", "promote", "loop-candidate", "--comparison", comparison, "--by", "loop", *loose)
    assert promoted.exit_code == 0, promoted.output
    assert current_model() == "loop-candidate" and read_record().current.promoted_by == "loop"

    back = _cli("models", "rollback")
    assert back.exit_code == 0, back.output
    assert read_record().current.name == DEFAULT_MODEL
