"""The batch end to end: every snapshot's verdict or reason lands in the shared history, once;
a second run inspects nothing again; --force replaces rows; the machine-readable report."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspector.batch.runner import run_batch
from inspector.history import History, InspectionRow


def _copy_db(source: Path, target: Path) -> str:
    """A consistent copy of a WAL database (the newest rows may still be in the -wal file)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


def _rows(db_url: str) -> list[InspectionRow]:
    history = History(db_url)
    with Session(history.engine) as session:
        return list(session.scalars(select(InspectionRow)))


def test_every_snapshot_is_recorded_with_its_verdict_or_reason(night_run):
    rows = {Path(r.image_name).name: r for r in _rows(night_run.db_url)}
    assert set(rows) == set(night_run.site.expected)  # nothing missing, nothing extra (unknown camera is not stored)
    for name, expected in night_run.site.expected.items():
        row = rows[name]
        assert row.origin == "batch" and row.run_id == night_run.summary.run_id
        if expected in ("pass", "fail"):
            assert row.status == "ok" and row.compliant is (expected == "pass"), name
            assert json.loads(row.report_json)["camera"] == row.camera_id
        else:
            assert row.status == expected and row.compliant is None and row.message, (name, row.status, row.message)
    reasons = {name: rows[name].message for name in rows}
    assert reasons["window-01_2026-11-20T23-45-00.jpg"] == "the file is empty"
    assert "truncated JPEG" in reasons["window-02_2026-11-20T23-45-00.jpg"]
    assert "not an image" in reasons["window-03_notes.txt"]
    assert "unreadable JPEG header" in reasons["window-03_2026-11-20T23-45-00.jpg"]
    assert reasons["window-02_2026-11-20T23-50-00.jpg"].startswith("image size does not match the camera: image is 320x180 px")
    assert "too dark: mean luminance" in reasons["window-01_2026-11-20T23-00-00.jpg"]
    assert "too blurred" in reasons["window-02_2026-11-20T23-00-00.jpg"]
    assert "camera moved: desk corners shifted" in reasons["window-03_2026-11-20T23-00-00.jpg"]
    assert "desk hidden" in reasons["window-01_2026-11-20T23-30-00.jpg"]
    # captured_at is the file-name time (site time zone Asia/Shanghai) stored in UTC
    assert str(rows["window-01_2026-11-20T20-00-00.jpg"].captured_at)[:16] == "2026-11-20 12:00"
    # by default a window gets an annotated photo where one of its violations starts (the desk map
    # only with pictures="all"): window-02 fails the same way all night, so once per worker at most
    failing = rows["window-02_2026-11-20T20-00-00.jpg"]
    assert Path(failing.annotated_path).is_file() and failing.desk_map_path is None
    bag_pictures = [r for n, r in rows.items() if n.startswith("window-02") and r.status == "ok" and r.annotated_path]
    assert 1 <= len(bag_pictures) <= 2
    assert rows["window-03_2026-11-20T21-00-00.jpg"].annotated_path  # the phone, a change
    assert (night_run.out / "snapshots" / "window-01" / "window-01_2026-11-20T20-00-00.report.json").is_file()
    assert rows["window-01_2026-11-20T20-00-00.jpg"].annotated_path is None


def test_the_summary_counts_the_night_and_sets_the_exit_code(night_run):
    s = night_run.summary
    expected = Counter(night_run.site.expected.values())
    assert (s.snapshots, s.inspected_now, s.already_done) == (night_run.site.snapshot_count, night_run.site.snapshot_count, 0)
    assert (s.compliant, s.with_violations, s.to_check) == (expected["pass"], expected["fail"], 0)
    assert (s.cannot_judge, s.occluded, s.camera_moved, s.errors) == (
        expected["cannot_judge"], expected["occluded"], expected["camera_moved"], expected["error"])
    assert s.problems == 2 and s.windows == 4 and s.failing_windows == ("window-02", "window-03")
    assert s.exit_code == 1 and s.line().startswith("FAIL test-centre: 27 snapshot(s) from 4 window(s)")
    assert len(s.worker_stats) == 2 and sum(n for _, _, n in s.worker_stats) == s.inspected_now  # two processes shared the work


