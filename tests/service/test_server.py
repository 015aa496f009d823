"""The real server: uvicorn on 127.0.0.1 and a free port, spoken to over HTTP."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.service.conftest import HEADERS, stored_state


def _upload(url: str, sample) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/inspections", data={"camera_id": sample.camera_id}, headers=HEADERS, timeout=60,
                      files={"image": ("desk.jpg", sample.photo, "image/jpeg"),
                             "detections": ("desk.json", sample.detections, "application/json")})


@pytest.mark.slow
def test_health_and_an_upload_over_http(live_server, sample, settings):
    health = httpx.get(f"{live_server.url}/api/v1/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    response = _upload(live_server.url, sample)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["report"]["compliant"] is False
    picture = httpx.get(f"{live_server.url}{body['links']['annotated']}", headers=HEADERS, timeout=10)
    assert picture.status_code == 200 and picture.content[:3] == b"\xff\xd8\xff"
    assert stored_state(settings)[0] == 1


@pytest.mark.slow
def test_the_loop_stays_responsive_while_inspections_run(live_server, sample):
    with ThreadPoolExecutor(6) as pool:
        uploads = [pool.submit(_upload, live_server.url, sample) for _ in range(6)]
        time.sleep(0.05)
        started = time.perf_counter()
        health = httpx.get(f"{live_server.url}/api/v1/health", timeout=10)
        health_s = time.perf_counter() - started
        results = [u.result() for u in uploads]
    assert health.status_code == 200 and health_s < 1.5  # a blocked loop would wait for whole inspections
    assert [r.status_code for r in results] == [201] * 6
    assert len({r.json()["id"] for r in results}) == 6


@pytest.mark.slow
def test_an_oversized_streamed_body_is_cut_off_over_http(live_server, settings):
    before = stored_state(settings)
    limit = settings.request_limit_bytes

    def body():
        yield b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        for _ in range(limit // 65536 + 2):
            yield bytes(65536)

    try:
        response = httpx.post(f"{live_server.url}/api/v1/inspections", content=body(), timeout=30,
                              headers={**HEADERS, "Content-Type": "multipart/form-data; boundary=x"})
    except httpx.HTTPError:
        response = None  # the server may close the connection while the client is still sending
    if response is not None:
        assert response.status_code == 413
        assert response.json() == {"detail": f"request body is over the {limit:,} byte limit"}
    assert stored_state(settings) == before
    assert httpx.get(f"{live_server.url}/api/v1/health", timeout=10).status_code == 200
