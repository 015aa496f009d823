"""Signing in and out (people), and the administrators' lists of users and API keys (machines)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, Security, status
from pydantic import BaseModel, ConfigDict, Field

from service.accounts import MAX_PASSWORD, SESSION_HOURS, Accounts, AccountError, ApiKey as KeyRecord, User
from service.auth import CSRF_HEADER, SESSION_COOKIE, AuthError, Caller, SignInLimiter
from service.deps import Admin, StateDep, caller_of, get_accounts, _api_key_header
from service.schemas import ErrorOut

Role = Literal["supervisor", "admin"]
WRONG = "wrong user name or password"

session_router = APIRouter(tags=["sign-in"])  # no credentials needed: this is where they are made
admin_router = APIRouter(tags=["users and keys"])

_ADMIN_ERRORS = {
    401: {"model": ErrorOut, "description": "not signed in and no valid API key"},
    403: {"model": ErrorOut, "description": "not an administrator, or a change without its CSRF token"},
}
_NOT_JSON = {400: {"model": ErrorOut, "description": "the body is not JSON"}}


# -- bodies ---------------------------------------------------------------------------------------
class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, description="user name")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class SessionOut(BaseModel):
    signed_in: bool = Field(description="a person is signed in, or an API key was sent")
    name: str | None = Field(None, description="the user name, or the key's name")
    role: Role | None = None
    via: Literal["session", "key", "settings-key"] | None = Field(None, description="how the caller is known")
    csrf_token: str | None = Field(None, description=f"send it in the {CSRF_HEADER} header with every change "
                                                     "(POST, PUT, PATCH, DELETE) made with the session cookie")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=MAX_PASSWORD)
    role: Role = "supervisor"


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disabled: bool | None = Field(None, description="true: may no longer sign in (their sessions end now)")
    role: Role | None = None
    password: str | None = Field(None, min_length=8, max_length=MAX_PASSWORD)


class UserOut(BaseModel):
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    created_by: str
    last_login_at: datetime | None


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, description="what uses it, e.g. 'hall dashboard'")
    role: Role = Field("supervisor", description="supervisor: inspect, correct, read; admin: also calibrate and "
                                                 "manage users and keys")


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the key's first characters, to tell it apart; the key itself is not kept")
    role: Role
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    active: bool


class NewKeyOut(KeyOut):
    key: str = Field(description="the key: shown this once, never again; send it in the X-API-Key header")


def _user_out(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role, disabled=user.disabled, created_at=user.created_at,
                   created_by=user.created_by, last_login_at=user.last_login_at)


def _key_out(record: KeyRecord) -> KeyOut:
    return KeyOut(id=record.id, name=record.name, prefix=record.prefix, role=record.role, created_at=record.created_at,
                  created_by=record.created_by, last_used_at=record.last_used_at, revoked_at=record.revoked_at,
                  revoked_by=record.revoked_by, active=record.active)


def _accounts(request: Request) -> Accounts:
    accounts = get_accounts(request)
    if accounts is None:  # pragma: no cover - the lifespan opens them before any request
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "accounts are not open yet")
    return accounts


AccountsDep = Annotated[Accounts, Depends(_accounts)]


async def _run(function, *args, **kwargs):
    try:
        return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))
    except AccountError as error:
        raise HTTPException(error.status, error.message) from None


def _limiter(request: Request) -> SignInLimiter:
    return request.app.state.sign_in_limiter


def _set_cookie(response: Response, request: Request, value: str, max_age: int) -> None:
    # HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it; Secure over HTTPS
    response.set_cookie(SESSION_COOKIE, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


# -- sign in and out ------------------------------------------------------------------------------
@session_router.post("/session", response_model=SessionOut, summary="Sign in with a user name and password",
                     responses={**_NOT_JSON, 401: {"model": ErrorOut, "description": WRONG},
                                403: {"model": ErrorOut, "description": "the account is disabled"},
                                429: {"model": ErrorOut, "description": "too many failed attempts: wait"}})
async def sign_in(request: Request, response: Response, body: SignInIn, accounts: AccountsDep) -> SessionOut:
    """Sets the session cookie (HttpOnly, SameSite=Strict) and gives the CSRF token for changes."""
    limiter = _limiter(request)
    name_key = body.name.strip()
    address = request.client.host if request.client else "?"
    wait_s = limiter.wait_s(name_key, address)
    if wait_s > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many failed sign-ins: try again in {int(wait_s) + 1} s",
                            headers={"Retry-After": str(int(wait_s) + 1)})
    user = await anyio.to_thread.run_sync(accounts.verify, body.name, body.password)
    if user is None:
        limiter.failed(name_key, address)
        await anyio.sleep(0.3)  # a little more on each failure; the argon2 work already took as long
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG)
    if user.disabled:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the account {user.name!r} is disabled: ask an administrator")
    limiter.succeeded(name_key)
    signed = await anyio.to_thread.run_sync(accounts.start_session, user)
    _set_cookie(response, request, request.app.state.cookie_signer.sign(signed.token), SESSION_HOURS * 3600)
    return SessionOut(signed_in=True, name=user.name, role=user.role, via="session", csrf_token=signed.csrf_token)


@session_router.get("/session", response_model=SessionOut, summary="Who is signed in, and the CSRF token")
def who_am_i(request: Request, state: StateDep,
             key: Annotated[str | None, Security(_api_key_header)] = None) -> SessionOut:
    """Never 401: `signed_in` false when nobody is (the page then shows its sign-in form)."""
    try:
        caller: Caller = caller_of(request, state, key)
    except AuthError:
        return SessionOut(signed_in=False)
    return SessionOut(signed_in=True, name=caller.name, role=caller.role, via=caller.via, csrf_token=caller.csrf_token)


@session_router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out",
                       responses={403: {"model": ErrorOut, "description": "no CSRF token"}})
async def sign_out(request: Request, state: StateDep, accounts: AccountsDep) -> Response:
    """Ends the session on the server (the cookie is worthless afterwards) and clears the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if cookie:
        try:
            caller_of(request, state, None)  # the CSRF token is checked: no other site signs people out
        except AuthError as error:
            if error.status == 403:
                raise HTTPException(error.status, error.detail) from None
        token = request.app.state.cookie_signer.unsign(cookie)
        if token:
            await anyio.to_thread.run_sync(accounts.end_session, token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# -- users ------------------------------------------------------------------------------------------
@admin_router.get("/users", response_model=list[UserOut], responses=_ADMIN_ERRORS, summary="List users")
async def list_users(_admin: Admin, accounts: AccountsDep) -> list[UserOut]:
    return [_user_out(u) for u in await _run(accounts.users)]


@admin_router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Add a user",
                   responses={**_ADMIN_ERRORS, **_NOT_JSON, 409: {"model": ErrorOut, "description": "the name is taken"}})
