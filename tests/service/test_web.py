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
        # prefer a photo with sure violations: the page must show their list
        verdicts = [(inspect(load_frame(p, camera.camera_id), camera, standard, detections=load_detections(d)).verdict, p, d)
                    for p, d in pairs]
    except InspectorError:
        return None  # the example is still being made: use the hand-made scene
    _, photo, detections = min(verdicts, key=lambda v: {"fail": 0, "check": 1}.get(v[0], 2))
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
    words = {"pass": "合格", "fail": "不合格", "check": "请人工核查"}
    assert words[report["verdict"]] in verdict and page.get_attribute("#verdict", "data-verdict") == report["verdict"]
    assert "null" not in page.inner_text("#result") and "undefined" not in page.inner_text("#result")
    sure = [v for v in report["violations"] if v["decision"] == "fail"]
    to_check = [v for v in report["violations"] + report["conditional_passes"] if v["decision"] != "fail"]
    # sure violations in their list, results within their uncertainty of the limit apart
    assert page.locator("#violations li.violation").count() == len(sure)
    assert page.locator("#checks li.violation").count() == len(to_check)
    assert page.is_visible("#checks-block") == bool(to_check)
    if sure:
        assert sure[0]["message_zh"] in page.inner_text("#violations")
        if any(v["measured"] is not None for v in sure):
            assert "实测" in page.inner_text("#violations") and "要求" in page.inner_text("#violations")
        if any(v["uncertainty"] is not None for v in sure):
            assert " ± " in page.inner_text("#violations")
    for entry in report["not_judged"]:
        assert entry["reason_zh"] in page.inner_text("#not-judged")
    assert page.locator("#items tbody tr").count() == len(report["items"])
    _screenshot(page, tmp_path, "inspect-result-zh.png")

    page.click("#lang-toggle")
    assert {"pass": "PASS", "fail": "FAIL", "check": "Check by eye"}[report["verdict"]] in page.inner_text("#verdict")
    if sure:
        assert sure[0]["message_en"] in page.inner_text("#violations")
    for entry in report["not_judged"]:
        assert entry["reason_en"] in page.inner_text("#not-judged")
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


# -- a check verdict: results within their uncertainty of the limit, and rules not judged ----------
CHECK_RESULTS = [  # (rule, kind, severity, item, measured, required, U, decision)
    ("front-margin", "edge_margin", "major", 1, 4.6, 5.0, 1.2, "conditional_fail"),  # 0.4 cm past: 0.33 U
    ("cup-in-place", "zone", "minor", 1, 2.9, 2.0, 1.3, "conditional_fail"),  # 0.9 cm past: 0.69 U
    ("monitor-in-place", "zone", "minor", 2, 1.2, 2.0, 1.5, "conditional_pass"),  # 0.8 cm inside: 0.53 U
]
WORST_FIRST = ["cup-in-place", "front-margin", "monitor-in-place"]


def _check_report(camera):
    """A hand-made report with verdict check on the case's camera: a cup near the front edge and
    off its place, a monitor near the edge of its place, the turn of both not seen."""
    import numpy as np

    from inspector.records import NotJudged, Report, ReportItem, StandardRef, Violation

    def item(item_id, cls, zh, x0, y0, x1, y1, height_px):
        footprint = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
        px = camera.desk_to_image(np.array(footprint, dtype=float))
        return ReportItem(id=item_id, **{"class": cls}, label_zh=zh, confidence=0.9,
                          bbox_px=[float(px[:, 0].min()), float(px[:, 1].min() - height_px), float(px[:, 0].max()),
                                   float(px[:, 1].max())],
                          footprint_cm=footprint, center_cm=[(x0 + x1) / 2, (y0 + y1) / 2], angle_deg=0.0, permitted=True,
                          uncertainty_cm={"front": 1.2, "back": 1.6, "left": 0.9, "right": 1.0})

    items = [item(1, "cup", "水杯", 40, 4.6, 48, 12.6, 30), item(2, "monitor", "显示器", 96, 46, 150, 66, 120)]
    results = [Violation(rule=rule, kind=kind, severity=severity, item_ids=[item_id], measured=measured, required=required,
                         unit="cm", uncertainty=u, decision=decision,
                         message_en=f"{rule}: #{item_id} measured {measured} ± {u} cm",
                         message_zh=f"{rule}：{item_id}号 实测 {measured} ± {u} cm")
               for rule, kind, severity, item_id, measured, required, u, decision in CHECK_RESULTS]
    return Report(image="check.jpg", camera=camera.camera_id, standard=StandardRef(id="front-counter", version="1.0"),
                  model=None, inspected_at="2026-11-20T08:30:00+00:00", compliant=False, verdict="check", score=0.93,
                  items=items, violations=[r for r in results if r.decision != "conditional_pass"],
                  conditional_passes=[r for r in results if r.decision == "conditional_pass"],
                  not_judged=[NotJudged(rule="kept-square", kind="alignment", item_ids=[1, 2],
                                        reason_en="kept square: the turn is not seen (placed from its detection box alone)",
                                        reason_zh="摆放端正：仅有检测框，无法看出物品的朝向")],
                  warnings=[], timings_ms={})


