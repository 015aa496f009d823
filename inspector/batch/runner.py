"""The overnight batch: site file -> snapshots -> worker processes -> history rows -> morning report.

Resumable by construction: every snapshot has a key (camera, image sha256, origin "batch"); the
parent commits one history row per snapshot as its result arrives (the results of the last
quarter second together, in one transaction: a commit per row cost the parent as much CPU as a
worker's checks), and a run skips every key the history already holds. Killed at any moment, a
re-run inspects only what is missing (what was in flight or not yet committed), and the unique
key means nothing is ever stored twice.

`force` re-inspects everything and *replaces* each snapshot's row (delete and insert in one
transaction), so the history keeps exactly one row per snapshot (the latest verdict) and a
forced run that is killed leaves every snapshot with either its old or its new row, never both
and never none. Rows with status "error" are retried on every run (a fixed calibration or a
detections file that arrived late then takes effect); they fail again fast if the file is bad.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from multiprocessing import get_context
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from inspector.batch import worker
from inspector.batch.discover import Snapshot, discover
from inspector.batch.site import Site, SiteError, load_site
from inspector.history import LOCK_HEARTBEAT_S, History, InspectionRow, RunLocked
from inspector.history import default_database_url as shared_database_url

_IN_FLIGHT_PER_WORKER = 2  # calls (of up to _CHUNK snapshots) each: enough to keep workers busy; little lost to a kill
_CHUNK = 6  # snapshots per call: a worker reads and detects the next while it judges one (worker.process_many)
_MAX_ATTEMPTS = 2  # a snapshot in flight when a worker process died twice is recorded as an error
_COMMIT_EVERY_S = 0.25  # results are committed together at least this often (a kill re-does at most these)
_COMMIT_ROWS = 32  # ... and whenever this many are waiting


@dataclass(frozen=True)
class BatchSummary:
    """What a run did, and what the morning report says about the night."""

    site_id: str
    run_id: str
    out_dir: Path
    database_url: str
    report_html: Path
    report_csv: Path
    report_json: Path
    snapshots: int  # selected for the night (found, in the time window, not duplicates)
    inspected_now: int
    already_done: int  # found in the history and skipped (resume)
    compliant: int
    with_violations: int
    to_check: int  # judged snapshots whose verdict is "check": something conditional, a person should look
    cannot_judge: int
    occluded: int
    camera_moved: int
    errors: int  # snapshots that failed (corrupt, wrong size, ...)
    problems: int  # files and folders that could not take part (unknown camera, unreadable folder, ...)
    windows: int
    windows_failing: int
    elapsed_s: float
    images_per_s: float  # snapshots inspected now / wall time of the inspection phase
    failing_windows: tuple[str, ...] = field(default=())
    # per worker process: (pid, models it loaded, snapshots it inspected): a model loads once per worker
    worker_stats: tuple[tuple[int, int, int], ...] = field(default=())

    @property
    def exit_code(self) -> int:
        """0 every judged snapshot compliant, 1 any violation or result to check by eye (as
        `inspect`: a check is not compliant); setup errors raise before this."""
        return 1 if self.with_violations or self.to_check else 0

    @property
    def could_not_inspect(self) -> int:
        return self.cannot_judge + self.occluded + self.camera_moved + self.errors + self.problems

    def line(self) -> str:
        verdict = "FAIL" if self.with_violations else "CHECK" if self.to_check else "PASS"
        failing = f" ({', '.join(self.failing_windows[:5])}{', ...' if len(self.failing_windows) > 5 else ''})" \
            if self.failing_windows else ""
        return (
            f"{verdict} {self.site_id}: {self.snapshots} snapshot(s) from {self.windows} window(s): "
            f"{self.compliant} compliant, {self.with_violations} with violations, {self.to_check} to check by eye, "
            f"{self.could_not_inspect} could not be inspected; "
            f"{self.windows_failing} window(s) failing{failing}; "
            f"{self.inspected_now} inspected now, {self.already_done} already in history; "
            f"{self.images_per_s:.1f} images/s; report {self.report_html}"
        )


def default_database_url(out_dir: Path, site: Site | None = None) -> str:
    """--db, else the site file's `database`, else the history the service reads too
    (inspector.history.default_database_url: $DESK_INSPECTOR_DATABASE_URL, else out/history.db)."""
    if site is not None and site.database:
        return site.database
    return shared_database_url()


def _moment(value: datetime | str | None, site: Site, option: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise SiteError(f"not an ISO date or date-time: {value!r} (e.g. 2026-11-20 or 2026-11-20T20:00)", option) from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=site.tz)  # a time written without an offset is the site's local time
    return moment


def _time_window(site: Site, since, until, night) -> tuple[datetime | None, datetime | None]:
    """[since, until) from the options; --night D is the site's night D (see day_starts_at_hour)."""
    since, until = _moment(since, site, "--since"), _moment(until, site, "--until")
    if night is not None:
        if since is not None or until is not None:
            raise SiteError("give either --night or --since/--until", "--night")
        try:
            day = night if isinstance(night, date) else date.fromisoformat(str(night))
        except ValueError:
            raise SiteError(f"not a date: {night!r} (YYYY-MM-DD)", "--night") from None
        since = datetime.combine(day, dtime(hour=site.day_starts_at_hour), tzinfo=site.tz)
        until = since + timedelta(days=1)
    if since is not None and until is not None and until <= since:
        raise SiteError("--until must be after --since", "--until")
    return since, until


