"""Calibration from 4 clicked desk corners: fit, report the errors, save the camera file, reload it.

The camera's layout zones (定置图) and lens intrinsics are kept from its current file unless a new
layout is sent, so re-calibrating a moved camera does not lose its zones.
"""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile, status
from pydantic import ValidationError

from calibration.camera import Camera, load_camera, parse_camera, save_camera
from calibration.corners import CORNER_NAMES, read_corners  # one convention for the CLI, the page and the API
from calibration.errors_text import describe_fit
from inspector.files import write_atomic
from inspector.frames import decode_image, sniff_format
from service.api.routes.cameras import camera_out
from service.api.routes.inspections import IMAGE_TYPES, media_type, read_part
from service.deps import StateDep, require_admin_key, require_multipart
from service.inspecting import display_name
from service.schemas import CalibrationOut, ErrorOut, FitOut, LayoutIn
from service.state import CameraEntry, ServiceState

router = APIRouter(prefix="/calibration", tags=["calibration"])

CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # also its file name: no dots, no slashes
_SUFFIX = {"jpeg": ".jpg", "png": ".png", "bmp": ".bmp", "webp": ".webp", "tiff": ".tif"}


def parse_corners(text: str) -> list[tuple[float, float]]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        data = None
    ok = (isinstance(data, list) and len(data) == 4
          and all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                              and math.isfinite(v) for v in p) for p in data))
    if not ok:
        raise HTTPException(422, "corners_px: give 4 image points as JSON [[x,y],[x,y],[x,y],[x,y]] in the order "
                                 + ", ".join(CORNER_NAMES))
    return [(float(x), float(y)) for x, y in data]


def layout_error(error: ValidationError, field: str = "layout") -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in (field, *first["loc"]))
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


def parse_layout(text: str | None) -> dict[str, list[list[float]]] | None:
    """The `layout` form field: JSON {"zones": {name: [[x,y],...]}} (LayoutIn), or the older bare
    {name: [[x,y],...]} mapping."""
    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise HTTPException(422, f"layout: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise HTTPException(422, "layout: nested too deeply") from None
    if not isinstance(data, dict):
        raise HTTPException(422, 'layout: give {"zones": {"name": [[x,y], ...]}} in desk cm')
    if not isinstance(data.get("zones"), dict):
        data = {"zones": data}  # the older form: the zones mapping itself
    try:
        layout = LayoutIn.model_validate(data)
    except ValidationError as error:
        raise HTTPException(422, layout_error(error)) from None
    return {name: [list(p) for p in points] for name, points in layout.zones.items()}


def check_standard(state: ServiceState, camera_id: str, picked: str | None) -> str | None:
    """A standard picked for a camera: one this server has loaded, and not overruled by the settings."""
    if picked is None:
        return None
    if picked not in state.standards:
        known = ", ".join(sorted(state.standards)) or "none"
        raise HTTPException(422, f"standard: no standard {picked!r} on this server (standards: {known})")
    fixed = state.settings.camera_standards.get(camera_id)
    if fixed is not None and state.resolve_standard(fixed).id != picked:
        raise HTTPException(409, f"standard: the service settings (camera_standards) judge camera {camera_id!r} by "
                                 f"{state.resolve_standard(fixed).id!r}; change it there")
    return picked


def save_entry(state: ServiceState, camera: Camera, path: Path, snapshot: tuple[str, bytes] | None = None) -> CameraEntry:
    """Write the camera file (and its reference snapshot) atomically and serve what the file says.
    Everything must have been validated before: nothing here refuses."""
    cameras_dir = state.settings.cameras_dir
    with state.write_lock:
        cameras_dir.mkdir(parents=True, exist_ok=True)
        if snapshot is not None:
            write_atomic(path.parent / snapshot[0], snapshot[1])
        tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}{path.suffix}")  # hidden: never loaded as a camera
        try:
            save_camera(camera, tmp)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        entry = state.make_entry(load_camera(path), path)  # what is served is what the file says
        state.put_camera(entry)
    return entry


