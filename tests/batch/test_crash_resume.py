"""Kill the batch process mid-run (SIGKILL, no chance to clean up), run it again: every snapshot is
in the history exactly once, and the second run inspected only what the first did not finish."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector.batch.runner import run_batch
from tests.batch.conftest import REPO, build_site

PER_CAMERA = 16  # x 3 cameras


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("select count(*) from inspections").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def _reports(db: Path) -> dict[str, tuple]:
    """image -> what its report says (verdict, violations with values, items' footprints)."""
    import json

    with sqlite3.connect(db) as connection:
        rows = connection.execute("select image_name, report_json from inspections").fetchall()
    reports = {}
    for name, text in rows:
        report = json.loads(text)
        reports[Path(name).name] = (
            report["verdict"],
            tuple((v["rule"], tuple(v["item_ids"]), v["measured"], v.get("uncertainty")) for v in report["violations"]),
            tuple((i["class"], tuple(map(tuple, i["footprint_cm"]))) for i in report["items"]),
        )
    return reports


@pytest.mark.slow
def test_killed_mid_run_then_resumed_every_snapshot_once(tmp_path):
    site = build_site(tmp_path / "site", snapshots_per_camera=PER_CAMERA, faults=False)
    total = site.snapshot_count
    db, out = tmp_path / "history.db", tmp_path / "out"
    url = f"sqlite:///{db}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    batch = subprocess.Popen(
        [sys.executable, "-m", "inspector.batch", str(site.site_file), "--out", str(out), "--workers", "1",
         "--db", url, "--no-progress"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(db) < 6 and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        # the whole process group: the parent and its worker, as a power cut or `kill -9` would
        os.killpg(batch.pid, signal.SIGKILL)
    finally:
        batch.wait(timeout=30)
    assert batch.returncode == -signal.SIGKILL, batch.stderr.read().decode()[-2000:]
    with pytest.raises(ProcessLookupError):  # no worker left behind
        for _ in range(100):
            os.killpg(batch.pid, 0)
            time.sleep(0.05)

    done_before = _count(db)
    assert 6 <= done_before < total, "the run must be killed in the middle"

    summary = run_batch(site.site_file, out, workers=2, database_url=url, progress=False)
    assert summary.inspected_now == total - done_before and summary.already_done == done_before
    with sqlite3.connect(db) as connection:
        rows = connection.execute("select key, image_name, count(*) over (partition by image_name) from inspections").fetchall()
    assert len(rows) == total
    assert {Path(name).name for _, name, _ in rows} == set(site.expected)
    assert all(n == 1 for _, _, n in rows) and len({key for key, _, _ in rows}) == total
    assert summary.snapshots == total and summary.compliant + summary.with_violations == total
    assert summary.with_violations == sum(v == "fail" for v in site.expected.values())

    # a verdict is a function of the photo, camera, standard and model alone: the killed-and-resumed
    # night (two processes after the kill, each with its own outline memory) reports every snapshot
    # exactly as a clean one-process night does
    clean_db = tmp_path / "clean.db"
    run_batch(site.site_file, tmp_path / "clean", workers=1, database_url=f"sqlite:///{clean_db}", progress=False)
    assert _reports(clean_db) == _reports(db)


@pytest.mark.slow
def test_workers_end_when_only_the_batch_process_is_killed(tmp_path):
    """kill -9 of the batch process alone (not its group): its workers notice and exit, instead of
    running on reparented with a model each."""
    site = build_site(tmp_path / "site", snapshots_per_camera=PER_CAMERA, faults=False)
    db = tmp_path / "history.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    batch = subprocess.Popen(
        [sys.executable, "-m", "inspector.batch", str(site.site_file), "--out", str(tmp_path / "out"), "--workers", "2",
         "--db", f"sqlite:///{db}", "--no-progress"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    group = batch.pid
    try:
        deadline = time.monotonic() + 60
        while _count(db) < 2 and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert batch.poll() is None, "the batch ended before it could be killed"
        os.kill(batch.pid, signal.SIGKILL)  # the parent only
        batch.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("worker processes were still running 10 s after their batch process was killed")
    finally:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
def test_a_second_run_on_the_same_database_is_refused_while_the_first_runs(tmp_path):
    from inspector.batch.site import SiteError

    site = build_site(tmp_path / "site", snapshots_per_camera=PER_CAMERA, faults=False)
    db = tmp_path / "history.db"
    url = f"sqlite:///{db}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(
        [sys.executable, "-m", "inspector.batch", str(site.site_file), "--out", str(tmp_path / "out"), "--workers", "1",
         "--db", url, "--no-progress"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(db) < 1 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first.poll() is None
        rows_before = _count(db)
        with pytest.raises(SiteError, match=rf"another batch run .*pid {first.pid}.*site 'test-centre'"):
            run_batch(site.site_file, tmp_path / "second", workers=1, database_url=url, progress=False)
        assert not (tmp_path / "second" / "morning-report.html").exists()
        assert first.wait(timeout=120) in (0, 1)
        assert rows_before <= _count(db) == site.snapshot_count
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    # the first run released its lock: a run now goes ahead (and finds everything done)
    summary = run_batch(site.site_file, tmp_path / "third", workers=1, database_url=url, progress=False)
    assert summary.already_done == site.snapshot_count and summary.inspected_now == 0
