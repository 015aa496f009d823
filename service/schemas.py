"""Response bodies of the API (what the OpenAPI schema at /docs shows)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from shapely.geometry import Polygon

from inspector.history import InspectionRow
from inspector.records import Report
from service.state import CameraEntry

API_PREFIX = "/api/v1"


class FieldError(BaseModel):
    loc: list[str]
    msg: str
    type: str


class ErrorOut(BaseModel):
    detail: str = Field(description="what was wrong, in words")
    errors: list[FieldError] | None = Field(None, description="request validation errors: one per field")


VALIDATION_ERROR = {422: {"model": ErrorOut, "description": "a parameter or field is missing or malformed"}}


class Links(BaseModel):
    self: str
    annotated: str | None = Field(None, description="annotated photo (JPEG)")
    desk_map: str | None = Field(None, description="bird's-eye desk map (PNG)")


Verdict = Literal["pass", "fail", "check"]


class ReportOut(Report):
    """The SPEC report JSON (`inspector.records.Report`): verdict, sure and conditional results
    with their uncertainty and decision, rules not judged and why. A report stored before verdicts
    existed reads with the verdict its `compliant` gave (no guard band was applied then)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _verdict_of_older_reports(cls, data: Any) -> Any:
        if isinstance(data, dict) and "verdict" not in data and isinstance(data.get("compliant"), bool):
            return {**data, "verdict": "pass" if data["compliant"] else "fail"}
        return data


class InspectionSummary(BaseModel):
    id: int
    camera_id: str
    image_name: str
    captured_at: datetime | None
    inspected_at: datetime
    status: str = Field(description="ok | error | cannot_judge | occluded | camera_moved")
    verdict: Verdict | None = Field(
        None, description="pass | fail | check (nothing surely failed but a result is within its uncertainty of the "
                          "limit: a person should look); null when the photo was not judged (status not ok)")
    compliant: bool | None = Field(description="true only for verdict pass")
    score: float | None
    violation_count: int = Field(description="violations in the report: sure and conditional fails")
    fail_count: int | None = Field(None, description="sure fails (decision fail); null without a report")
    check_count: int | None = Field(
        None, description="results to check by eye: conditional fails and conditional passes; null without a report")
    origin: str = Field(description="api | batch | cli")
    run_id: str | None = None
    message: str = ""
    links: Links


class Inspection(InspectionSummary):
    report: ReportOut | None = Field(description="the SPEC report JSON; null when the photo was not judged")


class InspectionPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[InspectionSummary]


class CameraStatus(BaseModel):
    camera_id: str
    configured: bool = Field(description="the camera is loaded on this server")
    latest: InspectionSummary | None


class LatestStatus(BaseModel):
    cameras: list[CameraStatus]


class StandardRefOut(BaseModel):
    id: str
    version: str
    name_zh: str
    name_en: str


class DeskOut(BaseModel):
    width_cm: float | None
    depth_cm: float | None
    outline_cm: list[list[float]]
    front_edge: int


class PointPairOut(BaseModel):
    image_px: list[float]
    desk_cm: list[float]


class CameraOut(BaseModel):
    camera_id: str
    image_size: list[int] = Field(description="[width, height] px")
    desk: DeskOut
    zones: dict[str, list[list[float]]]
    points: list[PointPairOut]
    standard: StandardRefOut
    reprojection_error_px: float
    max_error_px: float
    position_error_cm: dict[str, float]
    has_snapshot: bool
    links: dict[str, str]
    missing_zones: dict[str, list[str]] = Field(
        default_factory=dict, description="rule id -> zones of the standard this camera's layout does not draw: "
                                          "those rules are not judged until the zones are drawn")
    warnings: list[str] = Field(default_factory=list, description="what an inspection of this camera will not judge, in words")


