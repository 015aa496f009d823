"""Input that used to break the service: NaN in camera files, deeply nested JSON, thousands of
boxes, NaN polygons, corrupt JPEGs, black frames, unauthenticated uploads, pages without headers.
Each is a clear 4xx (or a listed problem), nothing is written, and the server stays up."""

from __future__ import annotations

import json
import socket
import time

import cv2
import numpy as np
import yaml
from fastapi.testclient import TestClient

from service.main import create_app
from tests.service.conftest import HEADERS, LiveServer, inspect_files, stored_state

NESTED = "[" * 10_000 + "]" * 10_000


def _post(client, sample, **files):
    return client.post("/api/v1/inspections", headers=HEADERS, data={"camera_id": sample.camera_id},
                       files=inspect_files(sample, **files))


def test_a_nan_in_a_camera_file_is_a_listed_problem_not_a_crash(site, settings):
    good = yaml.safe_load((settings.cameras_dir / "window-test.yaml").read_text(encoding="utf-8"))
    zone = {**good, "camera_id": "nan-zone"}
    zone["layout"] = {"zones": {**good["layout"]["zones"]}}
    name = next(iter(zone["layout"]["zones"]))
    zone["layout"]["zones"][name] = [[float("nan"), 0.0], *good["layout"]["zones"][name][1:]]
    homography = {**good, "camera_id": "inf-homography", "fit": {**good["fit"]}}
    homography["fit"]["homography"] = [[float("inf"), 0, 0], *good["fit"]["homography"][1:]]
    (settings.cameras_dir / "nan-zone.yaml").write_text(yaml.safe_dump(zone), encoding="utf-8")
    (settings.cameras_dir / "inf-homography.yaml").write_text(yaml.safe_dump(homography), encoding="utf-8")
    app = create_app(settings.model_copy(update={"admin_api_keys": ["admin-key-0123456789"]}))
    with TestClient(app) as client:
        cameras = client.get("/api/v1/cameras", headers=HEADERS)
        ready = client.get("/api/v1/ready", headers={"X-API-Key": "admin-key-0123456789"}).json()
    assert cameras.status_code == 200 and [c["camera_id"] for c in cameras.json()["cameras"]] == ["window-test"]
    problems = " | ".join(ready["problems"])
    assert "nan-zone.yaml" in problems and "inf-homography.yaml" in problems and "finite number" in problems
    assert app.state.unexpected_errors == 0


def test_deeply_nested_detections_are_a_422(client, sample, settings):
    before = stored_state(settings)
    response = _post(client, sample, detections=NESTED.encode())
    assert response.status_code == 422 and "nested too deeply" in response.json()["detail"]
    assert stored_state(settings) == before


def test_deeply_nested_or_nan_calibration_fields_are_a_422(settings, sample):
    admin = {"X-API-Key": "admin-key-0123456789"}
    app = create_app(settings.model_copy(update={"admin_api_keys": ["admin-key-0123456789"]}))
    corners = "[[100,600],[1180,600],[1000,200],[280,200]]"
    cases = [("corners_px", {"corners_px": NESTED}), ("layout", {"corners_px": corners, "layout": NESTED}),
             ("layout", {"corners_px": corners, "layout": '{"zones": {"cup": [[NaN, 0], [10, 0], [10, 10]]}}'})]
    with TestClient(app) as client:
        for field, fields in cases:
            data = {"camera_id": "window-new", "width_cm": "160", "depth_cm": "80", **fields}
            response = client.post("/api/v1/calibration", headers=admin, data=data,
                                   files={"snapshot": ("snap.jpg", sample.photo, "image/jpeg")})
            assert response.status_code == 422, response.text
            assert field in response.json()["detail"], response.text
    assert not (settings.cameras_dir / "window-new.yaml").exists()
    assert app.state.unexpected_errors == 0


def test_thousands_of_boxes_are_refused_at_once(client, sample, settings):
    many = [{"class": "cup", "confidence": 0.9, "bbox_px": [10, 10, 20, 20]}] * 5000
    started = time.perf_counter()
    response = _post(client, sample, detections=json.dumps(many).encode())
    assert response.status_code == 422 and "5,000 detections, over the limit of 300" in response.json()["detail"]
    assert time.perf_counter() - started < 5


def test_a_nan_polygon_vertex_is_refused_not_dropped(client, sample):
    rows = json.loads(sample.detections)
    rows[0] = {**rows[0], "polygon_px": [[float("nan"), 1.0], [2.0, 3.0], [4.0, 5.0]]}
    response = _post(client, sample, detections=json.dumps(rows).encode())
    assert response.status_code == 422
    assert "polygon_px" in response.json()["detail"] and "finite number" in response.json()["detail"]


def test_a_jpeg_with_a_corrupted_middle_or_cut_after_its_header_is_refused(client, sample, settings):
    before = stored_state(settings)
    photo = bytearray(sample.photo)
    middle = len(photo) // 2
    photo[middle:middle + 2000] = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    header_only = sample.photo[: sample.photo.index(b"\xff\xda") + 40] + b"\xff\xd9"
    for bad in (bytes(photo), header_only):
        response = _post(client, sample, photo=bad)
        assert response.status_code == 422, response.text
        assert "JPEG" in response.json()["detail"]
    assert stored_state(settings) == before


def test_a_black_frame_cannot_be_judged_instead_of_missing_everything(client, sample):
    photo = cv2.imdecode(np.frombuffer(sample.photo, np.uint8), cv2.IMREAD_COLOR)
    black = cv2.imencode(".jpg", np.zeros_like(photo))[1].tobytes()
    response = _post(client, sample, photo=black)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "cannot_judge" and body["verdict"] is None and "too dark" in body["message"]
    assert not body.get("violations")


def test_an_upload_without_a_key_is_refused_before_its_body_is_read(settings):
    """A raw request announcing 40 MB and sending only its headers gets its 401 at once."""
    app = create_app(settings)
    with LiveServer(app) as server, socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(b"POST /api/v1/inspections HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 40000000\r\n\r\n")
        started = time.perf_counter()
        answer = b""
        while b"missing API key" not in answer and time.perf_counter() - started < 5:
            chunk = conn.recv(4096)  # headers and body may come in two reads; the server then closes
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 401") and b"missing API key" in answer
        assert time.perf_counter() - started < 5
    assert app.state.unexpected_errors == 0


def test_static_files_carry_the_pages_security_headers(client):
    for path in ("/", "/static/index.html", "/static/app.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
