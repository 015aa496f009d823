"""What runs in each worker process: the site's cameras, standards and models loaded once (pool
initializer), then one snapshot at a time through the quality checks and the one `inspect`.

A worker never touches the history database: it returns an `Outcome` and the parent writes it, so
a killed run loses at most the snapshots that were in flight.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from inspector.batch import quality
from inspector.batch.site import Site
from inspector.errors import InspectorError
from inspector.files import write_atomic
from inspector.outlines import OutlineMemory

# changes: an annotated photo where a window's violation starts (a rule failing that did not fail in
#   the window's previous snapshot): one per episode, the evidence a supervisor looks at; a window
#   failing the same way all night costs one picture, and a rule that stops failing none (the
#   rules still failing have their picture from when they started);
# violations: one for every snapshot with violations; all: photo and desk map for every snapshot.
PICTURE_MODES = ("changes", "violations", "all", "none")
# Ends the message of an error whose cause is the setup, not the file's bytes (a calibration that no
# longer fits, a detections file not there yet): such rows are retried by the next run. An error of
# the bytes themselves (empty, truncated, corrupt) would only fail again, so its row is final.
RETRY_MARK = " (retried on the next run)"
THUMB_WIDTH_PX = 640


@dataclass(frozen=True)
class Task:
    camera_id: str
    path: str
    sha256: str
    key: str
    captured_at: datetime
    stem: str  # output file stem, unique within the camera


@dataclass(frozen=True)
class Outcome:
    """One snapshot's result: the history row's fields plus what the report wants to know."""

    key: str
    camera_id: str
    image_name: str
    image_sha256: str
    captured_at: datetime
    status: str  # history.STATUSES
    compliant: bool | None
    score: float | None
    violation_count: int
    message: str
    report_json: str | None
    annotated_path: str | None
    desk_map_path: str | None
    metrics: dict = field(default_factory=dict)
    worker_pid: int = 0
    model_loads: int = 0  # models this worker process has loaded so far (once each, at start)
    elapsed_ms: float = 0.0

    def row_fields(self) -> dict:
        return {
            "key": self.key, "camera_id": self.camera_id, "image_name": self.image_name,
            "image_sha256": self.image_sha256, "status": self.status,
            "compliant": self.compliant, "score": self.score, "violation_count": self.violation_count,
            "message": self.message, "report_json": self.report_json, "annotated_path": self.annotated_path,
            "desk_map_path": self.desk_map_path,
            # UTC: SQLite keeps no offset, so every writer stores UTC and readers assume it
            "captured_at": self.captured_at.astimezone(timezone.utc) if self.captured_at else None,
        }


class _State:
    def __init__(self, site: Site, out_dir: Path, pictures: str, threads: int | None = None):
        from calibration.camera import load_camera
        from rules.standard import load_standard

        self.site = site
        self.out_dir = out_dir
        self.pictures = pictures
        self.cameras = {cid: load_camera(c.calibration) for cid, c in site.cameras.items()}
        standards = {}
        for setup in site.cameras.values():
            if setup.standard not in standards:
                standards[setup.standard] = load_standard(setup.standard)
        self.standards = {cid: standards[c.standard] for cid, c in site.cameras.items()}
        self.detectors = {}
        self.model_loads = 0
        for setup in site.cameras.values():
            if setup.model is not None and setup.model not in self.detectors:
                from models.registry import load_detector

                extra = set().union(*(self.standards[c].permitted_classes for c, s in site.cameras.items() if s.model == setup.model))
                self.detectors[setup.model] = load_detector(setup.model, extra_ids=extra, threads=threads)
                self.model_loads += 1
        self.references: dict[str, quality.Reference | None] = {}
        self.last_violations: dict[str, frozenset[str]] = {}  # camera -> rules failed in its last snapshot here
        self.outline_memories: dict[str, OutlineMemory] = {}  # camera -> its last outlines found here

    def outline_memory(self, camera_id: str) -> OutlineMemory:
        return self.outline_memories.setdefault(camera_id, OutlineMemory())

    def reference(self, camera_id: str) -> quality.Reference | None:
        if camera_id not in self.references:
            self.references[camera_id] = load_reference(self.site.cameras[camera_id].reference_frame,
                                                         self.cameras[camera_id])[0]
        return self.references[camera_id]


_STATE: _State | None = None


def load_reference(path: Path | None, camera) -> tuple[quality.Reference | None, str]:
    """The prepared reference frame, or None and why the moved/occluded checks are off."""
    from inspector.frames import read_image_file

    if path is None:
        return None, "no reference frame in the calibration file: camera-moved and occlusion checks are off"
    try:
        image = read_image_file(path)
    except InspectorError as error:
        return None, f"reference frame unusable ({error}): camera-moved and occlusion checks are off"
    mismatch = quality.size_mismatch(image, camera)
    if mismatch:
        return None, f"reference frame {path.name} does not fit the calibration ({mismatch}): checks are off"
    return quality.Reference.build(image, camera), ""


def _die_with_parent(poll_s: float = 0.5) -> None:
    """A worker whose batch process was killed (SIGKILL, a crash) must not run on, reparented and
    holding its model's memory: a daemon thread watches the parent and ends the process when it
    is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def init_worker(site: Site, out_dir: str, pictures: str, threads: int) -> None:
    """Pool initializer: load everything once per worker process."""
    global _STATE
    _die_with_parent()
    cv2.setNumThreads(threads)
    _STATE = _State(site, Path(out_dir), pictures, threads)
    if any(type(d).__name__ == "TorchDetector" for d in _STATE.detectors.values()):
        import torch  # only then: importing it costs a worker more than a second

        torch.set_num_threads(threads)