# A zone name as a standard's zone / keep_clear rule writes it (letters of any script, digits, _ and -)
ZoneName = Annotated[str, StringConstraints(pattern=r"^[\w-]{1,64}$")]
DeskCoordinate = Annotated[float, Field(ge=-10_000, le=10_000, allow_inf_nan=False)]
ZonePolygon = Annotated[list[tuple[DeskCoordinate, DeskCoordinate]], Field(max_length=200)]


class LayoutIn(BaseModel):
    """The desk's layout (定置图): named zones in desk cm, each a simple polygon (a rectangle is 4 corners)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"zones": {
        "monitor": [[95, 40], [155, 40], [155, 75], [95, 75]],
        "pass_through": [[60, 0], [95, 0], [95, 25], [60, 25]]}}]})

    zones: dict[ZoneName, ZonePolygon] = Field(
        default_factory=dict, max_length=100,
        description="zone name -> polygon [[x, y], ...] in desk cm (x along the front edge, y from the front edge "
                    "toward the staff side); the names a standard's zone and keep_clear rules use")

    @field_validator("zones")
    @classmethod
    def _simple_polygons(cls, zones: dict[str, list[tuple[float, float]]]) -> dict[str, list[tuple[float, float]]]:
        for name, points in zones.items():
            polygon = Polygon(points) if len(points) >= 3 else None
            if polygon is None or not polygon.is_valid or polygon.area <= 0:
                raise ValueError(f"zone '{name}' must be a simple polygon of at least 3 points (no self-crossing)")
        return zones


class CameraLayoutIn(LayoutIn):
    """A camera's layout and the standard its desk is judged by (PUT /cameras/{camera_id}/layout)."""

    standard: str | None = Field(None, min_length=1, max_length=128,
                                 description="standard id (GET /standards); default: keep the camera's standard")


class CameraList(BaseModel):
    cameras: list[CameraOut]


class ItemOut(BaseModel):
    min: int
    max: int | None
    label_zh: str
    label_en: str
    registered: bool = False


class RuleOut(BaseModel):
    id: str
    kind: str
    severity: str | None = None


class ZoneNeedOut(BaseModel):
    zone: str = Field(description="the zone name a camera's layout must draw")
    rule: str
    kind: str = Field(description="zone (items of `classes` must lie inside) or keep_clear (must stay empty)")
    classes: list[str] = Field(default_factory=list, description="the items that belong in the zone (zone rules)")


class StandardOut(StandardRefOut):
    items: dict[str, ItemOut]
    rules: list[RuleOut]
    zones: list[ZoneNeedOut] = Field(default_factory=list, description="the zones its rules need in each camera's layout")
    cameras: list[str] = Field(description="cameras judged by this standard")


class StandardList(BaseModel):
    standards: list[StandardOut]


class FitOut(BaseModel):
    reprojection_error_px: float
    max_error_px: float
    inliers: int
    position_error_cm: dict[str, float]
    camera_height_cm: float | None = None
    tilt_deg: float | None = None


class CalibrationOut(BaseModel):
    camera: CameraOut
    warnings: list[str] = Field(default_factory=list, description="rules this camera cannot have judged yet (zones "
                                                                  "missing from its layout), in words")
    fit: FitOut
    description: str
    file: str = Field(description="camera file name in the cameras folder")
    corners_read: str = Field("", description="how the clicked corners were read (front-left, front-right, "
                                              "back-right, back-left as the customer sees the desk), and why "
                                              "when the clicks were in another order")


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    ready: bool
    cameras: list[str]
    standards: list[str]
    model: dict[str, str] | None
    detections_required: bool = Field(description="no model loaded: every upload must carry a detections file")
    note: str
    problems: list[str]


# -- builders -----------------------------------------------------------------------------------
def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def inspection_links(row: InspectionRow) -> Links:
    base = f"{API_PREFIX}/inspections/{row.id}"
    return Links(
        self=base,
        annotated=f"{base}/annotated" if row.annotated_path else None,
        desk_map=f"{base}/desk-map" if row.desk_map_path else None,
    )