def calibrate(state: ServiceState, camera_id: str, snapshot: bytes, snapshot_name: str,
              corners: list[tuple[float, float]], width_cm: float, depth_cm: float,
              zones: dict | None, standard: str | None = None) -> CalibrationOut:
    """Runs in a worker thread. Everything is validated before the first byte is written."""
    image = decode_image(snapshot, snapshot_name, max_pixels=state.settings.max_pixels)
    size = (int(image.shape[1]), int(image.shape[0]))
    existing = state.camera(camera_id)
    cameras_dir = state.settings.cameras_dir
    path = existing.path if existing is not None else cameras_dir / f"{camera_id}.yaml"
    reference = f"{camera_id}.reference{_SUFFIX[sniff_format(snapshot)]}"
    desk_corners = [(0.0, 0.0), (width_cm, 0.0), (width_cm, depth_cm), (0.0, depth_cm)]
    spec: dict = {
        "camera_id": camera_id,
        "image_size": size,
        "desk": {"width_cm": width_cm, "depth_cm": depth_cm},
        "reference_frame": reference,
    }
    if zones is None and existing is not None:
        zones = {name: [list(p) for p in pts] for name, pts in existing.camera.spec.layout.zones.items()}
    if zones:
        spec["layout"] = {"zones": zones}
    picked = standard or (existing.camera.spec.standard if existing is not None else None)
    if picked:
        spec["standard"] = picked
    if existing is not None and existing.camera.spec.intrinsics is not None and tuple(existing.camera.image_size) == size:
        spec["intrinsics"] = existing.camera.spec.intrinsics.model_dump(mode="json")
    # CalibrationError -> 422; a mirrored or rotated click order is read the right way and said so
    reading, camera = read_corners(corners, lambda ordered: parse_camera(
        {**spec, "points": [{"image_px": p, "desk_cm": c} for p, c in zip(ordered, desk_corners)]}, path.name))
    # the standard must be able to judge this desk (its edges); zones it lacks are a warning, not a refusal
    state.make_entry(camera, path)
    entry = save_entry(state, camera, path, (reference, snapshot))
    fit = entry.camera.spec.fit
    pose = fit.pose
    return CalibrationOut(
        camera=camera_out(entry),
        warnings=[entry.layout_warning] if entry.missing_zones else [],
        fit=FitOut(
            reprojection_error_px=fit.reprojection_error_px,
            max_error_px=fit.max_error_px,
            inliers=fit.inliers,
            position_error_cm=dict(fit.position_error_cm),
            camera_height_cm=pose.camera_height_cm if pose else None,
            tilt_deg=pose.tilt_deg if pose else None,
        ),
        description=describe_fit(entry.camera),
        corners_read=reading.described(),
        file=path.name,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CalibrationOut,
    dependencies=[Depends(require_multipart)],
    summary="Calibrate a camera from 4 clicked desk corners",
    responses={
        400: {"model": ErrorOut, "description": "a malformed multipart body"},
        401: {"model": ErrorOut, "description": "missing or invalid API key"},
        403: {"model": ErrorOut, "description": "the key may not change calibrations"},
        413: {"model": ErrorOut, "description": "snapshot over the size limit"},
        415: {"model": ErrorOut, "description": "not multipart/form-data, or the snapshot is not an image type"},
        409: {"model": ErrorOut, "description": "the service settings fix another standard for this camera"},
        422: {"model": ErrorOut, "description": "bad snapshot, corners, desk size, layout or standard, or a fit that "
                                                "cannot work"},
    },
)
async def create_calibration(
    state: StateDep,
    _admin: Annotated[str, Depends(require_admin_key)],
    camera_id: Annotated[str, Form(pattern=CAMERA_ID_PATTERN, description="camera id (letters, digits, - and _)")],
    snapshot: Annotated[UploadFile, File(description="a photo from the camera, at its working image size")],
    corners_px: Annotated[str, Form(max_length=2000, description="JSON [[x,y] x4]: the desk corners in image pixels, "
                                                                 "front-left, front-right, back-right, back-left as "
                                                                 "the customer sees the desk (a mirrored or rotated "
                                                                 "order is recognised and reported in corners_read)")],
    width_cm: Annotated[float, Form(gt=0, le=1000, description="desk width along the front edge, cm")],
    depth_cm: Annotated[float, Form(gt=0, le=1000, description="desk depth from the front edge, cm")],
    layout: Annotated[str | None, Form(
        max_length=100_000,
        description='optional layout (定置图), the JSON object {"zones": {name: [[x,y],...]}} in desk cm (schema: '
                    "LayoutIn; the older bare {name: [[x,y],...]} is read too); default: keep the camera's zones. "
                    "Zones can also be drawn later: PUT /cameras/{camera_id}/layout with a JSON body",
        json_schema_extra={"contentMediaType": "application/json", "contentSchema": LayoutIn.model_json_schema()},
    )] = None,
    standard: Annotated[str | None, Form(min_length=1, max_length=128,
                                         description="standard id to judge this desk by (GET /standards); "
                                                     "default: keep the camera's, else the service default")] = None,
) -> CalibrationOut:
    """Fits the desk plane, saves `<camera_id>.yaml` (and the snapshot) in the cameras folder, and serves it at once.

    A layout without the zones the standard's zone / keep_clear rules name is saved; the response's
    `warnings` list the rules that will not be judged until the zones are drawn."""
    if media_type(snapshot) not in IMAGE_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"snapshot: content type {media_type(snapshot)} is not an image type")
    corners = parse_corners(corners_px)
    zones = parse_layout(layout)
    picked = check_standard(state, camera_id, standard)
    data = await read_part(snapshot, state.settings.upload_limit_bytes, "snapshot")
    return await anyio.to_thread.run_sync(
        calibrate, state, camera_id, data, display_name(snapshot.filename, "snapshot"), corners, width_cm, depth_cm, zones,
        picked, limiter=state.limiter,
    )