def _output_stems(snapshots: list[Snapshot]) -> dict[str, str]:
    """key -> output file stem: the file's own stem, made unique within its camera."""
    stems: dict[str, str] = {}
    used: set[tuple[str, str]] = set()
    for snap in snapshots:
        stem = snap.path.stem
        if (snap.camera_id, stem) in used:
            stem = f"{stem}-{snap.sha256[:8]}"
        used.add((snap.camera_id, stem))
        stems[snap.key] = stem
    return stems


def existing_rows(history: History, keys: list[str]) -> dict[str, bool]:
    """key -> whether that snapshot's row is final (False: an error of the setup, to retry)."""
    found: dict[str, bool] = {}
    with Session(history.engine) as session:
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            query = select(InspectionRow.key, InspectionRow.status, InspectionRow.message).where(InspectionRow.key.in_(chunk))
            for key, status, message in session.execute(query):
                found[key] = not (status == "error" and (message or "").endswith(worker.RETRY_MARK))
    return found


def store_many(history: History, rows: list[tuple[dict, bool]]) -> None:
    """Commit the rows in one transaction (old rows of the `replace` ones deleted in it). A key
    already stored by someone else (two runs over one night) keeps its row: the rows then go in one
    by one, the stored ones skipped, as `History.add` does."""
    if not rows:
        return
    now = datetime.now(timezone.utc)
    values = [{**fields, "inspected_at": fields.get("inspected_at") or now} for fields, _ in rows]
    replaced = [fields["key"] for fields, replace in rows if replace]
    try:
        with Session(history.engine) as session, session.begin():
            if replaced:
                session.execute(delete(InspectionRow).where(InspectionRow.key.in_(replaced)))
            session.execute(insert(InspectionRow), values)
    except IntegrityError:
        for fields, (_, replace) in zip(values, rows):
            if replace:
                with Session(history.engine) as session, session.begin():
                    session.execute(delete(InspectionRow).where(InspectionRow.key == fields["key"]))
                    session.add(InspectionRow(**fields))
            else:
                history.add(**fields)


def _progress(enabled: bool, total: int):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]inspecting[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} images/s"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
        console=Console(stderr=True), disable=not enabled, transient=False,
    )


def _pool(site: Site, out_dir: Path, workers: int, pictures: str) -> ProcessPoolExecutor:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, cores // workers)  # the cores shared out: no worker oversubscribes the machine
    # inherited by the spawned workers before torch loads: OpenMP threads that spin while they wait
    # make a model several times slower whenever anything else runs on the machine
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # spawn, not fork: a worker must not inherit the parent's database connection or progress thread
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=worker.init_worker,
                               initargs=(site, str(out_dir), pictures, threads))


