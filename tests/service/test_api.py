"""Every endpoint through FastAPI's TestClient, on the hand-made scene."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from tests.service.conftest import HEADERS, KEY, inspect_files, make_settings, stored_state


def _post(client, sample, **kwargs):
    data = {"camera_id": kwargs.pop("camera_id", sample.camera_id), **kwargs.pop("data", {})}
    return client.post("/api/v1/inspections", data=data, files=inspect_files(sample, **kwargs), headers=HEADERS)


def _direct_report(sample) -> dict:
    import json

    from inspector.detections_io import parse_detections
    from inspector.frames import decode_image
    from inspector.pipeline import inspect
    from inspector.records import Frame
    from rules.standard import load_standard
    from tests.service import scene
    from tests.service.conftest import STANDARDS_DIR

    frame = Frame(decode_image(sample.photo, "desk.jpg"), "desk.jpg", sample.camera_id)
    detections = parse_detections(json.loads(sample.detections), "desk.json")
    return inspect(frame, scene.make_camera(), load_standard(STANDARDS_DIR / "front-counter.yaml"),
                   detections=detections, detections_source="desk.json").to_dict()


def _decode(content: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)


def test_health_and_ready_need_no_key(client):
    health = client.get("/api/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = client.get("/api/v1/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["cameras"] == ["window-test"]
    assert "front-counter" in body["standards"]
    assert body["model"] is None and body["detections_required"] is True
    assert body["problems"] == []


def test_ready_is_503_without_cameras(tmp_path):
    from fastapi.testclient import TestClient

    from service.main import create_app

    with TestClient(create_app(make_settings(tmp_path))) as client:
        response = client.get("/api/v1/ready")
    assert response.status_code == 503
    assert response.json()["ready"] is False


PROTECTED = [
    ("get", "/api/v1/inspections"),
    ("get", "/api/v1/inspections/latest"),
    ("get", "/api/v1/inspections/1"),
    ("get", "/api/v1/inspections/1/annotated"),
    ("get", "/api/v1/inspections/1/desk-map"),
    ("get", "/api/v1/cameras"),
    ("get", "/api/v1/cameras/window-test"),
    ("get", "/api/v1/cameras/window-test/snapshot"),
    ("get", "/api/v1/standards"),
    ("get", "/api/v1/standards/front-counter"),
    ("post", "/api/v1/inspections"),
    ("post", "/api/v1/calibration"),
]


@pytest.mark.parametrize("headers, message", [
    ({}, "missing API key: send it in the X-API-Key header"),
    ({"X-API-Key": "not-the-key-at-all"}, "invalid API key"),
    ({"X-API-Key": ""}, "missing API key: send it in the X-API-Key header"),
    ({"X-API-Key": KEY[:-1]}, "invalid API key"),
])
def test_every_protected_endpoint_needs_a_valid_key(client, settings, headers, message):
    before = stored_state(settings)
    for method, path in PROTECTED:
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.json() == {"detail": message}
        assert response.headers["www-authenticate"] == "APIKey"
    assert stored_state(settings) == before


def test_upload_with_bad_key_is_refused_and_nothing_is_written(client, settings, sample):
    before = stored_state(settings)
    response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id},
                           files=inspect_files(sample), headers={"X-API-Key": KEY + "x"})
    assert response.status_code == 401
    assert stored_state(settings) == before


def test_inspect_a_photo_stores_report_and_pictures(client, settings, sample):
    response = _post(client, sample, data={"captured_at": "2026-11-20T08:30:00+08:00"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/v1/inspections/{body['id']}"
    report = body["report"]
    # the SPEC report, as inspect() made it
    assert set(report) >= {"image", "camera", "standard", "model", "inspected_at", "compliant", "score", "items",
                           "violations", "warnings", "timings_ms"}
    assert report["camera"] == "window-test" and report["image"] == "desk.jpg"
    assert report["standard"] == {"id": "front-counter", "version": "1.0"}
    assert report["model"] is None
    assert report["compliant"] is False and body["compliant"] is False
    rules = {v["rule"]: v for v in report["violations"]}
    assert set(rules) == {"only-listed-items", "name-plate-shown", "front-margin", "cup-in-place"}
    assert rules["front-margin"]["required"] == 5.0 and rules["front-margin"]["unit"] == "cm"
    assert 0 < rules["front-margin"]["measured"] < 5.0
    # exactly what the one inspect() function says for the same inputs
    direct = _direct_report(sample)
    assert report["violations"] == direct["violations"] and report["items"] == direct["items"]
    assert report["score"] == direct["score"] and report["warnings"] == direct["warnings"]
    assert body["violation_count"] == 4
    assert {item["class"] for item in report["items"]} == {"monitor", "cup", "mobile_phone", "keyboard"}
    assert body["captured_at"] == "2026-11-20T00:30:00Z"
    assert body["origin"] == "api"
    assert body["links"] == {"self": f"/api/v1/inspections/{body['id']}",
                             "annotated": f"/api/v1/inspections/{body['id']}/annotated",
                             "desk_map": f"/api/v1/inspections/{body['id']}/desk-map"}

    rows, files = stored_state(settings)
    assert rows == 1
    # the pictures are drawn when first asked for (below)
    assert {name.rsplit("/", 1)[-1].split(".", 1)[1] for name in files} == {"report.json", "photo.jpg"}
    assert not any(name.endswith(".part") for name in files)

    again = client.get(body["links"]["self"], headers=HEADERS)
    assert again.status_code == 200 and again.json() == body

    annotated = client.get(body["links"]["annotated"], headers=HEADERS)
    assert annotated.status_code == 200 and annotated.headers["content-type"] == "image/jpeg"
    assert _decode(annotated.content).shape == (720, 1280, 3)
    desk_map = client.get(body["links"]["desk_map"], headers=HEADERS)
    assert desk_map.status_code == 200 and desk_map.headers["content-type"] == "image/png"
    assert _decode(desk_map.content) is not None
    _, files = stored_state(settings)  # drawn once, then kept
    assert {name.rsplit("/", 1)[-1].split(".", 1)[1] for name in files} == {"annotated.jpg", "deskmap.png", "report.json", "photo.jpg"}
    assert not any(name.endswith(".part") for name in files)


def test_the_same_photo_uploaded_twice_is_two_inspections(client, settings, sample):
    first = _post(client, sample).json()
    second = _post(client, sample).json()
    assert first["id"] != second["id"]
    assert stored_state(settings)[0] == 2


def test_list_filters_and_pages(client, sample):
    ids = [_post(client, sample, data={"captured_at": f"2026-11-{day:02d}T09:00:00Z"}).json()["id"] for day in (18, 19, 20)]
    page = client.get("/api/v1/inspections", headers=HEADERS).json()
    assert page["total"] == 3 and [row["id"] for row in page["items"]] == ids[::-1]
    assert "report" not in page["items"][0]
    page = client.get("/api/v1/inspections", params={"limit": 1, "offset": 1}, headers=HEADERS).json()
    assert page["total"] == 3 and page["limit"] == 1 and page["offset"] == 1 and [r["id"] for r in page["items"]] == [ids[1]]
    window = {"since": "2026-11-19T00:00:00Z", "until": "2026-11-20T00:00:00Z"}
    assert [r["id"] for r in client.get("/api/v1/inspections", params=window, headers=HEADERS).json()["items"]] == [ids[1]]
    # a local time with an offset means the same instant
    local = {"since": "2026-11-20T16:30:00+08:00"}  # 08:30 UTC on the 20th
    assert client.get("/api/v1/inspections", params=local, headers=HEADERS).json()["total"] == 1
    assert client.get("/api/v1/inspections", params={"compliant": "true"}, headers=HEADERS).json()["total"] == 0
    assert client.get("/api/v1/inspections", params={"compliant": "false"}, headers=HEADERS).json()["total"] == 3
    assert client.get("/api/v1/inspections", params={"camera_id": "other"}, headers=HEADERS).json()["total"] == 0
    assert client.get("/api/v1/inspections", params={"status": "ok"}, headers=HEADERS).json()["total"] == 3


@pytest.mark.parametrize("params, fragment", [
    ({"limit": 0}, "limit"),
    ({"limit": 201}, "limit"),
    ({"offset": -1}, "offset"),
    ({"since": "yesterday"}, "since"),
    ({"compliant": "maybe"}, "compliant"),
    ({"status": "weird"}, "status"),
    ({"until": "9999-12-31T23:59:59-23:59"}, "until"),
])
def test_bad_list_parameters_are_422(client, params, fragment):
    response = client.get("/api/v1/inspections", params=params, headers=HEADERS)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_latest_per_camera_tiles(client, sample, settings):
    empty = client.get("/api/v1/inspections/latest", headers=HEADERS).json()
    assert empty == {"cameras": [{"camera_id": "window-test", "configured": True, "latest": None}]}
    _post(client, sample, data={"captured_at": "2026-11-20T08:00:00Z"})
    newest = _post(client, sample, data={"captured_at": "2026-11-20T10:00:00Z"}).json()
    # a camera known only from the history (e.g. written by the batch runner) gets a tile too
    from inspector.history import History, inspection_key
    History(settings.db_url).add(key=inspection_key("window-old", "ab", "batch"), camera_id="window-old",
                                 image_name="old.jpg", image_sha256="ab", status="cannot_judge", compliant=None,
                                 origin="batch", captured_at=datetime(2026, 11, 19, tzinfo=timezone.utc))
    tiles = client.get("/api/v1/inspections/latest", headers=HEADERS).json()["cameras"]
    assert [(t["camera_id"], t["configured"]) for t in tiles] == [("window-test", True), ("window-old", False)]
    assert tiles[0]["latest"]["id"] == newest["id"] and tiles[0]["latest"]["compliant"] is False
    assert tiles[1]["latest"]["status"] == "cannot_judge"
    # a batch row without pictures has no picture links, and asking for them is a clear 404
    old_id = tiles[1]["latest"]["id"]
    assert tiles[1]["latest"]["links"]["annotated"] is None
    missing = client.get(f"/api/v1/inspections/{old_id}/annotated", headers=HEADERS)
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"inspection {old_id} has no annotated photo on this server"}


@pytest.mark.parametrize("path, detail", [
    ("/api/v1/inspections/999", "no inspection 999"),
    ("/api/v1/inspections/999/annotated", "no inspection 999"),
    ("/api/v1/inspections/999/desk-map", "no inspection 999"),
    ("/api/v1/cameras/nope", "unknown camera 'nope' (cameras: window-test)"),
    ("/api/v1/cameras/nope/snapshot", "unknown camera 'nope' (cameras: window-test)"),
    ("/api/v1/cameras/window-test/snapshot", "camera 'window-test' has no reference snapshot"),
    ("/api/v1/standards/nope", "unknown standard 'nope' (standards: front-counter)"),
])
def test_unknown_things_are_404(client, path, detail):
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 404
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("path", ["/api/v1/inspections/0", "/api/v1/inspections/abc", f"/api/v1/inspections/{2**64}"])
def test_bad_inspection_ids_are_422(client, path):
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 422 and "inspection_id" in response.json()["detail"]


def test_cameras_and_standards(client, sample_camera):
    cameras = client.get("/api/v1/cameras", headers=HEADERS).json()["cameras"]
    assert len(cameras) == 1
    camera = cameras[0]
    assert camera["camera_id"] == "window-test" and camera["image_size"] == [1280, 720]
    assert camera["desk"]["width_cm"] == 160 and camera["desk"]["depth_cm"] == 80
    assert set(camera["zones"]) == {"monitor", "document_camera", "cup", "pass_through"}
    assert camera["standard"]["id"] == "front-counter"
    assert camera["reprojection_error_px"] == sample_camera.reprojection_error_px
    assert camera["has_snapshot"] is False and len(camera["points"]) == 4
    assert client.get("/api/v1/cameras/window-test", headers=HEADERS).json() == camera

    standards = client.get("/api/v1/standards", headers=HEADERS).json()["standards"]
    front = next(s for s in standards if s["id"] == "front-counter")
    assert front["cameras"] == ["window-test"]
    assert front["items"]["monitor"] == {"min": 1, "max": 1, "label_zh": "显示器", "label_en": "monitor", "registered": False}
    assert front["items"]["calculator"]["registered"] is True
    assert {"id": "front-margin", "kind": "edge_margin", "severity": "major"} in front["rules"]
    full = client.get("/api/v1/standards/front-counter", headers=HEADERS).json()
    assert full["id"] == "front-counter" and any(rule["kind"] == "edge_margin" for rule in full["rules"])


def test_web_page_and_docs_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "桌面定置检查" in page.text and "/static/app.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset, kind in (("/static/app.js", "javascript"), ("/static/style.css", "text/css")):
        response = client.get(asset)
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert "http" not in client.get("/static/app.js").text.replace("http.", "")  # no CDN or external URL
    docs = client.get("/docs")
    assert docs.status_code == 200
    try:
        import fastapi_offline  # noqa: F401  (ships Swagger UI's files)
    except ImportError:
        pass
    else:
        assert "cdn" not in docs.text and "/docs-assets/swagger-ui-bundle.js" in docs.text
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/v1/inspections" in schema["paths"]
    assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


def test_without_configured_keys_a_run_key_is_generated(site, sample):
    from fastapi.testclient import TestClient

    from service.main import create_app

    app = create_app(make_settings(site, api_keys=[]))
    with TestClient(app) as client:
        assert client.get("/api/v1/cameras").status_code == 401
        key = app.state.service.generated_key
        assert key and len(key) >= 24
        assert client.get("/api/v1/cameras", headers={"X-API-Key": key}).status_code == 200


def test_admin_keys_guard_calibration_only(site, sample):
    from fastapi.testclient import TestClient

    from service.main import create_app

    with TestClient(create_app(make_settings(site, admin_api_keys=["admin-key-0123456789"]))) as client:
        assert client.get("/api/v1/cameras", headers=HEADERS).status_code == 200
        response = client.post("/api/v1/calibration", headers=HEADERS, data={"camera_id": "x"},
                               files={"snapshot": ("s.jpg", sample.photo, "image/jpeg")})
        assert response.status_code == 403
        assert response.json() == {"detail": "this API key may not change calibrations (settings admin_api_keys)"}


def test_time_filters_accept_naive_times_as_utc(client, sample):
    _post(client, sample, data={"captured_at": "2026-11-20T09:00:00"})
    since = (datetime(2026, 11, 20, 8, 59)).isoformat()
    assert client.get("/api/v1/inspections", params={"since": since}, headers=HEADERS).json()["total"] == 1
    later = (datetime(2026, 11, 20, 9) + timedelta(minutes=1)).isoformat()
    assert client.get("/api/v1/inspections", params={"since": later}, headers=HEADERS).json()["total"] == 0