def warm_up() -> int:
    return os.getpid()


def _failure_picture(image: np.ndarray, camera, reason: str, path: Path) -> str | None:
    """The frame that could not be judged, small, with the calibrated desk outline drawn on it:
    on a moved camera the outline visibly misses the desk."""
    try:
        scale = min(1.0, THUMB_WIDTH_PX / image.shape[1])
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image.copy()
        outline = quality.desk_outline_px(camera, scale)
        cv2.polylines(small, [np.round(outline).astype(np.int32)], True, (0, 215, 255), 2, cv2.LINE_AA)
        text = reason.split(" / ")[0][:90]
        cv2.rectangle(small, (0, 0), (small.shape[1], 22), (20, 20, 20), -1)
        cv2.putText(small, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (80, 200, 255), 1, cv2.LINE_AA)
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data.tobytes())
        return str(path)
    except Exception:  # a picture is a courtesy: never let it turn a verdict into an error
        return None


def process(task: Task) -> Outcome:
    """Inspect one snapshot. Every failure becomes an Outcome with its status and reason; a bug
    met on one odd file is recorded against that file (and retried next run), never stops the night."""
    started = time.perf_counter()
    try:
        return _finish(task, _prepare(task))
    except Exception as error:  # noqa: BLE001 - the night goes on; the row says what happened
        return _internal_error(task, error, started)


def process_many(tasks: list[Task]) -> list[Outcome]:
    """Inspect a few snapshots, each as `process` does, with the next one's reading, checks and
    detection running in a second thread while this one is placed, judged and written: the
    detector's engine and the image decoder leave Python's lock while they work, so the placement
    and rules fill the cores the detector leaves idle (a lone worker's detector never keeps two
    cores fully busy). A snapshot's outcome depends on its own file alone, as with `process`."""
    started = time.perf_counter()
    prepared = [_AHEAD.submit(_prepare_safely, task) for task in tasks]
    outcomes = []
    for task, future in zip(tasks, prepared):
        try:
            ready = future.result()
            if isinstance(ready, Exception):
                raise ready
            outcomes.append(_finish(task, ready))
        except Exception as error:  # noqa: BLE001 - as in process()
            outcomes.append(_internal_error(task, error, started))
    return outcomes


# one thread per worker process that reads, checks and detects ahead of the inspecting thread
_AHEAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")


