"""Errors at the edge: every expected problem becomes a 4xx `{"detail": "..."}`; the rest a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from inspector.errors import (
    CalibrationError,
    DetectionsError,
    ImageError,
    InspectorError,
    ModelError,
    StandardError,
)
from inspector.corrections import CorrectionError
from service.correcting import NotCorrectableError, PhotoGoneError
from service.inspecting import NoDetectorError

log = logging.getLogger("service")

_STATUS = (
    (NoDetectorError, status.HTTP_409_CONFLICT),
    (ModelError, status.HTTP_409_CONFLICT),
    (NotCorrectableError, status.HTTP_409_CONFLICT),
    (PhotoGoneError, status.HTTP_410_GONE),
    (CorrectionError, 422),
    (ImageError, 422),
    (DetectionsError, 422),
    (CalibrationError, 422),
    (StandardError, 422),
)


def status_for(error: InspectorError) -> int:
    for kind, code in _STATUS:
        if isinstance(error, kind):
            return code
    return 422


def _location(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


async def inspector_error(_request: Request, error: InspectorError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=status_for(error))


async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    # no "input" echoed back: it may be binary file content, and it is the caller's own data anyway
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
              for e in error.errors()]
    detail = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    return JSONResponse({"detail": detail}, status_code=error.status_code, headers=getattr(error, "headers", None))


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    request.app.state.unexpected_errors = getattr(request.app.state, "unexpected_errors", 0) + 1
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)


def install(app: FastAPI) -> None:
    app.state.unexpected_errors = 0
    app.add_exception_handler(InspectorError, inspector_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
