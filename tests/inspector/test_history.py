from datetime import datetime, timedelta, timezone

from inspector.history import History, inspection_key


def _add(history, camera, sha, captured, compliant=True, origin="batch"):
    return history.add(key=inspection_key(camera, sha, origin), camera_id=camera, image_name=f"{sha}.jpg",
                       image_sha256=sha, captured_at=captured, status="ok", compliant=compliant, score=1.0 if compliant else 0.5,
                       origin=origin)


def test_same_snapshot_is_stored_once_and_filters_work(tmp_path):
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    t0 = datetime(2026, 11, 20, 8, tzinfo=timezone.utc)
    first = _add(history, "w1", "aa", t0)
    again = _add(history, "w1", "aa", t0)
    assert again.id == first.id
    _add(history, "w1", "bb", t0 + timedelta(hours=1), compliant=False)
    _add(history, "w2", "cc", t0 + timedelta(hours=2))
    assert history.list().total == 3
    assert [r.image_sha256 for r in history.list(camera_id="w1").rows] == ["bb", "aa"]
    assert history.list(compliant=False).total == 1
    assert history.list(since=t0 + timedelta(minutes=30), until=t0 + timedelta(hours=2)).total == 1
    assert {k: r.image_sha256 for k, r in history.latest_per_camera().items()} == {"w1": "bb", "w2": "cc"}
    # a second process sees the committed rows
    assert History(f"sqlite:///{tmp_path / 'h.db'}").list(limit=1, offset=2).rows[0].image_sha256 == "aa"
