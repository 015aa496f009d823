"""Fixtures for the service tests: a site folder (cameras, standards, data) and clients on it."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from calibration.camera import save_camera
from inspector.history import History
from service.config import Settings
from service.main import create_app
from tests.service import scene

REPO = Path(__file__).resolve().parents[2]
STANDARDS_DIR = REPO / "rules" / "standards"
KEY = "test-key-0123456789"
ADMIN_KEY = "admin-key-0123456789"
HEADERS = {"X-API-Key": KEY}


@dataclass(frozen=True)
class Sample:
    camera_id: str
    photo: bytes
    detections: bytes  # SPEC detections JSON


@pytest.fixture(scope="session")
def sample_camera():
    return scene.make_camera()


@pytest.fixture(scope="session")
def sample(sample_camera) -> Sample:
    photo, detections = scene.make_photo(sample_camera)
    return Sample(scene.CAMERA_ID, photo, json.dumps(detections).encode())


@pytest.fixture
def site(tmp_path, sample_camera) -> Path:
    cameras = tmp_path / "cameras"
    save_camera(sample_camera, cameras / f"{scene.CAMERA_ID}.yaml")
    return tmp_path


def make_settings(site: Path, **overrides) -> Settings:
    values = dict(
        data_dir=site / "data",
        cameras_dir=site / "cameras",
        standards_dir=STANDARDS_DIR,
        model="none",
        api_keys=[KEY],
        database_url=f"sqlite:///{site / 'data' / 'history.db'}",
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(site) -> Settings:
    return make_settings(site)


@pytest.fixture
def client(settings):
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
    # no request of any test reached the catch-all 500 handler
    assert app.state.unexpected_errors == 0


def stored_state(settings: Settings) -> tuple[int, frozenset[str]]:
    """(history rows, files under the data folder other than the database's own)."""
    rows = History(settings.db_url).list(limit=1).total
    files = frozenset(
        str(p.relative_to(settings.data_dir)) for p in settings.data_dir.rglob("*")
        if p.is_file() and not p.name.startswith("history.db")
    )
    return rows, files


def inspect_files(sample: Sample, *, photo: bytes | None = None, name: str = "desk.jpg",
                  content_type: str = "image/jpeg", detections: bytes | None = None) -> dict:
    return {
        "image": (name, sample.photo if photo is None else photo, content_type),
        "detections": ("desk.json", sample.detections if detections is None else detections, "application/json"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn on 127.0.0.1 and a free port, in a thread of this process."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def live_server(settings):
    app = create_app(settings)
    with LiveServer(app) as server:
        yield server
    assert app.state.unexpected_errors == 0
