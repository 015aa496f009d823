"""End to end: the real server, the supervisor page in headless Chromium (Playwright), a screenshot.

Uses the example photo, camera and detections of `examples/front-counter` when they are there,
else the hand-made scene. Screenshots go to pytest's tmp dir, and to out/screenshots/ (or the
folder it names) when DESK_INSPECTOR_SCREENSHOTS is set.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from calibration.camera import load_camera, save_camera
from service.main import create_app
from tests.service import scene
from tests.service.conftest import KEY, REPO, LiveServer, make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
EXAMPLE = REPO / "examples" / "front-counter"
EXAMPLE_CAMERA = REPO / "calibration" / "cameras" / "window-01.yaml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@dataclass(frozen=True)
class Case:
    camera_id: str
    photo: Path
    detections: Path
    corners_px: list[tuple[float, float]]
    desk_cm: tuple[float, float]


def _example_case(site: Path) -> Case | None:
    photos = sorted((EXAMPLE / "photos").glob("*.jpg")) if EXAMPLE.is_dir() else []
    pairs = [(p, EXAMPLE / "detections" / f"{p.stem}.json") for p in photos]
    pairs = [(p, d) for p, d in pairs if d.is_file()]
    if not pairs or not EXAMPLE_CAMERA.is_file():
        return None
    from inspector.detections_io import load_detections
    from inspector.errors import InspectorError
    from inspector.frames import load_frame
    from inspector.pipeline import inspect
    from rules.standard import load_standard

    try:
        camera = load_camera(EXAMPLE_CAMERA)
        standard = load_standard(REPO / "rules" / "standards" / "front-counter.yaml")
        # prefer a photo with violations: the page must show their list
        verdicts = [(inspect(load_frame(p, camera.camera_id), camera, standard, detections=load_detections(d)).compliant, p, d)
                    for p, d in pairs]
    except InspectorError:
        return None  # the example is still being made: use the hand-made scene
    _, photo, detections = sorted(verdicts, key=lambda v: v[0])[0]
    shutil.copy(EXAMPLE_CAMERA, site / "cameras" / EXAMPLE_CAMERA.name)
    spec = camera.spec
    return Case(camera.camera_id, photo, detections, [tuple(p.image_px) for p in spec.points[:4]],
                (spec.desk.width_cm or 160.0, spec.desk.depth_cm or 80.0))


@pytest.fixture
def case(tmp_path) -> tuple[Case, Path]:
    site = tmp_path / "site"
    (site / "cameras").mkdir(parents=True)
    found = _example_case(site)
    if found is None:  # the hand-made scene
        camera = scene.make_camera()
        save_camera(camera, site / "cameras" / f"{scene.CAMERA_ID}.yaml")
        photo_bytes, detections = scene.make_photo(camera)
        (site / "desk.jpg").write_bytes(photo_bytes)
        (site / "desk.json").write_text(json.dumps(detections), encoding="utf-8")
        found = Case(scene.CAMERA_ID, site / "desk.jpg", site / "desk.json", scene.CORNERS_PX, scene.DESK_CM)
    return found, site


@pytest.fixture
def server(case):
    _, site = case
    app = create_app(make_settings(site))
    with LiveServer(app) as live:
        yield live
    assert app.state.unexpected_errors == 0


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _keep(shot: Path) -> None:
    wanted = os.environ.get("DESK_INSPECTOR_SCREENSHOTS")
    if not wanted:
        return
    folder = Path(wanted) if wanted not in ("1", "true", "yes") else REPO / "out" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, folder / shot.name)


def _screenshot(page, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    _keep(shot)
    return shot


def _offline_page(browser, server, viewport):
    """A page that can reach only the local server: any other request fails and is recorded."""
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    def only_local(route):
        if route.request.url.startswith(server.url) or route.request.url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            errors.append(f"external request: {route.request.url}")
            route.abort()

    page.route("**/*", only_local)
    return page, errors


def _open(browser, server, viewport):
    page, errors = _offline_page(browser, server, viewport)
    page.goto(server.url + "/")
    # first visit: the key is asked for once and kept in the browser
    page.wait_for_selector("#key-panel:not([hidden])")
    page.fill("#key-input", KEY)
    page.click("#key-form button[type=submit]")
    return page, errors


def _drop_file(page, selector: str, path: Path, mime: str) -> None:
    """Drag a file from the desktop onto the page: a drop event carrying it."""
    import base64

    transfer = page.evaluate_handle(
        """([data, name, mime]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            return transfer;
        }""",
        [base64.b64encode(path.read_bytes()).decode(), path.name, mime],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def _inspect(page, case: Case, drop: bool = False):
    page.wait_for_selector(f"#camera-select option[value='{case.camera_id}']", state="attached")
    page.select_option("#camera-select", case.camera_id)
    if drop:
        _drop_file(page, "#drop-zone", case.photo, "image/jpeg")
        assert case.photo.name in page.inner_text("#photo-name")
    else:
        page.set_input_files("#photo-input", str(case.photo))
    if page.evaluate("() => document.querySelector('#advanced').open === false"):
        page.click("#advanced summary")
    page.set_input_files("#detections-input", str(case.detections))
    page.click("#inspect-button")
    page.wait_for_selector("#result:not([hidden]) #verdict.banner", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#annotated-img').naturalWidth > 0 && "
                           "document.querySelector('#deskmap-img').naturalWidth > 0", timeout=30_000)


def test_supervisor_inspects_a_photo_in_the_browser(browser, server, case, tmp_path):
    example, _ = case
    page, errors = _open(browser, server, {"width": 1280, "height": 900})
    _inspect(page, example)

    import httpx

    latest = httpx.get(f"{server.url}/api/v1/inspections", headers={"X-API-Key": KEY}).json()["items"][0]
    report = httpx.get(f"{server.url}/api/v1/inspections/{latest['id']}", headers={"X-API-Key": KEY}).json()["report"]
    verdict = page.inner_text("#verdict")
    assert ("合格" in verdict) and (("不合格" in verdict) == (not report["compliant"]))
    shown = page.locator("#violations li.violation")
    assert shown.count() == len(report["violations"])
    if report["violations"]:
        first = report["violations"][0]
        assert first["message_zh"] in page.inner_text("#violations")
        with_values = [v for v in report["violations"] if v["measured"] is not None]
        if with_values:
            assert "实测" in page.inner_text("#violations") and "要求" in page.inner_text("#violations")
    assert page.locator("#items tbody tr").count() == len(report["items"])
    _screenshot(page, tmp_path, "inspect-result-zh.png")

    page.click("#lang-toggle")
    assert ("PASS" if report["compliant"] else "FAIL") in page.inner_text("#verdict")
    if report["violations"]:
        assert report["violations"][0]["message_en"] in page.inner_text("#violations")
    _screenshot(page, tmp_path, "inspect-result-en.png")

    page.click(".tab[data-view=history]")
    page.wait_for_selector(f"#tiles .tile:has-text('{example.camera_id}')")
    page.wait_for_selector("#history-table tbody tr")
    _screenshot(page, tmp_path, "history.png")
    assert errors == []


def test_the_page_works_on_a_phone_sized_screen(browser, server, case, tmp_path):
    example, _ = case
    page, errors = _open(browser, server, {"width": 390, "height": 844})
    _inspect(page, example, drop=True)  # the photo dragged in rather than chosen
    # nothing wider than the screen: no sideways scrolling
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    banner = page.locator("#verdict").bounding_box()
    assert banner["width"] <= 390
    _screenshot(page, tmp_path, "inspect-result-phone.png")
    assert errors == []


def test_admin_calibrates_by_clicking_four_corners(browser, server, case, tmp_path):
    example, site = case
    page, errors = _open(browser, server, {"width": 1280, "height": 900})
    page.click(".tab[data-view=calibrate]")
    page.fill("#calib-camera", example.camera_id)
    page.set_input_files("#calib-snapshot", str(example.photo))
    page.wait_for_function("() => document.querySelector('#calib-canvas').width > 640")
    width_px = page.evaluate("() => document.querySelector('#calib-canvas').width")
    height_px = page.evaluate("() => document.querySelector('#calib-canvas').height")
    page.fill("#calib-width", str(example.desk_cm[0]))
    page.fill("#calib-depth", str(example.desk_cm[1]))
    box = page.locator("#calib-canvas").bounding_box()
    assert "1/4" in page.inner_text("#calib-instruction")
    for x, y in example.corners_px:
        page.mouse.click(box["x"] + x * box["width"] / width_px, box["y"] + y * box["height"] / height_px)
    assert page.is_enabled("#calib-save")
    page.click("#calib-save")
    page.wait_for_selector("#calib-result:not([hidden])")
    text = page.inner_text("#calib-result")
    assert "重投影误差" in text and "px" in text
    _screenshot(page, tmp_path, "calibration.png")

    saved = load_camera(site / "cameras" / f"{example.camera_id}.yaml")
    # clicks land on whole CSS pixels: within a pixel or two of the intended corners
    for pair, (x, y) in zip(saved.spec.points, example.corners_px):
        assert abs(pair.image_px[0] - x) < 3 and abs(pair.image_px[1] - y) < 3
    assert saved.spec.reference_frame is not None
    assert errors == []


def test_api_docs_render_without_internet(browser, server, tmp_path):
    pytest.importorskip("fastapi_offline", reason="Swagger UI files come from the fastapi-offline package")
    page, errors = _offline_page(browser, server, {"width": 1280, "height": 900})
    page.goto(server.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "Desk-layout inspector" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() >= 12
    _screenshot(page, tmp_path, "api-docs.png")
    assert errors == []
