"""Corrections of inspections by people, and the queue of inspections most worth a look."""

from __future__ import annotations

import mimetypes
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse, JSONResponse

from inspector.classes import CLASS_LABELS
from inspector.history import corrections as corrections_of, latest_corrections, list_corrections, original_photo
from inspector.review import ModelHints, hints_from_card, rank
from service.api.routes.inspections import InspectionId, _row, check_time
from service.correcting import Conflict, PhotoGoneError, correct
from service.deps import ApiKey, HistoryDep, SettingsDep, StateDep
from service.schemas import (
    CorrectedInspection,
    CorrectionConflictOut,
    CorrectionIn,
    CorrectionPage,
    CorrectionSummary,
    ErrorOut,
    ReportOut,
    ReviewEntry,
    ReviewQueue,
    ReviewReasonOut,
    correction_of,
    summary_of,
    utc,
)

router = APIRouter(tags=["corrections"])

_ERRORS = {
    401: {"model": ErrorOut, "description": "missing or invalid API key"},
    404: {"model": ErrorOut, "description": "no such inspection"},
}
_CORRECT_ERRORS = {
    **_ERRORS,
    400: {"model": ErrorOut, "description": "the body is not JSON"},
    409: {"model": CorrectionConflictOut, "description": "corrected by someone else since `base_revision` (the body "
                                                         "holds their correction), or the inspection was not judged "
                                                         "or its camera is not loaded here"},
    410: {"model": ErrorOut, "description": "the inspection's photo is no longer on this server"},
    422: {"model": ErrorOut, "description": "an action that cannot apply: a box outside the image, an unknown class "
                                            "or item id"},
}


def corrected_view(history, row) -> CorrectedInspection:
    rows = corrections_of(history, row.id)
    latest = rows[-1] if rows else None
    original = row.report()
    return CorrectedInspection(
        inspection_id=row.id, camera_id=row.camera_id, revision=latest.revision if latest else 0,
        original_verdict=original.get("verdict") if original else None,
        corrected_verdict=latest.corrected_verdict if latest else None,
        verdict_confirmed=latest.verdict_confirmed if latest else None,
        original_report=ReportOut.model_validate(original) if original else None,
        corrected_report=ReportOut.model_validate(latest.report()) if latest else None,
        corrections=[correction_of(c) for c in rows],
    )


@router.post("/inspections/{inspection_id}/corrections", response_model=CorrectedInspection, status_code=201,
             responses=_CORRECT_ERRORS, summary="Correct an inspection's items and verdict")
async def create_correction(state: StateDep, history: HistoryDep, key: ApiKey, inspection_id: InspectionId,
                            body: CorrectionIn):
    """Delete, relabel, add or confirm items and confirm or reject the verdict; the report is
    re-evaluated with the corrected items (the original is kept) and both come back."""
    row = _row(history, inspection_id)
    # who sent it, never the key: "key 1a2b3c4d" (settings key), "key dashboard-1", "user alice"
    author = f"{body.author} ({key.label})" if body.author else key.label
    actions = [a.model_dump(by_alias=True, exclude_none=True) for a in body.items]
    try:
        await anyio.to_thread.run_sync(correct, state, history, row, actions, body.verdict_confirmed,
                                       body.base_revision, author, limiter=state.limiter)
    except Conflict as conflict:
        return JSONResponse(status_code=status.HTTP_409_CONFLICT, content=CorrectionConflictOut(
            detail=str(conflict), latest=correction_of(conflict.latest)).model_dump(mode="json", by_alias=True))
    return corrected_view(history, row)


@router.get("/inspections/{inspection_id}/corrections", response_model=CorrectedInspection, responses=_ERRORS,
            summary="An inspection's corrections, original and corrected report")
def get_corrections(history: HistoryDep, inspection_id: InspectionId) -> CorrectedInspection:
    return corrected_view(history, _row(history, inspection_id))


