"""Inspections: submit a photo for a camera, read past results, their pictures, per-camera status."""

from __future__ import annotations

import mimetypes
from datetime import datetime
from typing import Annotated, Literal

import anyio
from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Path,
    Query,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse

from service.deps import HistoryDep, SettingsDep, StateDep, require_multipart
from inspector.history import stored_file
from service.inspecting import Upload, as_utc, display_name, draw_pictures, inspect_upload
from service.schemas import (
    CameraStatus,
    ErrorOut,
    Inspection,
    InspectionPage,
    LatestStatus,
    inspection_of,
    summary_of,
)

router = APIRouter(prefix="/inspections", tags=["inspections"])

IMAGE_TYPES = frozenset({
    "image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/bmp", "image/x-ms-bmp", "image/webp", "image/tiff",
    "application/octet-stream", "",
})
JSON_TYPES = frozenset({"application/json", "text/json", "text/plain", "application/octet-stream", ""})
MAX_ID = 2**63 - 1

InspectionId = Annotated[int, Path(ge=1, le=MAX_ID, description="inspection id")]
_ERRORS = {
    401: {"model": ErrorOut, "description": "missing or invalid API key"},
    404: {"model": ErrorOut, "description": "unknown camera or inspection"},
}
_UPLOAD_ERRORS = {
    **_ERRORS,
    400: {"model": ErrorOut, "description": "a malformed multipart body"},
    409: {"model": ErrorOut, "description": "no detector model on the server and no detections sent"},
    413: {"model": ErrorOut, "description": "upload over the size limit"},
    415: {"model": ErrorOut, "description": "not multipart/form-data, or a part of the wrong type"},
    422: {"model": ErrorOut, "description": "bad image (empty, truncated, not an image, too many pixels, wrong size "
                                            "for the camera) or bad detections"},
}


def media_type(part: UploadFile) -> str:
    return (part.content_type or "").split(";", 1)[0].strip().lower()


async def read_part(part: UploadFile, limit_bytes: int, what: str) -> bytes:
    """Read at most limit + 1 bytes: enough to know the part is over the limit, never more."""
    data = await part.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise HTTPException(413, f"{what} is over the {limit_bytes:,} byte limit")
    return data


def check_time(value: datetime | None, name: str) -> datetime | None:
    try:
        return as_utc(value)
    except (OverflowError, ValueError):
        raise HTTPException(422, f"{name}: out of the representable time range") from None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Inspection,
    responses=_UPLOAD_ERRORS,
    dependencies=[Depends(require_multipart)],
    summary="Inspect a desk photo",
)
async def create_inspection(
    response: Response,
    state: StateDep,
    history: HistoryDep,
    camera_id: Annotated[str, Form(min_length=1, max_length=128, description="the camera (window) the photo is from")],
    image: Annotated[UploadFile, File(description="the photo: JPEG, PNG, BMP, WebP or TIFF at the camera's image size")],
    detections: Annotated[
        UploadFile | None,
        File(description="optional SPEC detections JSON used instead of the server's detector"),
    ] = None,
    captured_at: Annotated[datetime | None, Form(description="when the photo was taken (ISO-8601; default: unknown)")] = None,
) -> Inspection:
    """Run the inspection on one photo: the report JSON, stored with an id, and links to its pictures."""
    entry = state.camera(camera_id)
    if entry is None:
        known = ", ".join(sorted(state.cameras)) or "none"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown camera {camera_id!r} (cameras: {known})")
    if media_type(image) not in IMAGE_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"image: content type {media_type(image)} is not an image type (JPEG, PNG, BMP, WebP, TIFF)")
    if detections is not None and media_type(detections) not in JSON_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"detections: content type {media_type(detections)} is not JSON")
    captured = check_time(captured_at, "captured_at")
    settings = state.settings
    image_upload = Upload(await read_part(image, settings.upload_limit_bytes, "image"), display_name(image.filename, "upload"),
                          media_type(image))
    detections_upload = None
    if detections is not None:
        data = await read_part(detections, settings.detections_limit_bytes, "detections")
        if data or detections.filename:  # an empty unnamed part is a form's unused file input
            detections_upload = Upload(data, display_name(detections.filename, "detections"), media_type(detections))

    # decoding, detection and drawing are CPU work: off the event loop, a bounded number at a time
    row = await anyio.to_thread.run_sync(
        inspect_upload, state, history, entry, image_upload, detections_upload, captured, limiter=state.limiter
    )
    response.headers["Location"] = f"/api/v1/inspections/{row.id}"
    return inspection_of(row)


