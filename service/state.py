"""What the service loads once at start-up: cameras, standards and the detector.

Cameras and standards come from the configured folders; a file that does not load is reported
(readiness `problems`) and skipped, so one bad camera file does not take the other windows down.
A model that was named explicitly must load, or the service does not start.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import numpy as np

from calibration.camera import Camera, load_camera
from inspector.errors import InspectorError, ModelError, StandardError
from inspector.records import Detection, ModelRef
from rules.engine import check_desk, layout_warning, missing_zones
from rules.standard import Standard, load_standard
from service.config import Settings

log = logging.getLogger("service")

SETTINGS_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class CameraEntry:
    """A loaded camera, the standard its desk is judged by, and the file it came from."""

    camera: Camera
    standard: Standard
    path: Path
    # the camera file's reference frame, prepared for the moved / covered checks (None: dark and
    # blurred checks only)
    reference: object | None = None

    @property
    def missing_zones(self) -> dict[str, list[str]]:
        """Rule id -> zones the standard needs that this camera's layout does not draw."""
        return missing_zones(self.standard, self.camera.desk)

    @property
    def layout_warning(self) -> str:
        return layout_warning(self.standard, self.camera.desk)


def _reference(camera: Camera, path: Path):
    from inspector.batch import quality
    from inspector.batch.worker import load_reference

    named = camera.spec.reference_frame
    reference, why = load_reference((path.parent / named) if named else None, camera)
    if named and reference is None:
        log.warning("camera %s: %s", camera.camera_id, why)
    return reference if isinstance(reference, quality.Reference) else None


class LockedDetector:
    """One model instance shared by the worker threads: ultralytics' predictor is not thread-safe."""

    def __init__(self, detector):
        self._detector = detector
        self._lock = threading.Lock()
        self.ref: ModelRef = detector.ref

    def detect(self, image_bgr: np.ndarray) -> tuple[Detection, ...]:
        with self._lock:
            return self._detector.detect(image_bgr)


def _signature(files: list[Path]) -> tuple:
    """What changes when a camera file is added, removed, replaced or edited."""
    signature = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        signature.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(signature)


def _promotion_signature() -> tuple | None:
    """What changes when a model is promoted or rolled back (promoted.yaml is replaced whole)."""
    from models.versions import promoted_path

    try:
        stat = promoted_path().stat()
    except OSError:
        return None
    return (str(promoted_path()), stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    # hidden files are half-written temporaries (calibration saves): never loaded
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in SETTINGS_SUFFIXES and not p.name.startswith("."))


