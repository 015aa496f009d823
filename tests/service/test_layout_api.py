"""A new counter set up through the API alone: corners without zones (a warning, not a refusal),
then the layout (定置图) and standard as a JSON object, then an inspection that judges the zones."""

from __future__ import annotations

import json

import pytest
import yaml

from calibration.camera import load_camera
from tests.service import scene
from tests.service.conftest import HEADERS, stored_state

ZONE_RULES = {"monitor-in-place", "document-camera-in-place", "cup-in-place", "pass-through-clear"}


def _calibrate(client, photo, camera_id="window-new", layout=None, standard=None):
    data = {"camera_id": camera_id, "corners_px": json.dumps([list(p) for p in scene.CORNERS_PX]),
            "width_cm": str(scene.DESK_CM[0]), "depth_cm": str(scene.DESK_CM[1])}
    if layout is not None:
        data["layout"] = layout if isinstance(layout, str) else json.dumps(layout)
    if standard is not None:
        data["standard"] = standard
    return client.post("/api/v1/calibration", data=data, files={"snapshot": ("snap.jpg", photo, "image/jpeg")},
                       headers=HEADERS)


def _inspect(client, sample, camera_id="window-new"):
    response = client.post("/api/v1/inspections", data={"camera_id": camera_id}, headers=HEADERS,
                           files={"image": ("d.jpg", sample.photo, "image/jpeg"),
                                  "detections": ("d.json", sample.detections, "application/json")})
    assert response.status_code == 201, response.text
    return response.json()["report"]


def test_a_new_camera_without_zones_is_saved_with_a_warning_and_inspected(client, settings, sample):
    response = _calibrate(client, sample.photo)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body["camera"]["missing_zones"]) == ZONE_RULES
    assert body["camera"]["missing_zones"]["pass-through-clear"] == ["pass_through"]
    (warning,) = body["warnings"]
    assert "not judged" in warning and all(rule in warning for rule in ZONE_RULES) and "定置图" in warning
    assert (settings.cameras_dir / "window-new.yaml").is_file()

    # no refusal at inspect time: those rules are listed as not judged, the others judged
    report = _inspect(client, sample)
    not_judged = {entry["rule"]: entry for entry in report["not_judged"]}
    assert ZONE_RULES <= set(not_judged)
    assert "monitor" in not_judged["monitor-in-place"]["reason_en"] and not_judged["monitor-in-place"]["item_ids"] == []
    assert any("not judged" in w for w in report["warnings"])
    assert not {v["rule"] for v in report["violations"]} & ZONE_RULES


def test_the_layout_is_a_json_object_and_the_zones_are_then_judged(client, settings, sample):
    assert _calibrate(client, sample.photo).status_code == 201
    response = client.put("/api/v1/cameras/window-new/layout", headers=HEADERS,
                          json={"zones": scene.ZONES, "standard": "front-counter"})
    assert response.status_code == 200, response.text
    camera = response.json()
    assert camera["missing_zones"] == {} and camera["warnings"] == []
    assert set(camera["zones"]) == set(scene.ZONES) and camera["standard"]["id"] == "front-counter"
    written = yaml.safe_load((settings.cameras_dir / "window-new.yaml").read_text(encoding="utf-8"))
    assert written["standard"] == "front-counter" and set(written["layout"]["zones"]) == set(scene.ZONES)
    assert load_camera(settings.cameras_dir / "window-new.yaml").spec.fit.reprojection_error_px < 1e-3

    report = _inspect(client, sample)
    assert not {entry["rule"] for entry in report["not_judged"] if not entry["item_ids"]} & ZONE_RULES
    assert client.get("/api/v1/cameras/window-new", headers=HEADERS).json()["zones"] == camera["zones"]

    # partly drawn: the response names what is still missing
    partial = {"zones": {"monitor": scene.ZONES["monitor"]}}
    camera = client.put("/api/v1/cameras/window-new/layout", headers=HEADERS, json=partial).json()
    assert set(camera["missing_zones"]) == ZONE_RULES - {"monitor-in-place"}
    assert "document_camera" in camera["warnings"][0]


def test_the_layout_field_of_a_calibration_takes_both_forms(client, settings, sample):
    for camera_id, layout in (("window-a", {"zones": scene.ZONES}), ("window-b", scene.ZONES)):
        response = _calibrate(client, sample.photo, camera_id=camera_id, layout=layout, standard="front-counter")
        assert response.status_code == 201, response.text
        assert response.json()["warnings"] == [] and set(response.json()["camera"]["zones"]) == set(scene.ZONES)


def test_the_layout_is_documented_with_a_schema(client):
    schema = client.get("/openapi.json").json()
    put = schema["paths"]["/api/v1/cameras/{camera_id}/layout"]["put"]
    ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"zones", "standard"} <= set(body["properties"])
    form = schema["paths"]["/api/v1/calibration"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = schema["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]]
    layout = form["properties"]["layout"]
    assert "contentSchema" in json.dumps(layout) and "standard" in form["properties"]
    standards = client.get("/api/v1/standards", headers=HEADERS).json()["standards"]
    needs = {(z["zone"], z["kind"]) for z in standards[0]["zones"]}
    assert ("pass_through", "keep_clear") in needs and ("monitor", "zone") in needs


@pytest.mark.parametrize("body, status, fragment", [
    ({"zones": {"monitor": [[0, 0], [1, 1]]}}, 422, "zone 'monitor' must be a simple polygon"),
    ({"zones": {"monitor": [[0, 0], [10, 10], [10, 0], [0, 10]]}}, 422, "simple polygon"),
    ({"zones": {"bad name!": [[0, 0], [10, 0], [10, 10]]}}, 422, "zones"),
    ({"zones": {"monitor": [[0, 0], [1e9, 0], [10, 10]]}}, 422, "less than or equal"),
    ({"zones": {}, "standard": "nope"}, 422, "no standard 'nope'"),
    ({"zones": {}, "extra": 1}, 422, "extra"),
    ("[" * 5000 + "]" * 5000, 400, "error parsing the body"),
    ('{"zones": ' + "[" * 5000 + "]" * 5000 + "}", 400, "error parsing the body"),
])
def test_bad_layouts_write_nothing(client, settings, sample, body, status, fragment):
    assert _calibrate(client, sample.photo).status_code == 201
    before = (settings.cameras_dir / "window-new.yaml").read_bytes()
    stored = stored_state(settings)
    if isinstance(body, str):
        response = client.put("/api/v1/cameras/window-new/layout", headers={**HEADERS, "content-type": "application/json"},
                              content=body)
    else:
        response = client.put("/api/v1/cameras/window-new/layout", headers=HEADERS, json=body)
    assert response.status_code == status, response.text
    assert fragment in response.text
    assert (settings.cameras_dir / "window-new.yaml").read_bytes() == before
    assert stored_state(settings) == stored


def test_layout_of_an_unknown_camera_is_404(client):
    response = client.put("/api/v1/cameras/nope/layout", headers=HEADERS, json={"zones": {}})
    assert response.status_code == 404


def test_desk_view_is_the_desk_top_from_above(client, sample):
    assert _calibrate(client, sample.photo).status_code == 201
    response = client.get("/api/v1/cameras/window-new/desk-view", headers=HEADERS)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (int(scene.DESK_CM[1] * 4), int(scene.DESK_CM[0] * 4))
