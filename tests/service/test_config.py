"""Settings: defaults, environment variables, a settings file with paths relative to itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.config import Settings
from service.main import create_app
from tests.service.conftest import ADMIN_KEY, HEADERS, KEY


def test_defaults(monkeypatch):
    for name in ("SETTINGS_FILE", "API_KEYS", "DATA_DIR", "MODEL", "DATABASE_URL"):
        monkeypatch.delenv(f"DESK_INSPECTOR_{name}", raising=False)
    settings = Settings()
    assert settings.model == "auto" and settings.api_keys == []
    assert settings.cameras_dir.name == "cameras" and settings.standards_dir.name == "standards"
    assert settings.db_url == f"sqlite:///{(Path('out') / 'history.db').resolve()}"  # the batch's default too
    assert settings.upload_limit_bytes == 20 * 1024 * 1024


def test_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_INSPECTOR_API_KEYS", "first-key-123, second-key-456")
    monkeypatch.setenv("DESK_INSPECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DESK_INSPECTOR_MODEL", "none")
    monkeypatch.setenv("DESK_INSPECTOR_UPLOAD_LIMIT_BYTES", "1000")
    monkeypatch.setenv("DESK_INSPECTOR_CAMERA_STANDARDS", '{"window-01": "front-counter"}')
    monkeypatch.setenv("DESK_INSPECTOR_DATABASE_URL", "postgresql+psycopg://u:p@db/inspections")
    settings = Settings()
    assert settings.api_keys == ["first-key-123", "second-key-456"]
    assert settings.data_dir == tmp_path and settings.model is None and settings.upload_limit_bytes == 1000
    assert settings.camera_standards == {"window-01": "front-counter"}
    assert settings.db_url == "postgresql+psycopg://u:p@db/inspections"


def test_settings_file_paths_are_relative_to_it_and_env_wins(monkeypatch, tmp_path, site):
    folder = tmp_path / "site-config"
    folder.mkdir()
    (folder / "settings.yaml").write_text(
        "data_dir: ../data\n"
        "cameras_dir: ../cameras\n"
        f"standards_dir: {Path(__file__).resolve().parents[2] / 'rules' / 'standards'}\n"
        "model: none\n"
        f"api_keys: [{KEY}]\n"
        "upload_limit_bytes: 123456\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DESK_INSPECTOR_SETTINGS_FILE", str(folder / "settings.yaml"))
    monkeypatch.setenv("DESK_INSPECTOR_UPLOAD_LIMIT_BYTES", "654321")
    settings = Settings()
    assert settings.data_dir == (tmp_path / "data").resolve()
    assert settings.cameras_dir == (tmp_path / "cameras").resolve()
    assert settings.upload_limit_bytes == 654321  # the environment overrides the file
    with TestClient(create_app(settings)) as client:
        assert [c["camera_id"] for c in client.get("/api/v1/cameras", headers=HEADERS).json()["cameras"]] == ["window-test"]
    # the same, by argument instead of the environment
    monkeypatch.delenv("DESK_INSPECTOR_SETTINGS_FILE")
    assert Settings(settings_file=folder / "settings.yaml").cameras_dir == (tmp_path / "cameras").resolve()


@pytest.mark.parametrize("content, message", [
    ("- a list\n", "must hold a mapping"),
    ("data_dir: [unclosed\n", "cannot read the settings file"),
    ("no_such_setting: 1\n", "no_such_setting"),
    ("api_keys: [short]\n", "at least 8 characters"),
])
def test_bad_settings_files_are_clear(tmp_path, content, message):
    path = tmp_path / "settings.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises((ValidationError, ValueError)) as error:
        Settings(settings_file=path)
    assert message in str(error.value)


ADMIN = {"X-API-Key": ADMIN_KEY}


def _with_admin(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_api_keys": [ADMIN_KEY]})


def test_ready_shows_problem_details_to_administrators_only(site, settings):
    (settings.cameras_dir / "broken.yaml").write_text("camera_id: broken\nimage_size: [10]\n", encoding="utf-8")
    with TestClient(create_app(_with_admin(settings))) as client:
        anyone = client.get("/api/v1/ready").json()
        dashboard = client.get("/api/v1/ready", headers=HEADERS).json()
        admin = client.get("/api/v1/ready", headers=ADMIN).json()
    for body in (anyone, dashboard):
        assert body["ready"] is True and len(body["problems"]) == 1
        assert "broken.yaml" not in body["problems"][0] and str(site) not in body["problems"][0]
        assert "an administrator sees which" in body["problems"][0]
    assert "broken.yaml" in admin["problems"][0]


def test_a_camera_file_that_does_not_load_is_reported_not_fatal(site, settings):
    (settings.cameras_dir / "broken.yaml").write_text("camera_id: broken\nimage_size: [10]\n", encoding="utf-8")
    with TestClient(create_app(_with_admin(settings))) as client:
        ready = client.get("/api/v1/ready", headers=ADMIN).json()
    assert ready["ready"] is True and ready["cameras"] == ["window-test"]
    assert len(ready["problems"]) == 1 and "broken.yaml" in ready["problems"][0]


def test_a_camera_whose_layout_lacks_the_standards_zones_is_served_and_reported(site, settings):
    from calibration.camera import parse_camera, save_camera
    from tests.service import scene

    data = scene.camera_dict("window-bare")
    data.pop("layout")
    save_camera(parse_camera(data), settings.cameras_dir / "window-bare.yaml")
    with TestClient(create_app(_with_admin(settings))) as client:
        ready = client.get("/api/v1/ready", headers=ADMIN).json()
    # served (its zone rules are not judged until the zones are drawn), and said so
    assert ready["cameras"] == ["window-bare", "window-test"]
    assert "camera 'window-bare'" in ready["problems"][0] and "monitor-in-place" in ready["problems"][0]
    assert "not judged" in ready["problems"][0]


def test_an_explicitly_named_model_must_load(settings):
    from inspector.errors import ModelError

    broken = settings.model_copy(update={"model": "no-such-model"})
    with pytest.raises(ModelError, match="no such model"):
        with TestClient(create_app(broken)):
            pass


def test_each_camera_can_have_its_own_standard(site, tmp_path):
    from tests.service.conftest import STANDARDS_DIR, make_settings

    text = (STANDARDS_DIR / "front-counter.yaml").read_text(encoding="utf-8")
    standards = tmp_path / "standards"
    standards.mkdir()
    (standards / "front-counter.yaml").write_text(text, encoding="utf-8")
    (standards / "strict.yaml").write_text(text.replace("id: front-counter", "id: strict-counter")
                                           .replace("min_cm: 5,", "min_cm: 8,"), encoding="utf-8")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(text.replace("id: front-counter", "id: other-counter"), encoding="utf-8")
    for mapping, expected in (({"window-test": "strict-counter"}, "strict-counter"),
                              ({"window-test": str(outside)}, "other-counter"),
                              ({}, "front-counter")):
        settings = make_settings(site, standards_dir=standards, camera_standards=mapping)
        with TestClient(create_app(settings)) as client:
            camera = client.get("/api/v1/cameras/window-test", headers=HEADERS).json()
            assert camera["standard"]["id"] == expected
            ids = [s["id"] for s in client.get("/api/v1/standards", headers=HEADERS).json()["standards"]]
            assert expected in ids


def test_an_unknown_standard_for_a_camera_is_a_problem(site):
    from tests.service.conftest import make_settings

    settings = make_settings(site, camera_standards={"window-test": "no-such-standard"})
    with TestClient(create_app(_with_admin(settings))) as client:
        ready = client.get("/api/v1/ready", headers=ADMIN)
    assert ready.status_code == 503
    assert "no standard 'no-such-standard' (loaded standards: front-counter)" in ready.json()["problems"][0]


def test_camera_files_changed_on_disk_are_picked_up(site, settings, sample_camera):
    """Another worker process (or an admin) writes a camera file: it is served without a restart."""
    import shutil
    import time

    from calibration.camera import save_camera
    from tests.service import scene

    with TestClient(create_app(_with_admin(settings))) as client:
        assert client.get("/api/v1/ready", headers=ADMIN).json()["cameras"] == ["window-test"]
        save_camera(scene.make_camera("window-05"), settings.cameras_dir / "window-05.yaml")
        time.sleep(1.1)  # the folder is looked at most once a second
        assert client.get("/api/v1/ready", headers=ADMIN).json()["cameras"] == ["window-05", "window-test"]
        (settings.cameras_dir / "window-05.yaml").unlink()
        shutil.copy(settings.cameras_dir / "window-test.yaml", settings.cameras_dir / "copy.yaml")
        time.sleep(1.1)
        ready = client.get("/api/v1/ready", headers=ADMIN).json()
        assert ready["cameras"] == ["window-test"]
        assert "already loaded from" in ready["problems"][0]
