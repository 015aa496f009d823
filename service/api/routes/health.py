"""Liveness and readiness; no API key, so a load balancer or an orchestrator can ask."""

from __future__ import annotations

from importlib import metadata

from typing import Annotated

from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse

from service.auth import AuthError
from service.deps import StateDep, _api_key_header, caller_of
from service.schemas import Health, Readiness

router = APIRouter(tags=["health"])


def _version() -> str:
    try:
        return metadata.version("desk-inspector")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@router.get("/health", response_model=Health, summary="The process is up")
def health() -> Health:
    return Health(status="ok", version=_version())


@router.get("/ready", response_model=Readiness, summary="Cameras, standards and model are loaded",
            responses={503: {"model": Readiness, "description": "not ready: no usable camera or standard"}})
def ready(request: Request, state: StateDep, key: Annotated[str | None, Security(_api_key_header)] = None):
    """What is loaded; the problems in detail (file paths, file excerpts) only for an admin key:
    anyone may ask /ready, and server paths are nobody else's business."""
    detector = state.detector
    problems = list(state.problems)
    try:  # an administrator: an admin key, or an administrator signed in on the page
        admin = bool(problems) and caller_of(request, state, key).is_admin
    except AuthError:
        admin = False
    if problems and not admin:
        problems = [f"{len(problems)} camera or standard file(s) could not be loaded; an administrator sees which "
                    f"(GET /api/v1/ready with an admin API key), and the server log names them"]
    body = Readiness(
        ready=state.ready,
        cameras=sorted(state.cameras),
        standards=sorted(state.standards),
        model=detector.ref.model_dump() if detector is not None else None,
        detections_required=detector is None,
        note=state.model_note,
        problems=problems,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if state.ready else 503)
