"""The morning report opened in headless Chromium: sections present, worst windows first,
persistence shown, every bad file listed with its reason, pictures embedded, nothing fetched."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(chromium, night_run, tmp_path_factory):
    # a copy elsewhere: the page must open from disk wherever the folder is moved
    moved = tmp_path_factory.mktemp("moved") / "report"
    shutil.copytree(night_run.out, moved)
    outside: list[str] = []
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.on("request", lambda request: None if request.url.startswith(("file:", "data:")) else outside.append(request.url))
    page.goto((moved / "morning-report.html").as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(moved / "morning-report.png"), full_page=True)
    yield page, outside, night_run
    page.close()


def test_sections_are_present(page):
    page, outside, _ = page
    for section in ("summary", "halls", "nights", "windows", "could-not-inspect", "notes"):
        assert page.locator(f"section#{section}").count() == 1, section
    assert page.locator("#nights svg#nights-chart rect.bar").count() == 1  # one night so far
    assert page.locator("#halls tr.hall").count() == 2
    assert "VIOLATIONS FOUND" in page.inner_text("#verdict")
    assert outside == []  # no CDN, no font, nothing from the network
    assert "window-04: no reference frame in the calibration file" in page.inner_text("#notes")


def _verdicts(db_url: str) -> dict[str, Counter]:
    """Per camera, the verdicts of its judged snapshots, as the history holds them."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from inspector.history import History, InspectionRow

    verdicts: dict[str, Counter] = {}
    with Session(History(db_url).engine) as session:
        for row in session.scalars(select(InspectionRow).where(InspectionRow.status == "ok")):
            verdict = (row.report() or {}).get("verdict") or ("pass" if row.compliant else "fail")
            verdicts.setdefault(row.camera_id, Counter())[verdict] += 1
    return verdicts


def test_windows_worst_first_with_persistence(page):
    page, _, night_run = page
    windows = page.locator("article.window")
    shown = [(windows.nth(i).get_attribute("data-camera"), windows.nth(i).get_attribute("data-verdict"))
             for i in range(windows.count())]
    rank = {"fail": 0, "check": 1, "unknown": 2, "pass": 3}
    assert [rank[v] for _, v in shown] == sorted(rank[v] for _, v in shown)  # fail, check, not judged, pass
    assert shown[:2] == [("window-02", "fail"), ("window-03", "fail")] and ("window-04", "unknown") in shown
    # window-01 is compliant all night in the scene; a guard band may leave some of it to check by eye
    verdicts = _verdicts(night_run.db_url)
    assert dict(shown)["window-01"] == ("check" if verdicts["window-01"]["check"] else "pass")
    assert verdicts["window-01"]["fail"] == 0
    for camera, counts in verdicts.items():
        tally = page.locator(f"#window-{camera} .counts")
        assert [int(tally.get_attribute(f"data-{v}")) for v in ("pass", "check", "fail")] == [
            counts["pass"], counts["check"], counts["fail"]], camera
    bag = page.locator("#window-window-02 .rule")
    assert {bag.nth(i).get_attribute("data-persistence") for i in range(bag.count())} == {"all_night"}
    assert "fails all night" in page.inner_text("#window-window-02") and "6 of 6" in page.inner_text("#window-window-02")
    phone = page.locator("#window-window-03 .rule")
    assert phone.count() == 1 and phone.first.get_attribute("data-persistence") == "once"
    assert "measured 实测" in page.inner_text("#window-window-02")  # the measured value of the edge margin
    assert "snapshot folder not found" in page.inner_text("#window-window-04")
    # the one-cell-per-snapshot strip: window-03 has 5 compliant (or to check by eye), 1 violation, 3 not judged
    strip = "#window-window-03 svg.timeline"
    assert page.locator(f"{strip} rect.t-ok").count() + page.locator(f"{strip} rect.t-check").count() == 5
    assert page.locator(f"{strip} rect.t-check").count() == verdicts["window-03"]["check"]
    assert page.locator(f"{strip} rect.t-fail").count() == 1
    assert page.locator(f"{strip} rect.t-na").count() == 3


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
    assert "image size does not match the camera" in listed["window-02_2026-11-20T23-50-00.jpg"][1]
    assert "not in the site file" in listed["window-09_2026-11-20T21-00-00.jpg"][1]
    assert listed["window-04"][0] == "unreadable_folder"
    assert "too dark" in listed["window-01_2026-11-20T23-00-00.jpg"][1]
    summary = page.inner_text("#could-not-inspect #reasons")
    for reason in ("zero-byte", "truncated", "corrupt", "non-image", "size does not match camera", "cannot judge",
                   "occluded", "camera moved", "unreadable folder", "camera not in site file"):
        assert reason in summary, reason


# -- a night with results to check by eye: hand-made reports in a copy of the history ---------------
# (rule, kind, measured, required, U, decision) per window-01 snapshot, in capture order
CUP = ("cup-in-place", "zone", 2.9, 2.0, 1.3, "conditional_fail")  # 0.9 cm past the limit: 0.69 U
MARGIN = ("front-margin", "edge_margin", 4.6, 5.0, 1.2, "conditional_fail")  # 0.4 cm past: 0.33 U
MONITOR = ("monitor-in-place", "zone", 1.2, 2.0, 1.5, "conditional_pass")  # 0.8 cm inside: 0.53 U
CHECKED = [[CUP, MONITOR], [CUP, MONITOR], [MARGIN, MONITOR], [MONITOR], [MONITOR], [MONITOR]]
NO_TURN = {"rule": "kept-square", "kind": "alignment", "item_ids": [1, 3],
           "reason_en": "kept square: the turn is not seen", "reason_zh": "摆放端正：无法看出物品的朝向"}