def run_batch(
    site_path: str | Path,
    out_dir: str | Path = "out/batch",
    workers: int | None = None,
    force: bool = False,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    database_url: str | None = None,
    progress: bool = True,
    pictures: str = "changes",
    night: date | str | None = None,
) -> BatchSummary:
    """Run the night's batch and write the morning report. Raises InspectorError (SiteError) on a
    setup error, before any snapshot is inspected."""
    from inspector.batch.report import write_report

    if pictures not in worker.PICTURE_MODES:
        raise SiteError(f"pictures must be one of {', '.join(worker.PICTURE_MODES)}", "--pictures")
    if workers is not None and workers < 1:
        raise SiteError("--workers must be at least 1", "--workers")
    started = time.perf_counter()
    site = load_site(site_path)
    since, until = _time_window(site, since, until, night)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SiteError(f"cannot create the output folder ({error.strerror})", str(out_dir)) from None
    url = database_url or default_database_url(out_dir, site)
    try:
        history = History(url)
    except (SQLAlchemyError, OSError, ValueError) as error:
        raise SiteError(f"cannot open the history database: {error}", url) from None
    workers = workers or max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 8))
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]

    with _run_lock(history, site.site_id, run_id):
        found = discover(site, since, until)
        snapshots = list(found.snapshots)
        existing = existing_rows(history, [s.key for s in snapshots])
        todo = [s for s in snapshots if force or not existing.get(s.key, False)]
        inspect_started = time.perf_counter()
        inspected, stats = 0, {}
        if todo:
            pool = _PoolHolder(lambda: _pool(site, out_dir, workers, pictures), workers)
            try:
                inspected, stats = _run(pool, todo, existing, history, run_id, _output_stems(snapshots), progress)
            except BaseException:  # interrupted: rows already written stay; do not wait for the workers
                pool.executor.shutdown(wait=False, cancel_futures=True)
                raise
            pool.close()
        inspect_s = time.perf_counter() - inspect_started

        paths = write_report(site, found, history, out_dir, run_id=run_id)
        counts = paths.counts
        return BatchSummary(
            site_id=site.site_id, run_id=run_id, out_dir=out_dir, database_url=url,
            report_html=paths.html, report_csv=paths.csv, report_json=paths.json,
            snapshots=len(snapshots), inspected_now=inspected, already_done=len(snapshots) - len(todo),
            compliant=counts["compliant"], with_violations=counts["violations"], to_check=counts["checks"],
            cannot_judge=counts["cannot_judge"],
            occluded=counts["occluded"], camera_moved=counts["camera_moved"], errors=counts["error"],
            problems=len(found.problems) - counts["duplicates"], windows=counts["windows"],
            windows_failing=counts["windows_failing"], failing_windows=tuple(counts["failing_windows"]),
            elapsed_s=round(time.perf_counter() - started, 2),
            images_per_s=round(inspected / inspect_s, 2) if inspected and inspect_s > 0 else 0.0,
            worker_stats=tuple((pid, loads, n) for pid, (loads, n) in sorted(stats.items())),
        )


