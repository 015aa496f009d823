"""`python -m service` (what `desk-inspector serve` calls): settings file, several worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.service.conftest import HEADERS, KEY, REPO, STANDARDS_DIR, free_port


@pytest.mark.slow
def test_run_server_with_a_settings_file_and_two_processes(site, sample, tmp_path):
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(
        f"data_dir: data\ncameras_dir: cameras\nstandards_dir: {STANDARDS_DIR}\nmodel: none\napi_keys: [{KEY}]\n"
        f"database_url: sqlite:///{tmp_path / 'data' / 'history.db'}\n",
        encoding="utf-8",
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_INSPECTOR_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "--port", str(port), "--settings", str(settings_file), "--workers", "2"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                if httpx.get(f"{url}/api/v1/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        ids = set()
        for _ in range(4):  # spread over both processes: one database, one id sequence
            response = httpx.post(f"{url}/api/v1/inspections", data={"camera_id": sample.camera_id}, headers=HEADERS,
                                  timeout=60, files={"image": ("d.jpg", sample.photo, "image/jpeg"),
                                                     "detections": ("d.json", sample.detections, "application/json")})
            assert response.status_code == 201, response.text
            ids.add(response.json()["id"])
        assert len(ids) == 4
        assert httpx.get(f"{url}/api/v1/inspections", headers=HEADERS).json()["total"] == 4
        assert (tmp_path / "data" / "history.db").is_file()  # relative to the settings file
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