async def add_user(admin: Admin, accounts: AccountsDep, body: UserIn) -> UserOut:
    return _user_out(await _run(accounts.add_user, body.name, body.password, body.role, admin.label))


@admin_router.patch("/users/{name}", response_model=UserOut, summary="Disable, enable, change role or password",
                    responses={**_ADMIN_ERRORS, **_NOT_JSON, 404: {"model": ErrorOut, "description": "no such user"},
                               409: {"model": ErrorOut, "description": "the last active administrator"}})
async def change_user(_admin: Admin, accounts: AccountsDep, body: UserPatch,
                      name: Annotated[str, Path(max_length=64)]) -> UserOut:
    return _user_out(await _run(accounts.update_user, name, disabled=body.disabled, role=body.role,
                                password=body.password))


# -- API keys ---------------------------------------------------------------------------------------
@admin_router.get("/keys", response_model=list[KeyOut], responses=_ADMIN_ERRORS, summary="List API keys")
async def list_keys(_admin: Admin, accounts: AccountsDep) -> list[KeyOut]:
    """Every key made in the database, revoked ones too (the keys themselves are not kept)."""
    return [_key_out(k) for k in await _run(accounts.keys)]


@admin_router.post("/keys", response_model=NewKeyOut, status_code=status.HTTP_201_CREATED,
                   responses={**_ADMIN_ERRORS, **_NOT_JSON},
                   summary="Make an API key for a dashboard or script")
async def create_key(admin: Admin, accounts: AccountsDep, body: KeyIn) -> NewKeyOut:
    """The answer holds the key itself, this once: copy it into the dashboard's configuration."""
    key, record = await _run(accounts.create_key, body.name, body.role, admin.label)
    return NewKeyOut(**_key_out(record).model_dump(), key=key)


@admin_router.delete("/keys/{key_id}", response_model=KeyOut, summary="Revoke an API key",
                     responses={**_ADMIN_ERRORS, 404: {"model": ErrorOut, "description": "no such key"}})
async def revoke_key(admin: Admin, accounts: AccountsDep,
                     key_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> KeyOut:
    """From the next request on, the key is refused (401); its record stays in the list."""
    return _key_out(await _run(accounts.revoke_key, key_id, admin.label))