@router.get("/inspections/{inspection_id}/photo", response_class=FileResponse, summary="The photo as inspected",
            responses={**_ERRORS, 410: {"model": ErrorOut, "description": "the photo is no longer on this server"},
                       200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the photo"}})
def inspection_photo(history: HistoryDep, settings: SettingsDep, inspection_id: InspectionId):
    """The photo without drawings, for a person to draw corrected boxes on (bbox_px are its pixels)."""
    row = _row(history, inspection_id)
    path = original_photo(settings.data_dir, row)
    if path is None:
        raise PhotoGoneError(f"the photo of inspection {inspection_id} is no longer on this server", "inspection")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=86400, immutable"})


@router.get("/classes", summary="The canonical item classes a correction may use, with their labels")
def item_classes() -> dict:
    return {"classes": [{"id": class_id, "label_zh": zh, "label_en": en}
                        for class_id, (zh, en) in CLASS_LABELS.items()]}


@router.get("/corrections", response_model=CorrectionPage, responses=_ERRORS, summary="List corrections")
def list_all_corrections(
    history: HistoryDep,
    since: Annotated[datetime | None, Query(description="stored at or after, ISO-8601")] = None,
    camera: Annotated[str | None, Query(max_length=128, description="only this camera")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> CorrectionPage:
    """Newest first."""
    rows, total = list_corrections(history, since=check_time(since, "since"), camera_id=camera, limit=limit,
                                   offset=offset)
    return CorrectionPage(total=total, limit=limit, offset=offset, items=[
        CorrectionSummary(correction=correction_of(c), camera_id=i.camera_id, image_name=i.image_name,
                          captured_at=utc(i.captured_at)) for c, i in rows])


@lru_cache(maxsize=8)
def _hints(model_name: str, version: str) -> ModelHints:
    from models.registry import read_card, resolve_card

    try:
        return hints_from_card(read_card(resolve_card(model_name)))
    except Exception:  # noqa: BLE001 - a model not in the registry: thresholds unknown, the rest still ranks
        return ModelHints()


_QUEUE_SCAN = 100_000  # inspections of one day looked at, at most


@router.get("/review-queue", response_model=ReviewQueue, responses=_ERRORS, summary="Inspections most worth a look")
def review_queue(
    state: StateDep,
    history: HistoryDep,
    day: Annotated[date | None, Query(description="capture (else inspection) date, UTC; default: the latest day "
                                                  "with a judged inspection")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="at most this many (default and cap: "
                                                                  "settings review_per_day)")] = None,
) -> ReviewQueue:
    """Uncorrected inspections of one day ranked by how much a person's look can change: a verdict
    that could flip, conditional decisions, detections near their threshold, rules not judged,
    classes the model is weakest on. At most review_per_day a day."""
    cap = min(limit or state.settings.review_per_day, state.settings.review_per_day)
    if day is None:
        newest = history.list(status="ok", limit=1).rows
        if not newest:
            return ReviewQueue(day=None, cap=cap, candidates=0, items=[])
        moment = utc(newest[0].captured_at or newest[0].inspected_at)
        day = moment.date()
    start = datetime.combine(day, time(0, 0), tzinfo=timezone.utc)
    rows = history.list(status="ok", since=start, until=start + timedelta(days=1), limit=_QUEUE_SCAN).rows
    corrected = latest_corrections(history, [r.id for r in rows])
    reports = {r.id: r.report() for r in rows if r.id not in corrected and r.report_json}
    by_id = {r.id: r for r in rows}
    detector = state.detector
    hints = _hints(detector.ref.name, detector.ref.version) if detector is not None else ModelHints()
    ranked = rank(reports, hints, len(reports))
    return ReviewQueue(day=day.isoformat(), cap=cap, candidates=len(ranked), items=[
        ReviewEntry(inspection=summary_of(by_id[c.inspection_id], reports[c.inspection_id]), priority=c.priority,
                    reasons=[ReviewReasonOut(code=r.code, points=r.points, text_en=r.text_en, text_zh=r.text_zh)
                             for r in c.reasons])
        for c in ranked[:cap]])
