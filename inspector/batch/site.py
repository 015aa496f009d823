"""The site file: which cameras a night's batch covers, grouped by hall, and where their snapshots are.

A site file (YAML, JSON accepted) is validated completely before any work: its own fields, then
every file it names (camera calibrations, standards, models, reference frames). Any problem stops
the run with a `SiteError` naming the site file, the field path and what is wrong (exit 2).
Paths in the file are relative to the site file's folder.

    id: east-hall-centre
    name: 东区政务服务中心
    timezone: Asia/Shanghai
    defaults:                       # any camera field below, shared by all cameras
      standard: ../../rules/standards/front-counter.yaml
      timestamp: {pattern: '(\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2})', format: '%Y-%m-%dT%H-%M-%S'}
    halls:
      - id: hall-a
        name: A 区
        cameras:
          - id: window-01
            calibration: ../../calibration/cameras/window-01.yaml
            snapshots: ../front-counter/photos/window-01_*.jpg   # a folder or a glob
            detections: ../front-counter/detections              # or model: NAME|PATH
    snapshot_roots:                 # folders whose every image must belong to a camera above
      - {folder: ../front-counter/photos, camera_pattern: '^(?P<camera>[^_]+)_'}
"""

from __future__ import annotations

import difflib
import glob
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from inspector.errors import InspectorError

CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class SiteError(InspectorError):
    """A site file is malformed or names something that cannot be used: the batch does not start."""


class TimestampSpec(BaseModel):
    """Where a snapshot's capture time comes from: its file name, else EXIF, else the file time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["auto", "name", "exif", "mtime"] = "auto"  # auto: name, then EXIF, then mtime
    # regex searched in the file name; group `ts` (or group 1, or the whole match) is parsed with `format`
    pattern: str | None = r"(\d{4}-\d{2}-\d{2}[T_ ]\d{2}[-:]\d{2}[-:]\d{2})"
    format: str | None = None  # strftime format of the matched text; None: ISO-8601 with - or : in the time

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return value

    @field_validator("format")
    @classmethod
    def _has_directives(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError("a strftime format needs % directives, e.g. '%Y-%m-%dT%H-%M-%S'")
        return value

    @cached_property
    def regex(self) -> re.Pattern | None:
        return re.compile(self.pattern) if self.pattern else None


class QualitySpec(BaseModel):
    """Night-time checks made before judging a frame; every limit is in the unit it is measured in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # mean grey level (0..255) over the desk top; below it the frame is too dark to judge
    min_luminance: float = Field(35.0, ge=0, le=255)
    # variance of the Laplacian over the frame at 640 px width, brightness-normalised; below it: too blurred
    min_sharpness: float = Field(50.0, ge=0)
    # ... and as a share of the reference frame's sharpness, when there is a reference frame
    min_sharpness_ratio: float = Field(0.25, ge=0, le=1)
    # how far the desk corners may have moved in the image (px at full size) before calibration is void
    max_shift_px: float = Field(12.0, gt=0)
    # fewer RANSAC-consistent feature matches than this: the frame cannot be matched to the reference
    min_matches: int = Field(15, ge=4)
    # largest connected area of the desk top unlike the reference frame, as a share of the desk
    max_hidden_share: float = Field(0.45, gt=0, le=1)
    # share of the reference frame's desk outline that must still be visible
    min_outline_visible: float = Field(0.35, ge=0, le=1)


class CameraDefaults(BaseModel):
    """Fields a camera may take from the site's `defaults`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    standard: str | None = None
    timestamp: TimestampSpec | None = None
    detections: str | None = None  # folder of <snapshot stem>.json (SPEC detections), instead of a model
    model: str | None = None  # registry name, card or weights path; None and no detections: the default model
    quality: dict[str, Any] | None = None  # QualitySpec fields to override


class CameraEntry(CameraDefaults):
    id: str | None = Field(None, pattern=CAMERA_ID_PATTERN)  # default: the calibration file's camera_id
    name: str | None = None
    calibration: str
    snapshots: str  # a folder (every image in it, recursively) or a glob
    reference_frame: str | None = None  # overrides the calibration file's reference_frame


class Hall(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CAMERA_ID_PATTERN)
    name: str | None = None
    cameras: list[CameraEntry] = Field(min_length=1)


class SnapshotRoot(BaseModel):
    """A folder whose images must each belong to one of the site's cameras."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: str
    camera_pattern: str = r"^(?P<camera>[^_]+)_"  # regex on the file name; group `camera` names its camera

    @field_validator("camera_pattern")
    @classmethod
    def _has_camera_group(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        if "camera" not in compiled.groupindex:
            raise ValueError("needs a named group (?P<camera>...) for the camera id")
        return value


class SiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CAMERA_ID_PATTERN)
    name: str | None = None
    timezone: str | None = None  # IANA name for naive capture times and night dates; None: this machine's
    nights_shown: int = Field(14, ge=1, le=366)  # how many recent nights the report's chart shows
    # a night is labelled by the local date of (capture time - this many hours): 12 puts 20:00..06:00 in one night
    day_starts_at_hour: int = Field(0, ge=0, le=23)
    defaults: CameraDefaults = Field(default_factory=CameraDefaults)
    halls: list[Hall] = Field(min_length=1)
    snapshot_roots: list[SnapshotRoot] = Field(default_factory=list)
    database: str | None = None  # history database URL; --db overrides

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Asia/Shanghai')") from None
        return value

    @model_validator(mode="after")
    def _unique_halls(self) -> "SiteFile":
        seen: dict[str, int] = {}
        for i, hall in enumerate(self.halls):
            if hall.id in seen:
                raise ValueError(f"halls[{i}].id: duplicate hall id {hall.id!r} (also halls[{seen[hall.id]}])")
            seen[hall.id] = i
        return self