def _internal_error(task: Task, error: Exception, started: float) -> Outcome:
    return Outcome(
        key=task.key, camera_id=task.camera_id, image_name=task.path, image_sha256=task.sha256,
        captured_at=task.captured_at, status="error", compliant=None, score=None, violation_count=0,
        message=f"internal error while inspecting ({type(error).__name__}: {error})" + RETRY_MARK,
        report_json=None, annotated_path=None, desk_map_path=None, worker_pid=os.getpid(),
        model_loads=_STATE.model_loads if _STATE else 0, elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


@dataclass(frozen=True)
class _Prepared:
    """A snapshot read and checked (and, with a model, detected): what `_finish` inspects."""

    started: float
    image: np.ndarray | None = None
    verdict: quality.QualityVerdict | None = None
    detected: "_Detected | None" = None
    outcome: Outcome | None = None  # decided already: unreadable, wrong size, failed a check, detector error


class _Detected:
    """The detector's answer for one image, found ahead: `inspect` asks this for it (same ref and
    box error as the detector), so the report is the one the detector itself would give."""

    def __init__(self, detector, image: np.ndarray):
        self.ref = detector.ref
        self.box_error = getattr(detector, "box_error", None)
        clock = time.perf_counter()
        self.detections = detector.detect(image)
        self.detect_ms = round((time.perf_counter() - clock) * 1000, 2)

    def detect(self, image_bgr: np.ndarray):
        return self.detections


def _prepare_safely(task: Task) -> "_Prepared | Exception":
    try:
        return _prepare(task)
    except Exception as error:  # noqa: BLE001 - handed to the inspecting thread, which records it
        return error


def _base(task: Task, state: "_State") -> dict:
    return dict(key=task.key, camera_id=task.camera_id, image_name=task.path, image_sha256=task.sha256,
                captured_at=task.captured_at, worker_pid=os.getpid(), model_loads=state.model_loads)


def _done(task: Task, started: float, status: str, message: str, **fields) -> Outcome:
    fields.setdefault("compliant", None)
    fields.setdefault("score", None)
    fields.setdefault("violation_count", 0)
    fields.setdefault("report_json", None)
    fields.setdefault("annotated_path", None)
    fields.setdefault("desk_map_path", None)
    return Outcome(**_base(task, _STATE), status=status, message=message, **fields,
                   elapsed_ms=round((time.perf_counter() - started) * 1000, 1))


def _prepare(task: Task) -> _Prepared:
    """Read, size check, the night-time checks, and the detector (when the camera has a model)."""
    from inspector.frames import read_image_file

    state = _STATE
    started = time.perf_counter()
    camera = state.cameras[task.camera_id]
    setup = state.site.cameras[task.camera_id]
    folder = state.out_dir / "snapshots" / task.camera_id
    try:
        image = read_image_file(task.path)
    except InspectorError as error:
        return _Prepared(started, outcome=_done(task, started, "error", error.message))
    mismatch = quality.size_mismatch(image, camera)
    if mismatch:
        return _Prepared(started, outcome=_done(task, started, "error", mismatch + RETRY_MARK))
    verdict = quality.assess(image, camera, setup.quality, state.reference(task.camera_id))
    if not verdict.ok:
        picture = None
        if state.pictures != "none":
            picture = _failure_picture(image, camera, verdict.reason, folder / f"{task.stem}.{verdict.status}.jpg")
        return _Prepared(started, outcome=_done(task, started, verdict.status, verdict.reason, annotated_path=picture,
                                                metrics=verdict.metrics))
    detected = None
    if setup.detections is None:
        try:
            detected = _Detected(state.detectors[setup.model], image)
        except InspectorError as error:
            message = str(error) if error.source and error.source != task.path else error.message
            return _Prepared(started, outcome=_done(task, started, "error", message + RETRY_MARK, metrics=verdict.metrics))
    return _Prepared(started, image=image, verdict=verdict, detected=detected)


def _finish(task: Task, prepared: _Prepared) -> Outcome:
    """Inspect a prepared snapshot (placement, rules, report) and write its files."""
    from inspector.detections_io import load_detections
    from inspector.drawing import annotate
    from inspector.outputs import margin_lines, rule_terms, write_outputs
    from inspector.pipeline import inspect
    from inspector.records import Frame

    if prepared.outcome is not None:
        return prepared.outcome
    state = _STATE
    started, image, verdict = prepared.started, prepared.image, prepared.verdict
    camera = state.cameras[task.camera_id]
    setup = state.site.cameras[task.camera_id]
    folder = state.out_dir / "snapshots" / task.camera_id

    def done(status: str, message: str, **fields) -> Outcome:
        return _done(task, started, status, message, **fields)

    frame = Frame(image=image, source=task.path, camera_id=task.camera_id, captured_at=task.captured_at)
    standard = state.standards[task.camera_id]
    try:
        if setup.detections is not None:
            source = setup.detections / f"{Path(task.path).stem}.json"
            report = inspect(frame, camera, standard, detections=load_detections(source), detections_source=str(source),
                             outline_finder=state.outline_memory(task.camera_id))
        else:
            detected = prepared.detected
            report = inspect(frame, camera, standard, detector=detected, outline_finder=state.outline_memory(task.camera_id))
            timings = {**report.timings_ms, "detect": detected.detect_ms}  # the time it took, ahead
            timings["total"] = round(sum(v for k, v in timings.items() if k != "total"), 2)
            report = report.model_copy(update={"timings_ms": timings})
    except InspectorError as error:
        message = str(error) if error.source and error.source != task.path else error.message
        return done("error", message + RETRY_MARK, metrics=verdict.metrics)
    folder.mkdir(parents=True, exist_ok=True)
    if state.pictures == "all":
        paths = write_outputs(frame, report, camera, standard, folder, task.stem)
    else:
        paths = {"report": folder / f"{task.stem}.report.json"}
        write_atomic(paths["report"], report.to_json().encode("utf-8"))
        failed = frozenset(v.rule for v in report.violations)
        newly_failing = bool(failed - state.last_violations.get(task.camera_id, frozenset()))
        state.last_violations[task.camera_id] = failed
        if not report.compliant and (state.pictures == "violations" or (state.pictures == "changes" and newly_failing)):
            # the annotated photo is the evidence the morning report shows; the desk map costs several
            # times the detector (a per-pixel remap), so it is drawn only with --pictures all
            paths["annotated"] = folder / f"{task.stem}.annotated.jpg"
            annotated = annotate(frame.image, report, camera, margin_lines(standard, camera), rule_terms(standard))
            ok, data = cv2.imencode(".jpg", annotated, [cv2.IMWRITE_JPEG_QUALITY, 90])
            write_atomic(paths["annotated"], data.tobytes())
    return done(
        "ok", "",
        compliant=report.compliant, score=report.score, violation_count=len(report.violations),
        report_json=report.to_json(indent=None),
        annotated_path=str(paths["annotated"]) if "annotated" in paths else None,
        desk_map_path=str(paths["desk_map"]) if "desk_map" in paths else None,
        metrics=verdict.metrics,
    )