class ServiceState:
    """Cameras, standards and detector; cameras can be replaced at run time (calibration)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.standards: dict[str, Standard] = {}
        self._standard_files: dict[str, str] = {}  # resolved file path -> standard id
        self._cameras: dict[str, CameraEntry] = {}
        self._standard_problems: list[str] = []
        self._camera_problems: list[str] = []
        self._folder_signature: tuple = ()
        self._checked_at = time.monotonic()
        self.detector: LockedDetector | None = None
        self.model_note: str = ""
        # model "auto": the current (promoted) model, reloaded when promoted.yaml changes
        self._follows_promotion = False
        self._promotion_signature: tuple | None = None
        self._model_lock = threading.Lock()
        self._extra_ids: set[str] = set()
        self.generated_key: str | None = None
        self.write_lock = threading.Lock()  # calibration saves, one at a time
        self._swap_lock = threading.Lock()
        self.limiter: anyio.CapacityLimiter | None = None  # made inside the event loop (lifespan)

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, settings: Settings) -> "ServiceState":
        state = cls(settings)
        state._load_standards()
        state._preload_named_standards()
        state._load_cameras()
        state._load_detector()
        if not settings.accepted_keys:
            # never an open API by accident: a key for this run only, logged by the service at start
            # unless the database holds users or keys (service.main)
            state.generated_key = secrets.token_urlsafe(24)
        for problem in state.problems:
            log.warning("%s", problem)
        return state

    def _load_standards(self) -> None:
        for path in _files(self.settings.standards_dir):
            try:
                standard = load_standard(path)
            except InspectorError as error:
                self._standard_problems.append(f"standard skipped: {error}")
                continue
            if standard.id in self.standards:
                other = self.standards[standard.id].source
                self._standard_problems.append(f"standard skipped: {path}: id {standard.id!r} already loaded from {other}")
                continue
            self.standards[standard.id] = standard
            self._standard_files[str(path.resolve())] = standard.id

    def _preload_named_standards(self) -> None:
        """Standards the settings name by file are loaded at start-up, not on first use."""
        for reference in {self.settings.default_standard, *self.settings.camera_standards.values()}:
            try:
                self.resolve_standard(reference)
            except InspectorError as error:
                self._standard_problems.append(f"standard named in the settings: {error}")

    def resolve_standard(self, reference: str) -> Standard:
        """A standard by id, or by file path (loaded once and remembered)."""
        if reference in self.standards:
            return self.standards[reference]
        path = Path(reference)
        if path.suffix.lower() in SETTINGS_SUFFIXES and path.is_file():
            key = str(path.resolve())
            if key in self._standard_files:
                return self.standards[self._standard_files[key]]
            standard = load_standard(path)
            known = self.standards.get(standard.id)
            if known is not None and Path(known.source or "").resolve() != path.resolve():
                raise StandardError(f"standard id {standard.id!r} is also defined by {known.source}", str(path))
            # copy on write: requests may be reading the mapping in other threads
            self.standards = {**self.standards, standard.id: standard}
            self._standard_files[key] = standard.id
            return standard
        known_ids = ", ".join(sorted(self.standards)) or "none"
        raise StandardError(f"no standard {reference!r} (loaded standards: {known_ids})", "settings")

    def standard_for(self, camera_id: str, picked: str | None = None) -> Standard:
        """The settings' camera_standards entry, else the standard picked in the camera file, else the default."""
        named = self.settings.camera_standards.get(camera_id) or picked or self.settings.default_standard
        return self.resolve_standard(named)

    def _load_cameras(self) -> None:
        cameras: dict[str, CameraEntry] = {}
        problems: list[str] = []
        files = _files(self.settings.cameras_dir)
        for path in files:
            try:
                entry = self.make_entry(load_camera(path), path)
            except InspectorError as error:
                problems.append(f"camera skipped: {error}")
                continue
            if entry.camera.camera_id in cameras:
                other = cameras[entry.camera.camera_id].path
                problems.append(f"camera skipped: {path}: camera id {entry.camera.camera_id!r} already loaded from {other}")
                continue
            cameras[entry.camera.camera_id] = entry
        with self._swap_lock:
            self._cameras = cameras
            self._camera_problems = problems
            self._folder_signature = _signature(files)

    def refresh_cameras(self, max_age_s: float = 1.0) -> None:
        """Reload the cameras if their folder changed (a calibration saved by another worker process,
        or an edited file); looked at most once per `max_age_s`."""
        now = time.monotonic()
        if now - self._checked_at < max_age_s:
            return
        self._checked_at = now
        if _signature(_files(self.settings.cameras_dir)) != self._folder_signature:
            log.info("camera folder changed: reloading cameras")
            self._load_cameras()

    def make_entry(self, camera: Camera, path: Path) -> CameraEntry:
        """Pair a camera with its standard; StandardError if the desk cannot be judged by it at all (an
        edge it names). Zones the layout does not draw are no refusal: those rules are not judged, and
        `layout_warning` says so."""
        standard = self.standard_for(camera.camera_id, camera.spec.standard)
        try:
            check_desk(standard, camera.desk, zones=False)
        except StandardError as error:
            raise StandardError(f"camera {camera.camera_id!r} cannot be judged by standard {standard.id!r}: {error.message}",
                                str(path)) from None
        return CameraEntry(camera=camera, standard=standard, path=path, reference=_reference(camera, path))

    def _load_detector(self) -> None:
        name = self.settings.model
        if name is None:
            self.model_note = "no detector configured: clients send detections with each image"
            return
        from models.registry import DEFAULT_MODEL, load_detector
        from models.versions import current_model

        extra_ids = set().union(*(s.permitted_classes for s in self.standards.values())) if self.standards else set()
        self._extra_ids = extra_ids
        if name == "auto":
            self._follows_promotion = True
            self._promotion_signature = _promotion_signature()
            current = None
            try:
                current = current_model()
                detector = load_detector(current, extra_ids=extra_ids, threads=self.settings.detector_threads)
            except ModelError as error:
                what = f"no bundled model {DEFAULT_MODEL!r} could" if current == DEFAULT_MODEL else \
                    f"the current (promoted) model{f' {current!r}' if current else ''} could not"
                self.model_note = (f"{what} be loaded ({error.message.split(';')[0]}): "
                                   "clients send a detections file with each image; set `model` to use another detector")
                log.warning("%s", self.model_note)
                return
        else:
            detector = load_detector(name, extra_ids=extra_ids, threads=self.settings.detector_threads)  # a named model must load: fail at start-up
        self.detector = LockedDetector(detector)
        self.model_note = f"model {detector.ref.name} {detector.ref.version} loaded"
        log.info("%s", self.model_note)

    def refresh_model(self) -> None:
        """With model 'auto': after a promotion or rollback (promoted.yaml changed), load the new
        current model; one stat per request. The request that sees the change loads it; requests
        meanwhile keep the model they have. A promoted model that does not load leaves the old one
        in use, and says so in the readiness note."""
        if not self._follows_promotion:
            return
        signature = _promotion_signature()
        if signature == self._promotion_signature or not self._model_lock.acquire(blocking=False):
            return
        try:
            if signature == self._promotion_signature:
                return
            from models.registry import load_detector
            from models.versions import current_model

            self._promotion_signature = signature
            try:
                detector = load_detector(current_model(), extra_ids=self._extra_ids, threads=self.settings.detector_threads)
            except ModelError as error:
                kept = f"still using {self.detector.ref.name} {self.detector.ref.version}" if self.detector else \
                    "no detector: clients send detections"
                self.model_note = f"the promoted model could not be loaded ({error}); {kept}"
                log.warning("%s", self.model_note)
                return
            self.detector = LockedDetector(detector)
            self.model_note = f"model {detector.ref.name} {detector.ref.version} loaded (the current model changed)"
            log.info("%s", self.model_note)
        finally:
            self._model_lock.release()

    # -- access ----------------------------------------------------------------------------------
    @property
    def cameras(self) -> dict[str, CameraEntry]:
        return dict(self._cameras)

    def camera(self, camera_id: str) -> CameraEntry | None:
        return self._cameras.get(camera_id)

    def put_camera(self, entry: CameraEntry) -> None:
        with self._swap_lock:
            self._cameras = {**self._cameras, entry.camera.camera_id: entry}
            self._folder_signature = _signature(_files(self.settings.cameras_dir))

    @property
    def problems(self) -> list[str]:
        # cameras served but not fully judged (zones missing from their layout) are listed too
        unjudged = [f"camera {cid!r} ({entry.path.name}): {entry.layout_warning}"
                    for cid, entry in sorted(self._cameras.items()) if entry.missing_zones]
        return [*self._standard_problems, *self._camera_problems, *unjudged]

    @property
    def keys(self) -> list[str]:
        return self.settings.accepted_keys or [self.generated_key or ""]

    @property
    def admin_keys(self) -> list[str]:
        return self.settings.admin_api_keys or self.keys

    @property
    def ready(self) -> bool:
        return bool(self._cameras) and bool(self.standards)
