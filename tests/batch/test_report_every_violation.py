"""The morning report leaves nothing out and fits a phone: every violation and every result to check
of every inspected snapshot has its row in the page (the bundled example night, where 13:45 fails
one rule for two items, and the test night), and the page has no horizontal scroll at 390 px."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


class _Rows(HTMLParser):
    """The attributes of every element with a class, by class name."""

    def __init__(self) -> None:
        super().__init__()
        self.by_class: dict[str, list[dict[str, str]]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        for name in attributes.get("class", "").split():
            self.by_class.setdefault(name, []).append(attributes)


def _rows(html: str) -> dict[str, list[dict[str, str]]]:
    parser = _Rows()
    parser.feed(html)
    return parser.by_class


def _reports(db_url: str) -> list[tuple[str, dict]]:
    """(file name, report) of every judged snapshot in the history."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from inspector.history import History, InspectionRow

    with Session(History(db_url).engine) as session:
        rows = session.scalars(select(InspectionRow).where(InspectionRow.status == "ok")).all()
        return [(Path(row.image_name).name, row.report()) for row in rows]


def _assert_every_result_listed(html: str, reports: list[tuple[str, dict]]) -> int:
    rows = _rows(html)
    failures = Counter((r["data-rule"], r["data-file"], r["data-items"]) for r in rows.get("failure", []))
    to_check = Counter((r["data-rule"], r["data-file"]) for r in rows.get("to-check", []))
    expected_failures: Counter = Counter()
    expected_checks: Counter = Counter()
    for name, report in reports:
        for result in report.get("violations", []) + report.get("conditional_passes", []):
            items = " ".join(str(i) for i in result.get("item_ids", []))
            if result.get("decision", "fail") == "fail":
                expected_failures[(result["rule"], name, items)] += 1
            else:
                expected_checks[(result["rule"], name)] += 1
    assert failures == expected_failures
    assert to_check == expected_checks
    return sum(expected_failures.values())


@pytest.fixture(scope="module")
def example_night(tmp_path_factory):
    """The bundled example's night (examples/site), run as the README says, into a temporary folder."""
    from inspector.batch.runner import run_batch

    out = tmp_path_factory.mktemp("example-night")
    db_url = f"sqlite:///{out / 'history.db'}"
    run_batch(REPO / "examples" / "site" / "front-counter.yaml", out, workers=1, database_url=db_url, progress=False)
    return out, db_url


def test_the_example_night_lists_the_bag_and_the_phone_at_13_45(example_night):
    out, db_url = example_night
    html = (out / "morning-report.html").read_text(encoding="utf-8")
    reports = _reports(db_url)
    assert len(reports) == 4
    assert _assert_every_result_listed(html, reports) == 7  # sure fails: 3 at 10:15, 3 at 13:45, 1 at 16:20
    rows = _rows(html)
    at_1345 = {(r["data-rule"], r["data-items"]) for r in rows["violation"]}  # the example block beside the picture
    assert {("only-listed-items", "10"), ("only-listed-items", "11"), ("name-plate-shown", "")} <= at_1345
    assert "11号包不在允许摆放的物品清单内" in html and "bag #11 is not a permitted item" in html


def test_every_violation_of_the_test_night_is_in_the_page(night_run):
    html = (night_run.out / "morning-report.html").read_text(encoding="utf-8")
    reports = _reports(night_run.db_url)
    assert sum(len(r.get("violations", [])) for _, r in reports) > 0
    assert _assert_every_result_listed(html, reports) > 0


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_morning_report_fits_a_390_px_phone(example_night, night_run):
    """Headless Chromium at 390 x 844: no horizontal scroll on either report (the example night,
    the test night with its tables of bad files), pictures and tables within the screen."""
    sync_api = pytest.importorskip("playwright.sync_api")
    shots = Path("/tmp/shots")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for name, folder in (("morning-390", example_night[0]), ("morning-test-night-390", night_run.out)):
                page = browser.new_page(viewport=PHONE)
                page.goto((folder / "morning-report.html").as_uri())
                page.wait_for_load_state("load")
                # open every "every violation" table: the widest content on the page
                page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
                page.evaluate("() => document.fonts.ready")
                assert page.evaluate("() => document.fonts.check('14px \"Report CJK\"', '合格')"), name
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                assert page.evaluate("() => document.scrollingElement.scrollWidth") <= PHONE["width"], name
                wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                    .map(e => e.tagName + '.' + e.className)""")
                assert wide == [], (name, wide[:5])
                page.close()
        finally:
            browser.close()


def test_the_page_carries_the_chinese_font_it_needs(example_night):
    """Chinese reads on a machine without a CJK font: the bundled font, cut down to the page's own
    characters, is embedded (tens of KB, not the 5 MB file)."""
    import base64
    import io
    import re

    pytest.importorskip("fontTools")
    from fontTools.ttLib import TTFont

    html = (example_night[0] / "morning-report.html").read_text(encoding="utf-8")
    uri = re.search(r'@font-face\{font-family:"Report CJK";src:url\(data:font/ttf;base64,([A-Za-z0-9+/=]+)\)', html)
    assert uri is not None
    data = base64.b64decode(uri.group(1))
    assert 5_000 < len(data) < 200_000
    covered = set(TTFont(io.BytesIO(data)).getBestCmap())
    assert {ord(c) for c in html if ord(c) >= 0x2000} <= covered  # 合格, 违规, 桌牌 … every one