# -- the resolved site: paths made absolute, every file loaded once to prove it is usable ---------------
@dataclass(frozen=True)
class CameraSetup:
    """One camera of the site with every path resolved; plain data, so it pickles to the workers."""

    camera_id: str
    name: str
    hall_id: str
    field: str  # where it is in the site file, e.g. halls[0].cameras[2], for messages
    calibration: Path
    standard: Path
    snapshots: str  # absolute folder or glob
    timestamp: TimestampSpec
    quality: QualitySpec
    detections: Path | None
    model: str | None  # registry name or absolute path; None when detections are given
    reference_frame: Path | None
    image_size: tuple[int, int]


@dataclass(frozen=True)
class HallSetup:
    hall_id: str
    name: str
    camera_ids: tuple[str, ...]


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str
    path: Path
    timezone: str | None
    nights_shown: int
    day_starts_at_hour: int
    halls: tuple[HallSetup, ...]
    cameras: dict[str, CameraSetup]
    snapshot_roots: tuple[SnapshotRoot, ...]
    database: str | None

    @property
    def tz(self):
        return ZoneInfo(self.timezone) if self.timezone else datetime.now().astimezone().tzinfo

    def hall_of(self, camera_id: str) -> HallSetup:
        return next(h for h in self.halls if camera_id in h.camera_ids)

    def night_of(self, moment: datetime):
        """The night (a local date) a capture time belongs to."""
        if moment.tzinfo is None:  # stored naive means UTC (SQLite keeps no offset)
            moment = moment.replace(tzinfo=timezone.utc)
        return (moment.astimezone(self.tz) - timedelta(hours=self.day_starts_at_hour)).date()

    @property
    def models(self) -> set[str]:
        return {c.model for c in self.cameras.values() if c.model is not None}


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        path = path or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            lines.append(f"{path}: missing (required)")
        elif item["type"] == "extra_forbidden":
            name = str(item["loc"][-1])
            known = set(CameraEntry.model_fields) | set(SiteFile.model_fields) | set(Hall.model_fields) \
                | set(TimestampSpec.model_fields) | set(SnapshotRoot.model_fields) | set(QualitySpec.model_fields)
            close = difflib.get_close_matches(name, sorted(known), n=1)
            lines.append(f"{path}: unknown field" + (f" (did you mean {close[0]!r}?)" if close else ""))
        elif message.startswith(("halls[",)):  # model-level checks already carry their path
            lines.append(message)
        else:
            lines.append(f"{path}: {message} (got {item['input']!r:.60})")
    return "; ".join(lines)


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def _absolute_pattern(base: Path, value: str) -> str:
    return str(_resolve(base, value)) if not Path(value).expanduser().is_absolute() else str(Path(value).expanduser())


def parse_site(data: Any, path: Path) -> SiteFile:
    source = str(path)
    if not isinstance(data, dict):
        raise SiteError("the site file must hold a mapping of fields (id, halls, ...)", source)
    try:
        return SiteFile.model_validate(data)
    except ValidationError as error:
        raise SiteError(_describe(error), source) from None


def load_site(path: str | Path, *, check_files: bool = True) -> Site:
    """Read, validate and resolve a site file. Loads every camera and standard once to prove them usable."""
    from calibration.camera import read_structured_file

    path = Path(path)
    if path.is_dir():
        raise SiteError("is a folder; give the site file (YAML)", str(path))
    spec = parse_site(read_structured_file(path, SiteError), path)
    return resolve_site(spec, path, check_files=check_files)


