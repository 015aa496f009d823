"""The morning report opened in headless Chromium: sections present, worst windows first,
persistence shown, every bad file listed with its reason, pictures embedded, nothing fetched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def page(night_run, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    # a copy elsewhere: the page must open from disk wherever the folder is moved
    moved = tmp_path_factory.mktemp("moved") / "report"
    shutil.copytree(night_run.out, moved)
    outside: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda request: None if request.url.startswith(("file:", "data:")) else outside.append(request.url))
        page.goto((moved / "morning-report.html").as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(moved / "morning-report.png"), full_page=True)
        yield page, outside, night_run
        browser.close()


def test_sections_are_present(page):
    page, outside, _ = page
    for section in ("summary", "halls", "nights", "windows", "could-not-inspect", "notes"):
        assert page.locator(f"section#{section}").count() == 1, section
    assert page.locator("#nights svg#nights-chart rect.bar").count() == 1  # one night so far
    assert page.locator("#halls tr.hall").count() == 2
    assert "VIOLATIONS FOUND" in page.inner_text("#verdict")
    assert outside == []  # no CDN, no font, nothing from the network
    assert "window-04: no reference frame in the calibration file" in page.inner_text("#notes")


def test_windows_worst_first_with_persistence(page):
    page, _, _ = page
    windows = page.locator("article.window")
    assert [windows.nth(i).get_attribute("data-camera") for i in range(windows.count())] == [
        "window-02", "window-03", "window-04", "window-01"]
    assert [windows.nth(i).get_attribute("data-verdict") for i in range(4)] == ["fail", "fail", "unknown", "pass"]
    bag = page.locator("#window-window-02 .rule")
    assert {bag.nth(i).get_attribute("data-persistence") for i in range(bag.count())} == {"all_night"}
    assert "fails all night" in page.inner_text("#window-window-02") and "6 of 6" in page.inner_text("#window-window-02")
    phone = page.locator("#window-window-03 .rule")
    assert phone.count() == 1 and phone.first.get_attribute("data-persistence") == "once"
    assert "measured 实测" in page.inner_text("#window-window-02")  # the measured value of the edge margin
    assert "snapshot folder not found" in page.inner_text("#window-window-04")
    # the one-cell-per-snapshot strip: window-03 has 5 compliant, 1 violation, 3 not judged
    assert page.locator("#window-window-03 svg.timeline rect.t-ok").count() == 5
    assert page.locator("#window-window-03 svg.timeline rect.t-fail").count() == 1
    assert page.locator("#window-window-03 svg.timeline rect.t-na").count() == 3


def test_violation_thumbnails_are_embedded_and_shown(page):
    page, _, _ = page
    images = page.locator("#windows img")
    assert images.count() >= 2
    for i in range(images.count()):
        assert images.nth(i).get_attribute("src").startswith("data:image/jpeg;base64,")
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 100


def test_every_bad_file_is_listed_with_its_reason(page):
    page, _, night_run = page
    rows = page.locator("#could-not-inspect tr.problem")
    listed = {rows.nth(i).get_attribute("data-file"): (rows.nth(i).get_attribute("data-status"),
                                                       rows.nth(i).locator("td.reason").inner_text())
              for i in range(rows.count())}
    bad = {name: status for name, status in night_run.site.expected.items() if status not in ("pass", "fail")}
    assert set(listed) == set(bad) | set(night_run.site.problems)
    for name, status in bad.items():
        assert listed[name][0] == status and listed[name][1], name
    assert "the file is empty" in listed["window-01_2026-11-20T23-45-00.jpg"][1]
    assert "calibration no longer fits" in listed["window-02_2026-11-20T23-50-00.jpg"][1]
    assert "not in the site file" in listed["window-09_2026-11-20T21-00-00.jpg"][1]
    assert listed["window-04"][0] == "unreadable_folder"
    assert "too dark" in listed["window-01_2026-11-20T23-00-00.jpg"][1]
    summary = page.inner_text("#could-not-inspect #reasons")
    for reason in ("zero-byte", "truncated", "corrupt", "non-image", "calibration does not fit", "cannot judge",
                   "occluded", "camera moved", "unreadable folder", "camera not in site file"):
        assert reason in summary, reason