def _result(rule, kind, measured, required, u, decision) -> dict:
    return {"rule": rule, "kind": kind, "severity": "minor", "item_ids": [1], "measured": measured, "required": required,
            "unit": "cm", "message_en": f"{rule}: {measured} ± {u} cm", "message_zh": f"{rule}：{measured} ± {u} cm",
            "uncertainty": u, "decision": decision}


@pytest.fixture(scope="module")
def checked(chromium, night_run, tmp_path_factory):
    """window-01's judged snapshots rewritten as check verdicts; the report written again from the history."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from inspector.batch.runner import run_batch
    from inspector.history import History, InspectionRow

    out = tmp_path_factory.mktemp("checked")
    # SQLite's own copy: the history is in WAL mode, its latest rows may not be in the main file yet
    source, target = sqlite3.connect(night_run.out / "history.db"), sqlite3.connect(out / "history.db")
    source.backup(target)
    source.close()
    target.close()
    url = f"sqlite:///{out / 'history.db'}"
    with Session(History(url).engine) as session:
        rows = session.scalars(select(InspectionRow).where(InspectionRow.camera_id == "window-01",
                                                           InspectionRow.status == "ok")
                               .order_by(InspectionRow.captured_at)).all()
        assert len(rows) == len(CHECKED)
        for row, results in zip(rows, CHECKED):
            report = row.report()
            made = [_result(*r) for r in results]
            report.update(verdict="check", compliant=False, not_judged=[NO_TURN],
                          violations=[r for r in made if r["decision"] != "conditional_pass"],
                          conditional_passes=[r for r in made if r["decision"] == "conditional_pass"])
            row.report_json, row.compliant = json.dumps(report), False
        session.commit()
    # the judged rows are done: the run writes the report from the history (it may retry a bad file)
    run_batch(night_run.site.site_file, out, workers=1, database_url=url, progress=False)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto((out / "morning-report.html").as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(out / "morning-report.png"), full_page=True)
    yield page, out
    page.close()


def test_a_window_to_check_by_eye_is_shown_apart_from_violations(checked):
    page, _ = checked
    window = page.locator("#window-window-01")
    assert window.get_attribute("data-verdict") == "check" and "CHECK BY EYE 待核查" in window.locator("h3").inner_text()
    tally = window.locator(".counts")
    assert [tally.get_attribute(f"data-{v}") for v in ("pass", "check", "fail")] == ["0", "6", "0"]
    assert window.locator("svg.timeline rect.t-check").count() == 6
    assert window.locator(".rule").count() == 0  # no sure violation
    # the results to check, one block per rule, worst first: furthest past the limit relative to U
    checks = window.locator(".checks .check-rule")
    assert [checks.nth(i).get_attribute("data-rule") for i in range(checks.count())] == [
        "cup-in-place", "front-margin", "monitor-in-place"]
    assert [checks.nth(i).get_attribute("data-decision") for i in range(3)] == [
        "conditional_fail", "conditional_fail", "conditional_pass"]
    cup = checks.nth(0).inner_text()
    assert "2 of 6" in cup and "2.9 ± 1.3 cm" in cup and "≤ 2.0 cm" in cup and "0.9 cm past the limit" in cup
    assert "(0.7 U)" in cup and "待核查·可能不合格" in cup
    monitor = checks.nth(2).inner_text()
    assert "6 of 6" in monitor and "0.8 cm inside the limit" in monitor and "(0.5 U)" in monitor
    # the rules not judged, with their reasons in both languages
    not_judged = window.locator(".not-judged tr[data-rule='kept-square']").inner_text()
    assert "摆放端正：无法看出物品的朝向" in not_judged and "the turn is not seen" in not_judged and "#1 #3" in not_judged


def test_the_summary_and_machine_files_count_checks(checked):
    page, out = checked
    data = json.loads((out / "morning-report.json").read_text(encoding="utf-8"))
    assert int(page.inner_text("#checks-card .n")) == data["totals"]["checks"] >= 6
    assert "window-01" in data["totals"]["windows_checking"]
    window = next(w for w in data["windows"] if w["camera"] == "window-01")
    assert window["verdict"] == "check" and window["to_check"] == 6 and window["rules"] == []
    assert [c["rule"] for c in window["checks"]] == ["cup-in-place", "front-margin", "monitor-in-place"]
    assert window["checks"][0]["worst"]["uncertainty"] == 1.3 and window["checks"][0]["decisions"] == {"conditional_fail": 2}
    assert round(window["checks"][0]["worst"]["past_limit_u"], 2) == round(0.9 / 1.3, 2)
    assert window["not_judged"] == [{"rule": "kept-square", "kind": "alignment", "item_ids": [1, 3], "snapshots": 6,
                                     "reason_en": NO_TURN["reason_en"], "reason_zh": NO_TURN["reason_zh"]}]
    with open(out / "snapshots.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["camera"] == "window-01" and r["status"] == "ok"]
    assert {r["verdict"] for r in rows} == {"check"} and {r["violations"] for r in rows} == {"0"}
    assert rows[0]["rules_to_check"] == "cup-in-place;monitor-in-place"