def test_a_guarded_night_counts_what_to_check_by_eye(tmp_path):
    """The default decision (guard band): window-01's compliant desk, whose monitor sits within
    its U of the zone's limit at these small frames, is to check by eye, never a silent pass; the
    sure violations stay violations; the exit code says "not all compliant"."""
    from tests.batch.conftest import build_site

    site = build_site(tmp_path / "site", snapshots_per_camera=2, faults=False, decision="guarded")
    s = run_batch(site.site_file, tmp_path / "out", workers=1, database_url=f"sqlite:///{tmp_path / 'h.db'}",
                  progress=False)
    assert s.snapshots == 6 and s.compliant + s.with_violations + s.to_check == 6
    assert s.with_violations == 2 and s.failing_windows == ("window-02",)  # the bag, surely out of place
    assert s.to_check == 4 and s.compliant == 0 and "4 to check by eye" in s.line()
    assert s.exit_code == 1
    data = json.loads((tmp_path / "out" / "morning-report.json").read_text(encoding="utf-8"))
    windows = {w["camera"]: w for w in data["windows"]}
    assert windows["window-01"]["to_check"] == 2 and windows["window-01"]["with_violations"] == 0


def test_machine_readable_report(night_run):
    data = json.loads((night_run.out / "morning-report.json").read_text(encoding="utf-8"))
    windows = {w["camera"]: w for w in data["windows"]}
    assert [w["camera"] for w in data["windows"]] == ["window-02", "window-03", "window-04", "window-01"]  # worst first
    assert windows["window-02"]["compliance_rate"] == 0.0 and windows["window-03"]["compliance_rate"] == round(5 / 6, 4)
    bag = {r["rule"]: r for r in windows["window-02"]["rules"]}
    assert bag["only-listed-items"]["persistence"] == "all_night" and bag["only-listed-items"]["failed"] == 6
    assert bag["front-margin"]["unit"] == "cm" and bag["front-margin"]["required"] == 5.0
    assert all(m < 5.0 for m in bag["front-margin"]["measured"])
    assert [r["persistence"] for r in windows["window-03"]["rules"]] == ["once"]
    kinds = Counter(p["kind"] for p in data["could_not_inspect"])
    assert kinds == {"cannot judge": 2, "camera moved": 1, "occluded": 1, "zero-byte": 1, "truncated": 1, "corrupt": 1,
                     "non-image": 1, "size does not match camera": 1, "unreadable folder": 1, "camera not in site file": 1}
    assert data["nights"] == [{"night": "2026-11-20", "judged": 18, "compliant": 11, "compliance_rate": 11 / 18,
                               "per_hall": {"hall-a": 0.5, "hall-b": 5 / 6}}]
    with open(night_run.out / "snapshots.csv", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == night_run.site.snapshot_count + 2
    assert {r["status"] for r in table} == {"ok", "cannot_judge", "occluded", "camera_moved", "error",
                                            "unreadable_folder", "unknown_camera"}


def test_a_second_run_inspects_nothing_again_and_force_replaces_rows(night_run, tmp_path):
    url = _copy_db(night_run.out / "history.db", tmp_path / "history.db")
    again = run_batch(night_run.site.site_file, tmp_path / "out", workers=1, database_url=url, progress=False)
    # only the error of the setup (an image whose size does not match its camera) is retried; bad bytes are final
    assert (again.inspected_now, again.already_done) == (1, night_run.site.snapshot_count - 1)
    assert (again.compliant, again.with_violations, again.errors) == (
        night_run.summary.compliant, night_run.summary.with_violations, night_run.summary.errors)
    rows = _rows(url)
    assert len(rows) == night_run.site.snapshot_count == len({r.key for r in rows})

    forced = run_batch(night_run.site.site_file, tmp_path / "out", workers=2, force=True, database_url=url,
                       progress=False, pictures="violations")
    assert forced.inspected_now == night_run.site.snapshot_count and forced.already_done == 0
    rows = _rows(url)
    assert len(rows) == night_run.site.snapshot_count == len({r.key for r in rows})  # replaced, not added
    assert {r.run_id for r in rows} == {forced.run_id}
    failing = [r for r in rows if r.status == "ok" and not r.compliant]
    assert len(failing) == 7 and all(Path(r.annotated_path).is_file() for r in failing)  # pictures="violations": every one


def test_the_night_option_selects_one_night(night_run, tmp_path):
    url = _copy_db(night_run.out / "history.db", tmp_path / "history.db")
    other = run_batch(night_run.site.site_file, tmp_path / "out", workers=1, database_url=url,
                      night="2026-11-21", progress=False)
    # only the text file (no time in its name: its file time, today) can fall in another night
    assert other.snapshots <= 1 and other.with_violations == 0 and other.exit_code == 0
    history = History(url)
    with Session(history.engine) as session:
        assert session.scalar(select(func.count()).select_from(InspectionRow)) == night_run.site.snapshot_count


def test_a_bug_met_on_one_file_is_recorded_against_it_and_retried(night_site, tmp_path, monkeypatch):
    from inspector.batch import quality, worker
    from inspector.batch.discover import discover
    from inspector.batch.site import load_site

    site = load_site(night_site.site_file)
    snap = discover(site).snapshots[0]
    worker.init_worker(site, str(tmp_path), "none", 1)

    def boom(*args, **kwargs):
        raise ZeroDivisionError("odd frame")

    monkeypatch.setattr(quality, "assess", boom)
    outcome = worker.process(worker.Task(snap.camera_id, str(snap.path), snap.sha256, snap.key, snap.captured_at, "x"))
    assert outcome.status == "error" and outcome.key == snap.key
    assert "internal error while inspecting (ZeroDivisionError: odd frame)" in outcome.message
    assert outcome.message.endswith(worker.RETRY_MARK)  # not final: the next run tries again


def test_rows_committed_together_replace_old_ones_and_never_duplicate_a_key(tmp_path):
    from datetime import datetime, timezone

    from inspector.batch.runner import store_many

    history = History(f"sqlite:///{tmp_path / 'h.db'}")

    def row(key: str, score: float) -> dict:
        return {"key": key, "camera_id": "window-01", "image_name": f"{key}.jpg", "image_sha256": key * 8,
                "status": "ok", "score": score, "origin": "batch",
                "captured_at": datetime(2026, 11, 20, 20, tzinfo=timezone.utc)}

    store_many(history, [(row("a", 0.5), False), (row("b", 0.5), False)])
    # "a" replaced; "b" stored meanwhile by another run keeps its row; "c" is new
    store_many(history, [(row("a", 1.0), True), (row("b", 0.9), False), (row("c", 0.7), False)])
    with Session(history.engine) as session:
        scores = dict(session.execute(select(InspectionRow.key, InspectionRow.score)).all())
    assert scores == {"a": 1.0, "b": 0.5, "c": 0.7}


def test_process_many_gives_each_snapshot_what_process_gives_it(night_site, tmp_path):
    # the worker reads and checks the next snapshot ahead, in a thread: the outcomes must not change
    from dataclasses import replace

    from inspector.batch import worker
    from inspector.batch.discover import discover
    from inspector.batch.site import load_site

    site = load_site(night_site.site_file)
    snaps = sorted(discover(site).snapshots, key=lambda s: str(s.path))[:6]
    tasks = [worker.Task(s.camera_id, str(s.path), s.sha256, s.key, s.captured_at, s.path.stem) for s in snaps]
    worker.init_worker(site, str(tmp_path / "one"), "none", 1)
    one_by_one = [worker.process(task) for task in tasks]
    worker.init_worker(site, str(tmp_path / "many"), "none", 1)
    together = worker.process_many(tasks)

    def comparable(outcome):
        return replace(outcome, elapsed_ms=0.0, report_json=None,
                       message=outcome.message.replace(str(tmp_path / "many"), str(tmp_path / "one")))

    assert [comparable(o) for o in together] == [comparable(o) for o in one_by_one]
    assert {o.status for o in together} >= {"ok"}
    reports = [(json.loads(a.report_json), json.loads(b.report_json))
               for a, b in zip(one_by_one, together) if a.report_json]
    for a, b in reports:
        a.pop("inspected_at"), b.pop("inspected_at"), a.pop("timings_ms"), b.pop("timings_ms")
        assert a == b
