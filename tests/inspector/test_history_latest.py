"""`latest` per camera is found by the database: latest captured (not latest inspected), and only
one row per camera is read even from a large history."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from inspector.history import History, InspectionRow

ROWS = 20_000
CAMERAS = [f"window-{i:02d}" for i in range(12)]


def _fill(history: History) -> dict[str, tuple[datetime, int]]:
    """ROWS rows in random capture order (inspected in another order), some without a capture time;
    returns each camera's expected latest (when, sha index)."""
    rng = random.Random(7)
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    rows, expected = [], {}
    for i in range(ROWS):
        camera = rng.choice(CAMERAS)
        captured = t0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 30)) if rng.random() > 0.05 else None
        inspected = t0 + timedelta(days=40, seconds=ROWS - i)  # the newest inspected is never the newest captured
        when = captured or inspected
        rows.append(dict(key=f"k{i}", camera_id=camera, image_name=f"{i}.jpg", image_sha256=f"{i:064d}",
                         captured_at=captured, inspected_at=inspected, status="ok", compliant=True, score=1.0,
                         violation_count=0, message="", report_json='{"x": "' + "y" * 2000 + '"}', origin="batch"))
        if camera not in expected or (when, i) > expected[camera]:
            expected[camera] = (when, i)
    with Session(history.engine) as session:
        session.execute(insert(InspectionRow), rows)
        session.commit()
    return expected


def test_latest_per_camera_is_latest_captured_and_reads_one_row_per_camera(tmp_path):
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    expected = _fill(history)
    # rows without a capture time count by their inspection time: those are all newer here
    expected_ids = {camera: f"{index:064d}" for camera, (_, index) in expected.items()}

    loaded = []
    listener = lambda target, context: loaded.append(target.id)  # noqa: E731 - one ORM object made from a row
    event.listen(InspectionRow, "load", listener)
    try:
        started = time.perf_counter()
        latest = history.latest_per_camera()
        elapsed = time.perf_counter() - started
    finally:
        event.remove(InspectionRow, "load", listener)
    assert {camera: row.image_sha256 for camera, row in latest.items()} == expected_ids
    assert len(loaded) == len(CAMERAS)  # not 20,000
    assert elapsed < 2.0, elapsed


def test_latest_prefers_the_latest_captured_over_the_latest_inspected(tmp_path):
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    t0 = datetime(2026, 11, 20, 8, tzinfo=timezone.utc)
    base = dict(status="ok", compliant=True, score=1.0, origin="api")
    history.add(key="a", camera_id="w1", image_name="late.jpg", image_sha256="a", captured_at=t0 + timedelta(hours=2),
                inspected_at=t0 + timedelta(hours=3), **base)
    history.add(key="b", camera_id="w1", image_name="early.jpg", image_sha256="b", captured_at=t0,
                inspected_at=t0 + timedelta(hours=5), **base)  # uploaded later, taken earlier
    history.add(key="c", camera_id="w2", image_name="c.jpg", image_sha256="c", captured_at=None,
                inspected_at=t0, **base)
    assert {k: r.image_name for k, r in history.latest_per_camera().items()} == {"w1": "late.jpg", "w2": "c.jpg"}