def verdict_of(row: InspectionRow, report: dict | None) -> str | None:
    """The report's verdict; for a row stored before verdicts existed, the one `compliant` gave."""
    if row.status != "ok":
        return None
    if report and report.get("verdict") in ("pass", "fail", "check"):
        return report["verdict"]
    return None if row.compliant is None else "pass" if row.compliant else "fail"


def summary_of(row: InspectionRow, report: dict | None = None) -> InspectionSummary:
    report = report if report is not None else row.report()
    results = [*report.get("violations", ()), *report.get("conditional_passes", ())] if report else []
    fails = sum(1 for r in results if r.get("decision", "fail") == "fail")
    return InspectionSummary(
        id=row.id,
        camera_id=row.camera_id,
        image_name=row.image_name,
        captured_at=utc(row.captured_at),
        inspected_at=utc(row.inspected_at),
        status=row.status,
        verdict=verdict_of(row, report),
        compliant=row.compliant,
        score=row.score,
        violation_count=row.violation_count or 0,
        fail_count=fails if report else None,
        check_count=len(results) - fails if report else None,
        origin=row.origin,
        run_id=row.run_id,
        message=row.message or "",
        links=inspection_links(row),
    )


def inspection_of(row: InspectionRow) -> Inspection:
    report = row.report()
    return Inspection(**summary_of(row, report).model_dump(),
                      report=ReportOut.model_validate(report) if report is not None else None)


def standard_ref(standard) -> StandardRefOut:
    return StandardRefOut(id=standard.id, version=standard.version, name_zh=standard.name_zh, name_en=standard.name_en)


def camera_of(entry: CameraEntry, has_snapshot: bool) -> CameraOut:
    camera = entry.camera
    spec = camera.spec
    fit = spec.fit
    base = f"{API_PREFIX}/cameras/{camera.camera_id}"
    links = {"self": base}
    if has_snapshot:
        links["snapshot"] = f"{base}/snapshot"
    return CameraOut(
        camera_id=camera.camera_id,
        image_size=list(camera.image_size),
        desk=DeskOut(
            width_cm=spec.desk.width_cm,
            depth_cm=spec.desk.depth_cm,
            outline_cm=[list(p) for p in spec.desk.outline()],
            front_edge=spec.desk.front_edge,
        ),
        zones={name: [list(p) for p in points] for name, points in spec.layout.zones.items()},
        points=[PointPairOut(image_px=list(p.image_px), desk_cm=list(p.desk_cm)) for p in spec.points],
        standard=standard_ref(entry.standard),
        reprojection_error_px=fit.reprojection_error_px,
        max_error_px=fit.max_error_px,
        position_error_cm=dict(fit.position_error_cm),
        has_snapshot=has_snapshot,
        links={**links, "layout": f"{base}/layout", "desk_view": f"{base}/desk-view"},
        missing_zones=entry.missing_zones,
        warnings=[entry.layout_warning] if entry.missing_zones else [],
    )


def standard_of(standard, cameras: list[str]) -> StandardOut:
    registered = {item.id for item in standard.registered}
    items = {}
    for class_id, (low, high) in standard.count_limits.items():
        zh, en = standard.labels(class_id)
        items[class_id] = ItemOut(min=low, max=high, label_zh=zh, label_en=en, registered=class_id in registered)
    rules = [RuleOut(id=rule.id, kind=rule.kind, severity=getattr(rule, "severity", None)) for rule in standard.rules]
    zones = [ZoneNeedOut(zone=zone, rule=rule.id, kind=rule.kind, classes=list(getattr(rule, "classes", None) or ()))
             for rule in standard.rules for zone in rule.zone_names()]
    return StandardOut(**standard_ref(standard).model_dump(), items=items, rules=rules, zones=zones, cameras=cameras)


