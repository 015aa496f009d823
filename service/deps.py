"""Injected dependencies: settings, the loaded state, the history, and the caller's API key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from inspector.history import History
from service.config import Settings
from service.state import ServiceState

API_KEY_HEADER = "X-API-Key"
_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The dashboard's or supervisor's API key (settings `api_keys`).",
)


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    state.refresh_cameras()  # sees calibrations saved by other worker processes
    return state


def get_settings(state: Annotated[ServiceState, Depends(get_state)]) -> Settings:
    return state.settings


def get_history(request: Request) -> History:
    return request.app.state.history


StateDep = Annotated[ServiceState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
HistoryDep = Annotated[History, Depends(get_history)]


def _matches(given: str, accepted: list[str]) -> bool:
    given_bytes = given.encode("utf-8", "surrogateescape")
    # compare against every key so the time taken does not tell which one nearly matched
    found = False
    for key in accepted:
        found |= hmac.compare_digest(given_bytes, key.encode("utf-8"))
    return found


def require_api_key(state: StateDep, key: Annotated[str | None, Security(_api_key_header)] = None) -> str:
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing API key: send it in the {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": "APIKey"})
    if not _matches(key, state.keys):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers={"WWW-Authenticate": "APIKey"})
    return key


def require_admin_key(state: StateDep, key: Annotated[str, Depends(require_api_key)]) -> str:
    if not _matches(key, state.admin_keys):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key may not change calibrations (settings admin_api_keys)")
    return key


def require_multipart(request: Request) -> None:
    """File uploads are multipart/form-data; anything else is refused before the fields are looked at."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        shown = content_type.split(";", 1)[0].strip() or "none"
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"send the upload as multipart/form-data (got content type {shown})")


ApiKey = Annotated[str, Depends(require_api_key)]
