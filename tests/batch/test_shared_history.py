"""One history for the batch and the service: with nothing configured, both use out/history.db
under the folder they run in, and with $DESK_INSPECTOR_DATABASE_URL both use that."""

from __future__ import annotations

from fastapi.testclient import TestClient

from inspector.batch.runner import run_batch
from service.config import Settings
from service.main import create_app
from tests.batch.conftest import build_site

KEY = "shared-history-key-123"


def _service_sees(site, tmp_path) -> list[str]:
    settings = Settings(data_dir=tmp_path / "service-data", cameras_dir=site.root / "cameras",
                        standards_dir=site.root.parent / "standards", model="none", api_keys=[KEY])
    with TestClient(create_app(settings)) as client:
        page = client.get("/api/v1/inspections", params={"limit": 100}, headers={"X-API-Key": KEY}).json()
    return sorted(row["image_name"].rsplit("/", 1)[-1] for row in page["items"])


def _site(tmp_path):
    site = build_site(tmp_path / "site", snapshots_per_camera=1, faults=False)
    (tmp_path / "standards").mkdir()
    (tmp_path / "standards" / "front-counter.yaml").write_bytes((site.root / "standard.yaml").read_bytes())
    return site


def test_batch_and_service_share_the_default_history(tmp_path, monkeypatch):
    site = _site(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DESK_INSPECTOR_DATABASE_URL", raising=False)
    summary = run_batch(site.site_file, tmp_path / "night", workers=1, progress=False)
    assert summary.database_url == f"sqlite:///{tmp_path / 'out' / 'history.db'}"
    assert _service_sees(site, tmp_path) == sorted(site.expected)


def test_one_environment_variable_moves_both(tmp_path, monkeypatch):
    site = _site(tmp_path)
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("DESK_INSPECTOR_DATABASE_URL", url)
    summary = run_batch(site.site_file, tmp_path / "night", workers=1, progress=False)
    assert summary.database_url == url
    assert _service_sees(site, tmp_path) == sorted(site.expected)
