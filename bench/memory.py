"""Resident memory of processes, read from /proc (Linux), for the benches: a sampler that follows a
process's children (the batch's worker processes, the service's uvicorn workers) while a run goes on.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB, or None when it is gone (or not on Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """The direct children of a process."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _is_worker(pid: int) -> bool:
    # multiprocessing's spawned workers (a pool's, uvicorn's); not its resource tracker
    line = command_line(pid)
    return "spawn_main" in line or "multiprocessing.spawn" in line


def trend(samples: list[tuple[float, float]], start_share: float = 0.1) -> dict:
    """RSS at the start (the first sample once `start_share` of the process's sampled life has
    passed: start-up and the first loads done), at the end (the last sample) and at its peak, MiB."""
    if not samples:
        return {}
    t0, t1 = samples[0][0], samples[-1][0]
    start = next(rss for t, rss in samples if t >= t0 + start_share * (t1 - t0))
    end = samples[-1][1]
    return {"start_mb": round(start, 1), "end_mb": round(end, 1), "peak_mb": round(max(r for _, r in samples), 1),
            "growth_mb": round(end - start, 1), "samples": len(samples), "seconds": round(t1 - t0, 1)}


class RssSampler:
    """Samples the RSS of `parent`'s worker children (and of `parent` itself with `include_parent`)
    every `interval_s` in a thread, until stopped; `trends()` gives each process's start/end/peak."""

    def __init__(self, parent: int | None = None, interval_s: float = 0.5, include_parent: bool = False):
        self.parent = parent or os.getpid()
        self.interval_s = interval_s
        self.include_parent = include_parent
        self.samples: dict[int, list[tuple[float, float]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = [p for p in children(self.parent) if _is_worker(p)]
            if self.include_parent:
                pids.append(self.parent)
            now = time.monotonic()
            for pid in pids:
                rss = rss_mb(pid)
                if rss is not None:
                    self.samples.setdefault(pid, []).append((now, rss))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def trends(self, min_samples: int = 3) -> dict[int, dict]:
        return {pid: trend(s) for pid, s in self.samples.items() if len(s) >= min_samples}
