"""A camera's layout (定置图) and standard, set from the page's desk map: PUT a JSON object; and the
bird's-eye view of its reference snapshot that the zones are drawn on."""

from __future__ import annotations

from typing import Annotated

import anyio
import cv2
import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Response, status

from calibration.camera import Camera
from inspector.drawing import _desk_map_grid
from inspector.frames import read_image_file
from service.api.routes.calibration import check_standard, save_entry
from service.api.routes.cameras import CameraId, camera_out, find_camera, snapshot_path
from service.deps import StateDep, require_admin_key
from service.schemas import CameraLayoutIn, CameraOut, ErrorOut
from service.state import ServiceState

router = APIRouter(prefix="/cameras", tags=["cameras"])

DESK_VIEW_PX_PER_CM = 4.0  # 160 cm -> 640 px: enough to draw zones to a centimetre
_ERRORS = {401: {"model": ErrorOut, "description": "missing or invalid API key"},
           404: {"model": ErrorOut, "description": "unknown camera"}}


def set_layout(state: ServiceState, camera_id: str, body: CameraLayoutIn) -> CameraOut:
    entry = find_camera(state, camera_id)
    picked = check_standard(state, camera_id, body.standard)
    update = {"layout": entry.camera.spec.layout.model_validate({"zones": {n: [list(p) for p in pts]
                                                                          for n, pts in body.zones.items()}})}
    if picked is not None:
        update["standard"] = picked
    camera = Camera(entry.camera.spec.model_copy(update=update), entry.camera.source)
    state.make_entry(camera, entry.path)  # StandardError (-> 422) before anything is written
    return camera_out(save_entry(state, camera, entry.path))


@router.put(
    "/{camera_id}/layout",
    response_model=CameraOut,
    summary="Set a camera's layout (定置图) and standard",
    responses={**_ERRORS,
               400: {"model": ErrorOut, "description": "the body is not JSON"},
               403: {"model": ErrorOut, "description": "the key may not change calibrations"},
               409: {"model": ErrorOut, "description": "the service settings fix another standard for this camera"},
               422: {"model": ErrorOut, "description": "a zone that is not a simple polygon, a bad name or number, "
                                                       "an unknown standard"}},
)
async def put_layout(state: StateDep, _admin: Annotated[str, Depends(require_admin_key)], camera_id: CameraId,
                     body: CameraLayoutIn) -> CameraOut:
    """Replaces the camera's zones (all of them: send every zone to keep) and, if given, its standard.
    The calibration is kept. Zones the standard needs but the layout lacks are listed in
    `missing_zones` and `warnings`: those rules are not judged until drawn."""
    return await anyio.to_thread.run_sync(set_layout, state, camera_id, body)


def desk_view(camera: Camera, image: np.ndarray) -> bytes:
    """The desk top of `image` seen from above at DESK_VIEW_PX_PER_CM, the desk's bounding box exactly,
    as the customer sees it: the front edge at the bottom, x to the right, y up (not mirrored: what
    is written on the desk reads the right way round)."""
    min_x, min_y, max_x, max_y = camera.desk.outline_cm.bounds
    width = int(round((max_x - min_x) * DESK_VIEW_PX_PER_CM))
    height = int(round((max_y - min_y) * DESK_VIEW_PX_PER_CM))
    map_x, map_y = _desk_map_grid(camera, DESK_VIEW_PX_PER_CM, 0.0, width, height)
    top = cv2.remap(image, map_x[::-1], map_y[::-1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                    borderValue=(40, 40, 40))
    ok, encoded = cv2.imencode(".jpg", top, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise HTTPException(500, "the desk view could not be encoded")
    return encoded.tobytes()


@router.get(
    "/{camera_id}/desk-view",
    response_class=Response,
    summary="The reference snapshot's desk top from above (to draw zones on)",
    responses={**_ERRORS, 200: {"content": {"image/jpeg": {}},
                                "description": f"{DESK_VIEW_PX_PER_CM:g} px per cm over the desk's bounding box; "
                                               "front edge at the bottom, as the customer sees the desk"}},
)
async def get_desk_view(state: StateDep, camera_id: CameraId) -> Response:
    entry = find_camera(state, camera_id)
    path = snapshot_path(entry)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id!r} has no reference snapshot")

    def render() -> bytes:
        return desk_view(entry.camera, read_image_file(path))

    data = await anyio.to_thread.run_sync(render, limiter=state.limiter)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})
