"""A whole new counter set up in the page, in headless Chromium against a real uvicorn: a snapshot
for a NEW camera id, its 4 corners clicked, the zones (定置图) the standard needs drawn and edited on
the desk seen from above, the standard picked, saved, and inspected with every zone rule judged.
Also: tabs deep-link (/#history), back / forward, the bundled CJK font, tables on a phone.

Screenshots go to pytest's tmp dir and to /tmp/shots/ (setup-*.png) to be looked at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from calibration.camera import load_camera
from tests.service.conftest import KEY
from tests.service.test_web import CHROMIUM, _open, browser, case, server  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]

NEW_CAMERA = "window-09"
SHOTS = Path("/tmp/shots")


def _shot(page, tmp_path: Path, name: str, full_page: bool = True) -> Path:
    shot = tmp_path / f"setup-{name}.png"
    page.screenshot(path=str(shot), full_page=full_page)
    assert shot.stat().st_size > 10_000
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / shot.name)
    return shot


def _zones_of(site: Path, camera_id: str) -> dict[str, list[list[float]]]:
    camera = load_camera(next((site / "cameras").glob(f"{camera_id}.*")))
    return {name: [list(p) for p in points] for name, points in camera.spec.layout.zones.items()}


def _client_point(page, desk_cm, x_cm: float, y_cm: float) -> tuple[float, float]:
    box = page.locator("#setup-canvas").bounding_box()
    if box["y"] < 0 or box["y"] + box["height"] > page.viewport_size["height"]:
        page.eval_on_selector("#setup-canvas", "canvas => canvas.scrollIntoView({ block: 'center' })")
        box = page.locator("#setup-canvas").bounding_box()
    # the customer's view: the front edge (y = 0) at the bottom; a point on the edge is pressed just inside
    x = box["x"] + x_cm / desk_cm[0] * box["width"]
    y = box["y"] + (desk_cm[1] - y_cm) / desk_cm[1] * box["height"]
    return min(max(x, box["x"] + 1), box["x"] + box["width"] - 1), min(max(y, box["y"] + 1), box["y"] + box["height"] - 1)


def _drag(page, start, end) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def _calibrate_new_camera(page, example) -> None:
    page.fill("#calib-camera", NEW_CAMERA)
    page.set_input_files("#calib-snapshot", str(example.photo))
    page.wait_for_function("() => document.querySelector('#calib-canvas').width > 640")
    width_px = page.evaluate("() => document.querySelector('#calib-canvas').width")
    height_px = page.evaluate("() => document.querySelector('#calib-canvas').height")
    page.fill("#calib-width", str(example.desk_cm[0]))
    page.fill("#calib-depth", str(example.desk_cm[1]))
    page.eval_on_selector("#calib-canvas", "canvas => canvas.scrollIntoView({ block: 'center' })")
    box = page.locator("#calib-canvas").bounding_box()
    for x, y in example.corners_px:
        page.mouse.click(box["x"] + x * box["width"] / width_px, box["y"] + y * box["height"] / height_px)
    page.click("#calib-save")
    page.wait_for_selector("#calib-result:not([hidden])")


def test_a_new_counter_is_set_up_and_inspected_in_the_page(browser, server, case, tmp_path):  # noqa: F811
    example, site = case
    wanted = _zones_of(site, example.camera_id)  # the example desk's own layout, drawn again by hand
    page, errors = _open(browser, server, {"width": 1280, "height": 800})
    page.goto(server.url + "/#calibrate")
    page.wait_for_selector("#view-calibrate:not([hidden])")
    _calibrate_new_camera(page, example)

    # the desk from above appears, with the zones the standard needs, all missing
    page.wait_for_selector("#setup-zones:not([hidden])")
    page.wait_for_function("() => document.querySelectorAll('#setup-needed li.missing').length >= 1")
    needed = page.eval_on_selector_all("#setup-needed li", "items => items.map(i => i.dataset.zone)")
    assert set(needed) == set(wanted)
    assert page.locator("#setup-needed li.missing").count() == len(wanted)
    assert page.get_attribute("#setup-canvas", "width") == str(int(example.desk_cm[0] * 4))
    assert "pass_through" in page.inner_text("#setup-status")  # the calibration's warning: not judged yet
    _shot(page, tmp_path, "editor-empty-1280")

    names = sorted(wanted)
    polygon_zone, rect_zones = names[0], names[1:]
    # rectangles: pick the name from the list's "Draw" button, drag on the map
    for name in rect_zones:
        page.click(f"#setup-needed li[data-zone='{name}'] button")
        assert page.input_value("#setup-name") == name
        xs = [p[0] for p in wanted[name]]
        ys = [p[1] for p in wanted[name]]
        _drag(page, _client_point(page, example.desk_cm, min(xs), min(ys)),
              _client_point(page, example.desk_cm, max(xs), max(ys)))
    # a polygon: corner by corner, closed on the first corner
    page.click("#setup-poly")
    page.fill("#setup-name", polygon_zone)
    for x, y in wanted[polygon_zone]:
        page.mouse.click(*_client_point(page, example.desk_cm, x, y))
    page.mouse.click(*_client_point(page, example.desk_cm, *wanted[polygon_zone][0]))
    assert page.locator("#setup-needed li.done").count() == len(wanted)
    assert page.locator("#setup-needed li.missing").count() == 0

    # editing: an extra zone drawn, renamed, its corner dragged, then deleted
    page.click("#setup-rect")
    page.fill("#setup-name", "spare")
    _drag(page, _client_point(page, example.desk_cm, 2, 2), _client_point(page, example.desk_cm, 20, 12))
    assert page.locator("#setup-list li[data-zone='spare']").count() == 1
    page.fill("#setup-name", "spare_2")
    page.click("#setup-rename")
    assert page.locator("#setup-list li[data-zone='spare_2']").count() == 1
    _drag(page, _client_point(page, example.desk_cm, 20, 12), _client_point(page, example.desk_cm, 30, 20))
    assert "(30, 20)" in page.inner_text("#setup-coords")
    _shot(page, tmp_path, "editor-drawn-1280")
    page.click("#setup-delete")
    assert page.locator("#setup-list li[data-zone='spare_2']").count() == 0

    # the standard picked, saved: the camera file has the zones and the standard
    page.select_option("#setup-standard", "front-counter")
    page.click("#setup-save")
    page.wait_for_selector("#setup-status.ok")
    assert f"{NEW_CAMERA}.yaml" in page.inner_text("#setup-status")
    saved = yaml.safe_load((site / "cameras" / f"{NEW_CAMERA}.yaml").read_text(encoding="utf-8"))
    assert saved["standard"] == "front-counter" and set(saved["layout"]["zones"]) == set(wanted)
    for name, points in wanted.items():  # drawn to the half centimetre
        drawn = saved["layout"]["zones"][name]
        assert len(drawn) == len(points)
        for (x, y), (wx, wy) in zip(sorted(drawn), sorted(points)):
            assert abs(x - wx) <= 1.0 and abs(y - wy) <= 1.0, (name, drawn, points)
    _shot(page, tmp_path, "editor-saved-1280")
    page.click("#lang-toggle")
    assert "Zones the standard needs" in page.inner_text("#setup-zones") and "drawn" in page.inner_text("#setup-needed")
    page.locator("#setup-zones").scroll_into_view_if_needed()
    _shot(page, tmp_path, "editor-saved-en-1280", full_page=False)
    page.click("#lang-toggle")

    # inspect the snapshot: every zone rule is judged
    page.click("#setup-inspect")
    page.wait_for_selector("#view-inspect:not([hidden])")
    assert page.input_value("#camera-select") == NEW_CAMERA
    assert example.photo.name in page.inner_text("#photo-name")
    page.set_input_files("#detections-input", str(example.detections))
    page.click("#inspect-button")
    page.wait_for_selector("#result:not([hidden]) #verdict.banner", timeout=60_000)
    headers = {"X-API-Key": KEY}
    latest = httpx.get(f"{server.url}/api/v1/inspections", params={"camera_id": NEW_CAMERA}, headers=headers).json()
    report = httpx.get(f"{server.url}/api/v1/inspections/{latest['items'][0]['id']}", headers=headers).json()["report"]
    zone_rules = {"monitor-in-place", "document-camera-in-place", "cup-in-place", "pass-through-clear"}
    assert not [e for e in report["not_judged"] if e["rule"] in zone_rules and not e["item_ids"]]
    assert not [w for w in report["warnings"] if "not judged" in w and "zone" in w]
    # the same verdict on the zone rules as the example camera, whose layout was drawn in YAML
    reference = httpx.post(f"{server.url}/api/v1/inspections", headers=headers, data={"camera_id": example.camera_id},
                           files={"image": (example.photo.name, example.photo.read_bytes(), "image/jpeg"),
                                  "detections": ("d.json", example.detections.read_bytes(), "application/json")}).json()
    def zone_results(rep):
        return {(v["rule"], v["decision"]) for v in rep["violations"] + rep["conditional_passes"] if v["rule"] in zone_rules}
    assert zone_results(report) == zone_results(reference["report"])
    assert errors == []


def test_the_editor_and_history_on_a_phone_and_tabs_deep_link(browser, server, case, tmp_path):  # noqa: F811
    example, site = case
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(server.url + "/")
    page.wait_for_selector("#key-panel:not([hidden])")
    page.fill("#key-input", KEY)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector(f"#camera-select option[value='{example.camera_id}']", state="attached")

    # some history to show
    headers = {"X-API-Key": KEY}
    for _ in range(2):
        response = httpx.post(f"{server.url}/api/v1/inspections", headers=headers, data={"camera_id": example.camera_id},
                              files={"image": (example.photo.name, example.photo.read_bytes(), "image/jpeg"),
                                     "detections": ("d.json", example.detections.read_bytes(), "application/json")})
        assert response.status_code == 201

    # a fresh page opened on /#history shows the history tab (the key is kept in the browser)
    deep = context.new_page()
    deep.on("pageerror", lambda error: errors.append(str(error)))
    deep.goto(server.url + "/#history")
    deep.wait_for_selector("#view-history:not([hidden])")
    assert deep.is_hidden("#view-inspect")
    assert deep.get_attribute(".tab[data-view=history]", "class").split().count("active") == 1
    deep.wait_for_selector(f"#tiles .tile:has-text('{example.camera_id}')")
    deep.wait_for_selector("#history-table tbody tr")
    # the capture time comes from the example's file name (…_2026-11-20T08-30-00.jpg)
    assert "2026" in deep.inner_text("#history-table tbody tr")
    # the table reflows: no sideways scrolling, every cell labelled with its column
    assert deep.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert deep.evaluate("() => document.querySelector('#history-table').scrollWidth") <= 390
    label = deep.get_attribute("#history-table tbody tr td:nth-child(3)", "data-label")
    assert label == deep.inner_text("#history-table thead th:nth-child(3)")
    # the bundled CJK font is used for the Chinese text
    assert deep.evaluate("""async () => {
        const faces = await document.fonts.load('16px "Desk CJK"', '历史检查');
        return faces.length > 0 && document.fonts.check('16px "Desk CJK"', '历史检查');
    }""")
    _shot(deep, tmp_path, "history-390")

    # tabs change the address; back and forward follow it
    deep.click(".tab[data-view=calibrate]")
    assert deep.url.endswith("#calibrate")
    deep.go_back()
    deep.wait_for_selector("#view-history:not([hidden])")
    deep.go_forward()
    deep.wait_for_selector("#view-calibrate:not([hidden])")

    # the zone editor of an existing camera on the phone
    deep.fill("#calib-camera", example.camera_id)
    deep.dispatch_event("#calib-camera", "change")
    deep.wait_for_selector("#setup-zones:not([hidden])")
    deep.wait_for_function("() => document.querySelectorAll('#setup-needed li.done').length >= 1")
    assert deep.locator("#setup-needed li.missing").count() == 0
    assert deep.evaluate("() => document.documentElement.scrollWidth") <= 390
    deep.locator("#setup-zones").scroll_into_view_if_needed()
    _shot(deep, tmp_path, "editor-390")

    # the item table of a result on the phone
    deep.click(".tab[data-view=history]")
    deep.wait_for_selector("#history-table tbody tr button.link")
    deep.click("#history-table tbody tr button.link")
    deep.wait_for_selector("#result:not([hidden]) #items tbody tr")
    assert deep.evaluate("() => document.documentElement.scrollWidth") <= 390
    deep.locator("#items").scroll_into_view_if_needed()
    _shot(deep, tmp_path, "items-390")
    context.close()
    assert errors == []


def test_history_at_desktop_size(browser, server, case, tmp_path):  # noqa: F811
    example, _ = case
    page, errors = _open(browser, server, {"width": 1280, "height": 800})
    page.wait_for_selector(f"#camera-select option[value='{example.camera_id}']", state="attached")
    headers = {"X-API-Key": KEY}
    response = httpx.post(f"{server.url}/api/v1/inspections", headers=headers, data={"camera_id": example.camera_id},
                          files={"image": (example.photo.name, example.photo.read_bytes(), "image/jpeg"),
                                 "detections": ("d.json", example.detections.read_bytes(), "application/json")})
    assert response.status_code == 201
    page.goto(server.url + "/#history")
    page.wait_for_selector("#history-table tbody tr")
    assert page.is_visible("#history-table thead")  # a table again on a wide screen
    _shot(page, tmp_path, "history-1280")
    assert errors == []