# -- corrections and the review queue (SPEC "Corrections and model versions") ------------------------------
class CorrectionActionIn(BaseModel):
    """One change to an inspection's items. Item ids are those of the inspection's report (stable
    across corrections; a drawn box gets a new id)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    action: Literal["delete", "relabel", "add", "confirm"]
    item_id: int | None = Field(None, ge=1, le=1_000_000_000, description="the item to delete, relabel or confirm")
    class_: str | None = Field(None, alias="class", min_length=1, max_length=64,
                               description="the item's class (relabel, add)")
    bbox_px: list[float] | None = Field(None, min_length=4, max_length=4,
                                        description="[x1, y1, x2, y2] in image px (add; relabel may move the box)")


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[CorrectionActionIn] = Field(default_factory=list, max_length=300)
    verdict_confirmed: bool | None = Field(
        None, description="true: the (corrected) verdict is right; false: it is wrong. Either says a person "
                          "looked at the whole photo: only such inspections go into `dataset export`")
    base_revision: int | None = Field(
        None, ge=0, le=1_000_000_000,
        description="the correction revision this one was made on (0: the original report). When another "
                    "correction was stored since, the request is refused with 409 and the newer one, never "
                    "silently overwritten; without it the correction applies to the latest revision")
    author: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$",
                               description="who corrects (shown with the correction)")


class CorrectedItemOut(BaseModel):
    item_id: int
    class_: str = Field(alias="class")
    bbox_px: list[float]
    confidence: float
    source: Literal["model", "person"]
    checked: bool

    model_config = ConfigDict(populate_by_name=True)


class ModelVersionOut(BaseModel):
    name: str | None
    version: str | None


class CorrectionOut(BaseModel):
    id: int
    inspection_id: int
    revision: int
    author: str
    created_at: datetime
    model: ModelVersionOut = Field(description="the model whose result was corrected")
    verdict_confirmed: bool | None
    original_verdict: Verdict | None
    corrected_verdict: Verdict
    actions: list[dict]
    items: list[CorrectedItemOut]


class CorrectedInspection(BaseModel):
    """An inspection with its corrections: the original report kept, the corrected one beside it."""

    inspection_id: int
    camera_id: str
    revision: int = Field(description="the latest correction's revision (0: not corrected)")
    original_verdict: Verdict | None
    corrected_verdict: Verdict | None
    verdict_confirmed: bool | None
    original_report: ReportOut | None
    corrected_report: ReportOut | None
    corrections: list[CorrectionOut]


class CorrectionConflictOut(BaseModel):
    detail: str
    latest: CorrectionOut = Field(description="the correction stored since the revision this one was made on")


class CorrectionSummary(BaseModel):
    correction: CorrectionOut
    camera_id: str
    image_name: str
    captured_at: datetime | None


class CorrectionPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CorrectionSummary]


class ReviewReasonOut(BaseModel):
    code: str
    points: float
    text_en: str
    text_zh: str


class ReviewEntry(BaseModel):
    inspection: InspectionSummary
    priority: float
    reasons: list[ReviewReasonOut]


class ReviewQueue(BaseModel):
    day: str | None = Field(description="the day (capture date, else inspection date, UTC) the queue is for")
    cap: int = Field(description="at most this many a day (settings review_per_day)")
    candidates: int = Field(description="uncorrected inspections of that day with a reason to look")
    items: list[ReviewEntry]


def correction_of(row) -> CorrectionOut:
    return CorrectionOut(
        id=row.id, inspection_id=row.inspection_id, revision=row.revision, author=row.author,
        created_at=utc(row.created_at), model=ModelVersionOut(name=row.model_name, version=row.model_version),
        verdict_confirmed=row.verdict_confirmed, original_verdict=row.original_verdict,
        corrected_verdict=row.corrected_verdict, actions=row.actions(),
        items=[CorrectedItemOut.model_validate(item) for item in row.items()],
    )
