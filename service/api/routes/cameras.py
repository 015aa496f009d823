"""Cameras (windows) loaded on this server, with their desks, standards and calibration errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from inspector.frames import IMAGE_SUFFIXES
from service.deps import StateDep
from service.schemas import CameraList, CameraOut, ErrorOut, camera_of
from service.state import CameraEntry, ServiceState

router = APIRouter(prefix="/cameras", tags=["cameras"])

CameraId = Annotated[str, PathParam(min_length=1, max_length=128, description="camera id")]
_ERRORS = {401: {"model": ErrorOut, "description": "missing or invalid API key"},
           404: {"model": ErrorOut, "description": "unknown camera"}}


def snapshot_path(entry: CameraEntry) -> Path | None:
    """The reference frame kept at calibration time (relative to the camera file), if it is there."""
    name = entry.camera.spec.reference_frame
    if not name:
        return None
    path = Path(name)
    if not path.is_absolute():
        path = entry.path.parent / path
    return path if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() else None


def camera_out(entry: CameraEntry) -> CameraOut:
    return camera_of(entry, has_snapshot=snapshot_path(entry) is not None)


def find_camera(state: ServiceState, camera_id: str) -> CameraEntry:
    entry = state.camera(camera_id)
    if entry is None:
        known = ", ".join(sorted(state.cameras)) or "none"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown camera {camera_id!r} (cameras: {known})")
    return entry


@router.get("", response_model=CameraList, responses=_ERRORS, summary="List cameras")
def list_cameras(state: StateDep) -> CameraList:
    return CameraList(cameras=[camera_out(entry) for _, entry in sorted(state.cameras.items())])


@router.get("/{camera_id}", response_model=CameraOut, responses=_ERRORS, summary="One camera")
def get_camera(state: StateDep, camera_id: CameraId) -> CameraOut:
    return camera_out(find_camera(state, camera_id))


@router.get("/{camera_id}/snapshot", response_class=FileResponse, summary="The camera's reference snapshot",
            responses={**_ERRORS, 200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the snapshot"}})
def camera_snapshot(state: StateDep, camera_id: CameraId):
    path = snapshot_path(find_camera(state, camera_id))
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id!r} has no reference snapshot")
    return FileResponse(path)
