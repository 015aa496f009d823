"""An uploaded photo through the one `inspect` function into the history.

Everything that can reject an upload runs before anything is written; then the pictures are
written (each atomically), then the history row is committed. A process killed in between leaves
at most unreferenced pictures, never a row pointing at a missing file.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from inspector.detections_io import parse_detections
from inspector.batch import quality
from inspector.batch.discover import upload_capture_time
from inspector.batch.site import QualitySpec
from inspector.errors import DetectionsError, InspectorError
from inspector.frames import decode_image
from inspector.files import write_atomic
from inspector.history import History, InspectionRow, inspection_key, stored_file
from inspector.outputs import output_paths, write_pictures, write_report
from inspector.pipeline import check_frame_size, inspect
from inspector.records import Frame, Report
from service.state import CameraEntry, ServiceState

FRAME_QUALITY = QualitySpec()  # the batch's default limits
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class NoDetectorError(InspectorError):
    """Neither a model on the server nor detections in the request."""


@dataclass(frozen=True)
class Upload:
    """One uploaded file part, already read within its size limit."""

    data: bytes
    name: str  # display name only: never part of a path
    content_type: str | None = None


def display_name(filename: str | None, fallback: str = "upload") -> str:
    """The client's file name reduced to a harmless label: last path component, no control chars."""
    name = _UNSAFE.sub("", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", ".."):
        return fallback
    return name[:200]


def as_utc(moment: datetime | None) -> datetime | None:
    """Aware UTC (naive values are taken as UTC: the history stores UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def read_detections(upload: Upload):
    try:
        data = json.loads(upload.data.decode("utf-8"))
    except UnicodeDecodeError:
        raise DetectionsError("not UTF-8 text", upload.name) from None
    except json.JSONDecodeError as error:
        raise DetectionsError(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}", upload.name) from None
    except RecursionError:
        raise DetectionsError("not a detections list: nested too deeply", upload.name) from None
    return parse_detections(data, upload.name)


def inspect_upload(
    state: ServiceState,
    history: History,
    entry: CameraEntry,
    image: Upload,
    detections: Upload | None,
    captured_at: datetime | None,
) -> InspectionRow:
    """Runs in a worker thread: decode, inspect, draw, store. Raises InspectorError on bad input."""
    settings = state.settings
    if detections is None and state.detector is None:
        raise NoDetectorError(
            "no detector model is loaded on this server: send a detections file (SPEC detections JSON) with the image",
            "detections",
        )
    parsed = read_detections(detections) if detections is not None else None
    if captured_at is None:
        # when the photo was taken: its file name (the batch's pattern), its EXIF, else now (the upload)
        captured_at = as_utc(upload_capture_time(image.name, image.data)[0]) or datetime.now(timezone.utc)
    frame = Frame(
        image=decode_image(image.data, image.name, max_pixels=settings.max_pixels),
        source=image.name,
        camera_id=entry.camera.camera_id,
        captured_at=captured_at,
    )
    check_frame_size(frame, entry.camera)
    # the batch's checks before judging: a black, blurred or covered frame is "cannot judge", never a
    # verdict listing every required item as missing
    checked = quality.assess(frame.image, entry.camera, FRAME_QUALITY, entry.reference)
    if not checked.ok:
        return _store_unjudged(history, entry, image, captured_at, checked)
    if parsed is not None:
        report = inspect(frame, entry.camera, entry.standard, detections=parsed, detections_source=detections.name)
    else:
        report = inspect(frame, entry.camera, entry.standard, detector=state.detector)

    # accepted: from here on things are written
    upload_id = uuid.uuid4().hex
    sha256 = hashlib.sha256(image.data).hexdigest()
    inspected_at = datetime.fromisoformat(report.inspected_at)
    relative_dir = Path("inspections") / inspected_at.strftime("%Y/%m/%d")
    paths = {"report": write_report(report, settings.data_dir / relative_dir, upload_id)}
    # the pictures are drawn when first asked for (draw_pictures): drawing them costs about what the
    # detector does, and a camera uploading every minute is judged by its verdicts, not looked at
    pictures = output_paths(settings.data_dir / relative_dir, upload_id)
    # the photo as sent: a correction re-inspects it, the dataset export copies it
    paths["photo"] = write_atomic(settings.data_dir / relative_dir / f"{upload_id}.photo{photo_suffix(image.data)}", image.data)
    try:
        return history.add(
            # a new upload is a new inspection, even of the same photo: the upload id makes the key unique
            key=inspection_key(entry.camera.camera_id, f"{sha256}:{upload_id}", "api"),
            camera_id=entry.camera.camera_id,
            image_name=image.name,
            image_sha256=sha256,
            captured_at=captured_at,
            inspected_at=inspected_at,
            status="ok",
            compliant=report.compliant,
            score=report.score,
            violation_count=len(report.violations),
            message="",
            report_json=report.to_json(indent=None),
            annotated_path=(relative_dir / pictures["annotated"].name).as_posix(),
            desk_map_path=(relative_dir / pictures["desk_map"].name).as_posix(),
            image_path=(relative_dir / paths["photo"].name).as_posix(),
            origin="api",
        )
    except BaseException:
        for path in paths.values():
            path.unlink(missing_ok=True)
        raise


def draw_pictures(state: ServiceState, settings, row: InspectionRow) -> bool:
    """Draw an uploaded inspection's annotated photo and desk map where its row says they go, from
    the kept photo and the stored report, with its camera and standard (see inspect_upload). False
    where they cannot be drawn here: not an upload's row, its photo or camera gone."""
    if row.origin != "api" or not row.report_json or not row.annotated_path or not row.desk_map_path:
        return False
    photo, entry = stored_file(settings.data_dir, row.image_path), state.camera(row.camera_id)
    if photo is None or entry is None:
        return False
    root = settings.data_dir.resolve()
    annotated = (root / row.annotated_path).resolve()
    stem = annotated.name.removesuffix(".annotated.jpg")
    expected = output_paths(annotated.parent, stem)
    if not annotated.is_relative_to(root) or expected["desk_map"] != (root / row.desk_map_path).resolve():
        return False
    with _drawing_lock(row.id):  # the page asks for both pictures at once: draw them once
        if annotated.is_file() and expected["desk_map"].is_file():
            return True
        frame = Frame(image=decode_image(photo.read_bytes(), row.image_name, max_pixels=settings.max_pixels),
                      source=row.image_name, camera_id=row.camera_id)
        report = Report.model_validate_json(row.report_json)
        write_pictures(frame, report, entry.camera, entry.standard, annotated.parent, stem)
    return True


_DRAWING_LOCKS: dict[int, threading.Lock] = {}
_DRAWING_LOCKS_GUARD = threading.Lock()


def _drawing_lock(inspection_id: int) -> threading.Lock:
    """One lock per inspection in this process (other processes may draw too: the writes are atomic)."""
    with _DRAWING_LOCKS_GUARD:
        if len(_DRAWING_LOCKS) > 1024:  # drop the idle ones: pictures are drawn once per inspection
            for key in [k for k, lock in _DRAWING_LOCKS.items() if not lock.locked()]:
                del _DRAWING_LOCKS[key]
        return _DRAWING_LOCKS.setdefault(inspection_id, threading.Lock())


_SIGNATURES = ((b"\xff\xd8", ".jpg"), (b"\x89PNG", ".png"), (b"BM", ".bmp"), (b"RIFF", ".webp"),
               (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"))


def photo_suffix(data: bytes) -> str:
    """The file suffix of an image by its first bytes (decoding already accepted it)."""
    return next((suffix for magic, suffix in _SIGNATURES if data.startswith(magic)), ".img")


def _store_unjudged(history: History, entry: CameraEntry, image: Upload, captured_at: datetime | None,
                    checked: quality.QualityVerdict) -> InspectionRow:
    sha256 = hashlib.sha256(image.data).hexdigest()
    return history.add(
        key=inspection_key(entry.camera.camera_id, f"{sha256}:{uuid.uuid4().hex}", "api"),
        camera_id=entry.camera.camera_id, image_name=image.name, image_sha256=sha256, captured_at=captured_at,
        inspected_at=datetime.now(timezone.utc), status=checked.status, compliant=None, score=None, violation_count=0,
        message=checked.reason, report_json=None, annotated_path=None, desk_map_path=None, origin="api",
    )
