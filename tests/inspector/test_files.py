"""write_atomic: all or nothing, and concurrent writers of one file never trip over each other."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from inspector.files import write_atomic


def test_writes_the_bytes_readable_by_others_and_leaves_nothing_beside(tmp_path):
    path = write_atomic(tmp_path / "new" / "a.json", b"{}", durable=True)
    assert path.read_bytes() == b"{}" and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]


def test_twenty_writers_of_one_file_all_succeed_and_one_whole_version_stands(tmp_path):
    path = tmp_path / "picture.jpg"
    versions = [bytes([n]) * 100_000 for n in range(20)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda data: write_atomic(path, data), versions))
    assert path.read_bytes() in versions
    assert [p.name for p in tmp_path.iterdir()] == ["picture.jpg"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = write_atomic(tmp_path / "report.json", b"old")

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr("inspector.files.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]