@router.get("", response_model=InspectionPage, responses=_ERRORS, summary="List inspections")
def list_inspections(
    history: HistoryDep,
    camera_id: Annotated[str | None, Query(max_length=128, description="only this camera")] = None,
    since: Annotated[datetime | None, Query(description="captured (else inspected) at or after, ISO-8601")] = None,
    until: Annotated[datetime | None, Query(description="captured (else inspected) before, ISO-8601")] = None,
    compliant: Annotated[bool | None, Query(description="only passing (true) or failing (false) desks")] = None,
    status_: Annotated[
        Literal["ok", "error", "cannot_judge", "occluded", "camera_moved"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> InspectionPage:
    """Newest first, filtered by camera, time range, compliance and status; paginated."""
    page = history.list(camera_id=camera_id, since=check_time(since, "since"), until=check_time(until, "until"),
                        compliant=compliant, status=status_, limit=limit, offset=offset)
    return InspectionPage(total=page.total, limit=limit, offset=offset, items=[summary_of(row) for row in page.rows])


@router.get("/latest", response_model=LatestStatus, responses=_ERRORS, summary="Latest inspection per camera")
def latest_per_camera(state: StateDep, history: HistoryDep) -> LatestStatus:
    """One tile per camera for a dashboard: every configured camera, plus any other camera in the history."""
    latest = history.latest_per_camera()
    configured = state.cameras
    names = sorted(configured) + sorted(set(latest) - set(configured))
    return LatestStatus(cameras=[
        CameraStatus(camera_id=name, configured=name in configured,
                     latest=summary_of(latest[name]) if name in latest else None)
        for name in names
    ])


def _row(history, inspection_id: int):
    row = history.get(inspection_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no inspection {inspection_id}")
    return row


@router.get("/{inspection_id}", response_model=Inspection, responses=_ERRORS, summary="One inspection with its report")
def get_inspection(history: HistoryDep, inspection_id: InspectionId) -> Inspection:
    return inspection_of(_row(history, inspection_id))


def _picture(settings, state, row, stored: str | None, what: str, inspection_id: int) -> FileResponse:
    path = stored_file(settings.data_dir, stored)
    if path is None and stored and draw_pictures(state, settings, row):  # an upload's: drawn when first asked for
        path = stored_file(settings.data_dir, stored)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"inspection {inspection_id} has no {what} on this server")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # pictures never change once written
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=86400, immutable"})


_PICTURE = {**_ERRORS, 200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the picture"}}


@router.get("/{inspection_id}/annotated", response_class=FileResponse, responses=_PICTURE, summary="Annotated photo")
def annotated_picture(history: HistoryDep, settings: SettingsDep, state: StateDep, inspection_id: InspectionId):
    row = _row(history, inspection_id)
    return _picture(settings, state, row, row.annotated_path, "annotated photo", inspection_id)


@router.get("/{inspection_id}/desk-map", response_class=FileResponse, responses=_PICTURE, summary="Bird's-eye desk map")
def desk_map_picture(history: HistoryDep, settings: SettingsDep, state: StateDep, inspection_id: InspectionId):
    row = _row(history, inspection_id)
    return _picture(settings, state, row, row.desk_map_path, "desk map", inspection_id)
