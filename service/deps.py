"""Injected dependencies: settings, the loaded state, the history, and the caller's API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from inspector.history import History
from service.accounts import Accounts
from service.auth import CSRF_HEADER, SCOPE_KEY, SESSION_COOKIE, AuthError, Caller, authenticate
from service.config import Settings
from service.state import ServiceState

API_KEY_HEADER = "X-API-Key"
_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="A machine's API key: one an administrator made (page, `desk-inspector keys create`) "
                "or one from the settings (`api_keys`).",
)


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    state.refresh_cameras()  # sees calibrations saved by other worker processes
    state.refresh_model()  # and a model promoted (or rolled back) since: a stat per request
    return state


def get_settings(state: Annotated[ServiceState, Depends(get_state)]) -> Settings:
    return state.settings


def get_history(request: Request) -> History:
    return request.app.state.history


StateDep = Annotated[ServiceState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
HistoryDep = Annotated[History, Depends(get_history)]


def get_accounts(request: Request) -> Accounts | None:
    return getattr(request.app.state, "accounts", None)


def caller_of(request: Request, state: ServiceState, key: str | None) -> Caller:
    """The caller (known already when the early check saw an upload), or AuthError."""
    known = request.scope.get(SCOPE_KEY)
    if known is not None:
        return known
    caller = authenticate(request.method, key, request.cookies.get(SESSION_COOKIE), request.headers.get(CSRF_HEADER),
                          settings_keys=state.keys, settings_admin_keys=state.settings.admin_api_keys,
                          accounts=get_accounts(request), signer=getattr(request.app.state, "cookie_signer", None))
    request.scope[SCOPE_KEY] = caller
    return caller


def require_api_key(request: Request, state: StateDep,
                    key: Annotated[str | None, Security(_api_key_header)] = None) -> Caller:
    """An API key (settings or database) or a signed-in person (the session cookie, read from the
    request: the schema keeps the key as the machines' way in); a cookie-authenticated change also
    needs its CSRF token."""
    try:
        return caller_of(request, state, key)
    except AuthError as error:
        raise HTTPException(error.status, error.detail, headers=error.headers) from None


def require_admin_key(caller: Annotated[Caller, Depends(require_api_key)]) -> Caller:
    if not caller.is_admin:
        if caller.via == "settings-key":
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "this API key may not change calibrations (settings admin_api_keys)")
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"administrators only: {caller.label} is a {caller.role}")
    return caller


def require_multipart(request: Request) -> None:
    """File uploads are multipart/form-data; anything else is refused before the fields are looked at."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        shown = content_type.split(";", 1)[0].strip() or "none"
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"send the upload as multipart/form-data (got content type {shown})")


ApiKey = Annotated[Caller, Depends(require_api_key)]
Admin = Annotated[Caller, Depends(require_admin_key)]