def resolve_site(spec: SiteFile, path: Path, *, check_files: bool = True) -> Site:
    from calibration.camera import load_camera
    from inspector.errors import CalibrationError, ModelError, StandardError
    from rules.standard import load_standard

    base = path.resolve().parent
    source = str(path)
    problems: list[str] = []
    cameras: dict[str, CameraSetup] = {}
    halls: list[HallSetup] = []
    standards_ok: dict[Path, str | None] = {}
    models_ok: dict[str, str | None] = {}

    for h, hall in enumerate(spec.halls):
        ids = []
        for c, entry in enumerate(hall.cameras):
            where = f"halls[{h}].cameras[{c}]"
            merged = {**spec.defaults.model_dump(exclude_none=True), **entry.model_dump(exclude_none=True)}
            # quality overrides merge field by field: defaults, then the camera's own
            quality_fields = {**(spec.defaults.quality or {}), **(entry.quality or {})}
            try:
                quality = QualitySpec.model_validate(quality_fields)
            except ValidationError as error:
                problems.append(f"{where}.quality: {_describe(error)}")
                quality = QualitySpec()
            calibration = _resolve(base, entry.calibration)
            try:
                camera = load_camera(calibration)
            except CalibrationError as error:
                problems.append(f"{where}.calibration: {error}")
                continue
            camera_id = entry.id or camera.camera_id
            if entry.id is not None and entry.id != camera.camera_id:
                problems.append(f"{where}.id: {entry.id!r} but {calibration} is the calibration of camera {camera.camera_id!r}")
            if camera_id in cameras:
                problems.append(f"{where}.id: duplicate camera id {camera_id!r} (also {cameras[camera_id].field})")
                continue
            if "standard" not in merged:
                problems.append(f"{where}.standard: missing (required, here or under defaults)")
                continue
            standard = _resolve(base, merged["standard"])
            if standard not in standards_ok:
                try:
                    load_standard(standard)
                    standards_ok[standard] = None
                except StandardError as error:
                    standards_ok[standard] = str(error)
            if standards_ok[standard]:
                problems.append(f"{where}.standard: {standards_ok[standard]}")
            detections = _resolve(base, merged["detections"]) if "detections" in merged else None
            model = None
            if detections is None:
                model = merged.get("model")
                if model is None:  # the current (promoted) model, as at the night's start
                    from models.versions import current_model

                    try:
                        model = current_model()
                    except ModelError as error:
                        problems.append(f"{where}.model: the current model: {error} (or give model: or detections:)")
                        continue
                elif Path(model).suffix or "/" in model:  # a path, not a registry name
                    model = str(_resolve(base, model))
                if check_files and model not in models_ok:
                    models_ok[model] = _check_model(model, ModelError)
                if check_files and models_ok.get(model):
                    problems.append(f"{where}.model: {models_ok[model]} (or give detections: FOLDER)")
            elif check_files and not detections.is_dir():
                problems.append(f"{where}.detections: not a folder ({detections})")
            reference = None
            if entry.reference_frame is not None:
                reference = _resolve(base, entry.reference_frame)
            elif camera.spec.reference_frame:
                reference = _resolve(calibration.resolve().parent, camera.spec.reference_frame)
            if entry.reference_frame is not None and check_files and not reference.is_file():
                problems.append(f"{where}.reference_frame: file not found ({reference})")
            timestamp = TimestampSpec.model_validate(merged["timestamp"]) if "timestamp" in merged else TimestampSpec()
            if timestamp.source == "name" and timestamp.pattern is None:
                problems.append(f"{where}.timestamp.pattern: needed when source is 'name'")
            cameras[camera_id] = CameraSetup(
                camera_id=camera_id,
                name=entry.name or camera_id,
                hall_id=hall.id,
                field=where,
                calibration=calibration.resolve(),
                standard=standard.resolve(),
                snapshots=_absolute_pattern(base, entry.snapshots),
                timestamp=timestamp,
                quality=quality,
                detections=detections.resolve() if detections else None,
                model=model,
                reference_frame=reference.resolve() if reference else None,
                image_size=tuple(camera.image_size),
            )
            ids.append(camera_id)
        halls.append(HallSetup(hall_id=hall.id, name=hall.name or hall.id, camera_ids=tuple(ids)))
    for r, root in enumerate(spec.snapshot_roots):
        if check_files and not _resolve(base, root.folder).is_dir():
            problems.append(f"snapshot_roots[{r}].folder: not a folder ({_resolve(base, root.folder)})")
    if problems:
        raise SiteError("; ".join(problems), source)
    roots = tuple(root.model_copy(update={"folder": str(_resolve(base, root.folder).resolve())}) for root in spec.snapshot_roots)
    return Site(
        site_id=spec.id,
        name=spec.name or spec.id,
        path=path.resolve(),
        timezone=spec.timezone,
        nights_shown=spec.nights_shown,
        day_starts_at_hour=spec.day_starts_at_hour,
        halls=tuple(halls),
        cameras=cameras,
        snapshot_roots=roots,
        database=spec.database,
    )


def _check_model(model: str, model_error: type[Exception]) -> str | None:
    """Cheap check in the parent (card, weights present, sha256): the weights load in each worker."""
    from models.registry import read_card, resolve_card, sha256_of

    try:
        card_path = resolve_card(model)
        card = read_card(card_path)
        weights = (card_path.parent / card.weights).resolve()
        if not weights.is_file():
            return f"weights file named by the card is missing ({weights})"
        if sha256_of(weights) != card.sha256:
            return f"weights sha256 does not match the card ({weights})"
    except model_error as error:
        return str(error)
    return None


def is_glob(pattern: str) -> bool:
    return glob.has_magic(pattern)