@pytest.fixture
def check_inspection(case, server):
    """The check report stored in the server's history with its pictures, as a batch night would."""
    from datetime import datetime, timezone

    from inspector.frames import load_frame
    from inspector.history import History, inspection_key
    from inspector.outputs import write_outputs
    from rules.standard import load_standard

    example, site = case
    camera = load_camera(site / "cameras" / f"{example.camera_id}.yaml")
    report = _check_report(camera)
    settings = make_settings(site)
    paths = write_outputs(load_frame(example.photo, camera.camera_id), report, camera,
                          load_standard(REPO / "rules" / "standards" / "front-counter.yaml"), settings.data_dir / "check", "check")
    History(settings.db_url).add(
        key=inspection_key(camera.camera_id, "check", "batch"), camera_id=camera.camera_id, image_name="check.jpg",
        image_sha256="check", captured_at=datetime(2026, 11, 20, 9, tzinfo=timezone.utc),
        inspected_at=datetime(2026, 11, 20, 9, tzinfo=timezone.utc), status="ok", compliant=False, score=report.score,
        violation_count=len(report.violations), message="", report_json=report.to_json(indent=None),
        annotated_path=f"check/{paths['annotated'].name}", desk_map_path=f"check/{paths['desk_map'].name}", origin="batch")
    return report


def _open_check(page, camera_id: str, tmp_path: Path | None = None) -> None:
    page.click(".tab[data-view=history]")
    tile = page.locator(f"#tiles .tile:has-text('{camera_id}')")
    tile.wait_for()
    page.wait_for_selector("#history-table tbody tr")
    assert "check" in tile.get_attribute("class").split() and "待核查" in tile.inner_text()
    assert "违规数 0 · 3 项待核查" in tile.inner_text()  # no sure violation; three results to check
    assert page.locator("#history-table .badge.check").count() == 1
    if tmp_path is not None:
        _screenshot(page, tmp_path, "check-history.png")
    tile.click()
    page.wait_for_selector("#result:not([hidden]) #verdict.banner.check")
    page.wait_for_function("() => document.querySelector('#annotated-img').naturalWidth > 0 && "
                           "document.querySelector('#deskmap-img').naturalWidth > 0", timeout=30_000)


def test_a_check_verdict_asks_for_a_look_and_lists_what_to_check(browser, server, case, check_inspection, tmp_path):
    example, _ = case
    page, errors = _open(browser, server, {"width": 1280, "height": 900})
    page.wait_for_selector(f"#camera-select option[value='{example.camera_id}']", state="attached")
    _open_check(page, example.camera_id, tmp_path)

    banner = page.inner_text("#verdict")
    assert "请人工核查" in banner and "3 项待核查" in banner and "0 项违规" in banner
    # amber, not the red of a fail nor the green of a pass
    r, g, b = (int(v) for v in page.eval_on_selector(
        "#verdict", "e => getComputedStyle(e).backgroundColor").removeprefix("rgb(").rstrip(")").split(","))
    assert r > 240 and 220 < g < 250 and b < 230, (r, g, b)
    # nothing surely failed; the three results to check apart, worst first (furthest past the limit, in U)
    assert page.locator("#violations li.violation").count() == 0
    checks = page.locator("#checks li.violation")
    assert [checks.nth(i).get_attribute("data-rule") for i in range(checks.count())] == WORST_FIRST
    assert [checks.nth(i).get_attribute("data-decision") for i in range(3)] == ["conditional_fail", "conditional_fail",
                                                                             "conditional_pass"]
    text = page.inner_text("#checks")
    assert "实测 2.9 ± 1.3 cm" in text and "要求 ≤ 2 cm" in text and "超出限值 0.9 cm（0.7 U）" in text
    assert "可能合格" in text and "距限值 0.8 cm（0.5 U）" in text
    assert "摆放端正：仅有检测框，无法看出物品的朝向" in page.inner_text("#not-judged")
    assert "#1 #2" in page.inner_text("#not-judged")
    assert "前 1.2" in page.inner_text("#items")  # each item's ±U toward the edges
    assert "null" not in page.inner_text("#result") and "undefined" not in page.inner_text("#result")
    _screenshot(page, tmp_path, "check-verdict-zh.png")

    page.click("#lang-toggle")
    assert "Check by eye" in page.inner_text("#verdict") and "3 to check" in page.inner_text("#verdict")
    assert "likely fail" in page.inner_text("#checks") and "0.9 cm past the limit (0.7 U)" in page.inner_text("#checks")
    assert "the turn is not seen" in page.inner_text("#not-judged")
    _screenshot(page, tmp_path, "check-verdict-en.png")
    assert errors == []


def test_a_check_verdict_reads_on_a_phone(browser, server, case, check_inspection, tmp_path):
    example, _ = case
    page, errors = _open(browser, server, {"width": 390, "height": 844})
    page.wait_for_selector(f"#camera-select option[value='{example.camera_id}']", state="attached")
    _open_check(page, example.camera_id)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    _screenshot(page, tmp_path, "check-verdict-phone.png")
    assert errors == []
