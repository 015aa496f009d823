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