@contextmanager
def _run_lock(history: History, site_id: str, run_id: str):
    """One batch run per site and database at a time: a second one exits with a clear message
    instead of inspecting the night again beside the first. A heartbeat keeps the lock fresh; a
    killed run's lock is taken over once its process is gone (or its heartbeat stale)."""
    try:
        history.acquire_run_lock(site_id, run_id)
    except RunLocked as error:
        raise SiteError(str(error), "--db") from None
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(LOCK_HEARTBEAT_S):
            try:
                history.beat_run_lock(site_id, run_id)
            except SQLAlchemyError:  # a busy database: the next beat tries again
                pass

    beating = threading.Thread(target=beat, name="run-lock-heartbeat", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join(timeout=5)
        history.release_run_lock(site_id, run_id)


class _PoolHolder:
    """The current worker pool; replaced by a fresh one if a worker process dies."""

    def __init__(self, make, workers: int):
        self.make = make
        self.workers = workers
        self.executor = make()

    def started(self) -> None:
        """Wait for every worker to be ready; a worker that cannot start is a setup error."""
        warmups = [self.executor.submit(worker.warm_up) for _ in range(self.workers)]
        try:
            for future in warmups:
                future.result()
        except BrokenProcessPool:
            raise SiteError("the worker processes could not start (their error is printed above): "
                            "check the models and cameras of the site file", "--workers") from None

    def replace(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self.make()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _run(pool: _PoolHolder, todo: list[Snapshot], existing: dict[str, bool], history: History, run_id: str,
         stems: dict[str, str], show_progress: bool) -> tuple[int, dict[int, tuple[int, int]]]:
    """Feed the workers a few snapshots at a time; commit the results as they arrive (together,
    every _COMMIT_EVERY_S at most)."""
    pending = deque(todo)
    attempts: dict[str, int] = {}
    in_flight: dict[Future, list[Snapshot]] = {}
    done_count = 0
    stats: dict[int, tuple[int, int]] = {}  # worker pid -> (models loaded, snapshots done)
    limit = pool.workers * _IN_FLIGHT_PER_WORKER
    unsaved: list[tuple[dict, bool]] = []  # (row, replaces an old row)
    with _progress(show_progress, len(todo)) as bar:
        task_id = bar.add_task("inspect", total=len(todo), rate="-")
        clock = saved_at = time.perf_counter()
        pool.started()
        try:
            while pending or in_flight:
                while pending and len(in_flight) < limit:
                    chunk = [pending.popleft()]
                    # a snapshot retried after a worker died goes alone: a crashing file takes no other with it
                    while pending and len(chunk) < _CHUNK and chunk[0].key not in attempts and pending[0].key not in attempts:
                        chunk.append(pending.popleft())
                    tasks = [worker.Task(snap.camera_id, str(snap.path), snap.sha256, snap.key, snap.captured_at,
                                         stems[snap.key]) for snap in chunk]
                    in_flight[pool.executor.submit(worker.process_many, tasks)] = chunk
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED, timeout=_COMMIT_EVERY_S)
                broken = False
                for future in finished:
                    chunk = in_flight.pop(future)
                    try:
                        results = list(zip(chunk, future.result()))
                    except BrokenProcessPool:
                        broken = True
                        results = []
                        for snap in chunk:
                            attempts[snap.key] = attempts.get(snap.key, 0) + 1
                            if attempts[snap.key] < _MAX_ATTEMPTS:
                                pending.appendleft(snap)
                            else:
                                results.append((snap, _died(snap, "the worker process died while inspecting this file "
                                                                  "(out of memory or a crashing decoder)")))
                    except Exception as error:  # noqa: BLE001 - e.g. a result that cannot be unpickled
                        results = [(snap, _died(snap, f"internal error ({type(error).__name__}: {error})" + worker.RETRY_MARK))
                                   for snap in chunk]
                    for snap, outcome in results:
                        unsaved.append(({**outcome.row_fields(), "origin": "batch", "run_id": run_id}, snap.key in existing))
                        done_count += 1
                        if outcome.worker_pid:
                            stats[outcome.worker_pid] = (outcome.model_loads, stats.get(outcome.worker_pid, (0, 0))[1] + 1)
                        elapsed = time.perf_counter() - clock
                        bar.update(task_id, advance=1, rate=f"{done_count / elapsed:.1f}" if elapsed > 0 else "-")
                if len(unsaved) >= _COMMIT_ROWS or time.perf_counter() - saved_at >= _COMMIT_EVERY_S:
                    store_many(history, unsaved)
                    unsaved.clear()
                    saved_at = time.perf_counter()
                if broken:
                    # a worker process died (out of memory, a crashing decoder): the pool is unusable;
                    # put the other in-flight snapshots back and carry on with a fresh pool
                    for snap in (snap for chunk in in_flight.values() for snap in chunk):
                        attempts[snap.key] = attempts.get(snap.key, 0) + 1
                        pending.appendleft(snap)
                    in_flight.clear()
                    pool.replace()
        finally:  # also when interrupted (Ctrl-C): what has arrived is kept
            store_many(history, unsaved)
    return done_count, stats


def _died(snap: Snapshot, message: str) -> worker.Outcome:
    return worker.Outcome(
        key=snap.key, camera_id=snap.camera_id, image_name=str(snap.path), image_sha256=snap.sha256,
        captured_at=snap.captured_at, status="error", compliant=None, score=None, violation_count=0,
        message=message, report_json=None, annotated_path=None, desk_map_path=None,
    )
