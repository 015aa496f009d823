"""Assembles the service: settings -> state loaded once -> routes, errors, limits, web page."""

from __future__ import annotations

import logging
import os
import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.requests import cookie_parser
from sqlalchemy.exc import OperationalError

from inspector.history import History
from service import errors
from service.api.router import api_router
from service.config import ENV_PREFIX, SETTINGS_FILE_ENV, Settings, settings_problem
from service.fonts import page_font
from service.accounts import Accounts
from service.auth import (CSRF_HEADER, MISSING_KEY, SESSION_COOKIE, AuthError, Caller, CookieSigner, SignInLimiter,
                          authenticate)
from service.limits import BodyLimitMiddleware, EarlyAuthMiddleware, StaticHeadersMiddleware
from service.state import ServiceState

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
log = logging.getLogger("service")


def _open_history(url: str) -> History:
    # worker processes start together: one may lose the race to create the table, then finds it made
    for attempt in range(5):
        try:
            return History(url)
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _docs_assets() -> Path | None:
    """Swagger UI's files as shipped by the fastapi-offline package, if it is installed."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).resolve().parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def _announce_generated_key(state: ServiceState, accounts: Accounts) -> None:
    """No settings keys: with users or keys in the database nobody needs a key made for this run
    only; on a fresh install it is logged once, with how to make the lasting ones."""
    if accounts.has_credentials():
        state.generated_key = None
        log.info("no API keys in the settings: people sign in, machines use keys made by an administrator")
        return
    log.warning("no users, no API keys in the database and none in the settings (DESK_INSPECTOR_API_KEYS); "
                "this run only accepts the key %s. Make the first administrator with "
                "`desk-inspector users add NAME --role admin`, then sign in on the page", state.generated_key)


async def _early_check(app: FastAPI, method: str, headers: dict[bytes, bytes]) -> Caller:
    """The caller of a request with a body, known before the body is read (or AuthError)."""
    if not hasattr(app.state, "service"):
        raise AuthError(503, "the service is starting")
    cookie = cookie_parser(headers.get(b"cookie", b"").decode("latin-1")).get(SESSION_COOKIE)
    api_key = headers.get(b"x-api-key", b"").decode("utf-8", "surrogateescape") or None
    csrf = headers.get(CSRF_HEADER.lower().encode(), b"").decode("latin-1") or None
    state: ServiceState = app.state.service
    if api_key is None and cookie is None:
        raise AuthError(401, MISSING_KEY)  # no database needed to say so
    return await anyio.to_thread.run_sync(lambda: authenticate(
        method, api_key, cookie, csrf, settings_keys=state.keys, settings_admin_keys=state.settings.admin_api_keys,
        accounts=app.state.accounts, signer=app.state.cookie_signer))


def create_app(settings: Settings | None = None, state: ServiceState | None = None) -> FastAPI:
    """The ASGI app. Cameras, standards, model and database are opened at start-up (lifespan),
    unless an already loaded `state` is given."""
    settings = settings or (state.settings if state is not None else Settings())
    preloaded = state

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # loading a model takes seconds: keep the loop free while it happens
        state = preloaded or await anyio.to_thread.run_sync(ServiceState.load, settings)
        state.limiter = anyio.CapacityLimiter(settings.inference_workers)
        history = await anyio.to_thread.run_sync(_open_history, settings.db_url)
        accounts = await anyio.to_thread.run_sync(Accounts, history.engine)
        app.state.accounts = accounts
        app.state.cookie_signer = await anyio.to_thread.run_sync(CookieSigner, accounts)
        app.state.sign_in_limiter = SignInLimiter()
        if state.generated_key:
            await anyio.to_thread.run_sync(_announce_generated_key, state, accounts)
        app.state.service = state
        app.state.history = history
        try:
            yield
        finally:
            history.engine.dispose()

    docs_assets = _docs_assets()
    app = FastAPI(
        title="Desk-layout inspector",
        version="1",
        description="Inspect counter desk photos against a 6S layout standard (定置管理). "
        "Machines send an API key in the `X-API-Key` header; people sign in (`POST /api/v1/session`) and "
        "send the CSRF token it gives in `X-CSRF-Token` with every change.",
        lifespan=lifespan,
        docs_url=None if docs_assets else "/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    if docs_assets:
        # Swagger UI from a local copy: the halls' networks may not reach a CDN
        app.mount("/docs-assets", StaticFiles(directory=docs_assets), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="Desk-layout inspector API",
                                       swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                       swagger_css_url="/docs-assets/swagger-ui.css",
                                       swagger_favicon_url="/static/favicon.svg")
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, limit_bytes=settings.request_limit_bytes)
    # outermost: an upload without a valid key or session is refused before the body limit even counts it
    app.add_middleware(EarlyAuthMiddleware, prefix="/api/v1/",
                       check=lambda method, headers: _early_check(app, method, headers),
                       exempt=frozenset({"/api/v1/session"}))  # signing in: no credentials yet
    app.add_middleware(StaticHeadersMiddleware, prefix="/static/", headers=PAGE_HEADERS)
    app.include_router(api_router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        # the page keeps an API key in localStorage: allow only its own scripts, styles and API
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache", **PAGE_HEADERS})

    @app.get("/fonts/cjk.ttf", include_in_schema=False)
    def cjk_font() -> Response:
        # the page's Chinese text in the bundled font (the one the pictures use): no boxes on a
        # machine without a CJK font, and no font CDN
        return Response(page_font(), media_type="font/ttf",
                        headers={"Cache-Control": "public, max-age=604800", "X-Content-Type-Options": "nosniff"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def run_server(host: str = "127.0.0.1", port: int = 8000, *, settings_file: str | Path | None = None,
               workers: int = 1, log_level: str = "info") -> None:
    """Serve the API and the web page with uvicorn.

    Inspections run in worker threads; `workers` > 1 starts that many processes (the detector and
    the geometry are CPU-bound Python: one process per core is what scales).
    """
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    if settings_file:
        # the environment carries it to the worker processes too
        os.environ[SETTINGS_FILE_ENV] = str(Path(settings_file).resolve())
    # a bad setting, camera folder or model stops here, with its message (InspectorError,
    # pydantic ValidationError), before anything listens
    try:
        settings = Settings()
    except ValidationError as error:
        raise ValueError(settings_problem(error)) from None
    common = dict(host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False)
    if workers <= 1:
        uvicorn.run(create_app(settings, ServiceState.load(settings)), **common)
        return
    if settings.model not in (None, "auto"):
        from models.registry import read_card, resolve_card

        read_card(resolve_card(settings.model))  # each worker process loads it; check it is there first
    if not settings.accepted_keys and not Accounts.open(settings.db_url).has_credentials():
        # one key for every worker process, shown once
        key = secrets.token_urlsafe(24)
        os.environ[f"{ENV_PREFIX}API_KEYS"] = key
        log.warning("no API key configured (DESK_INSPECTOR_API_KEYS); this run accepts the key %s", key)
    # each process's detector gets its share of the cores: N processes each starting a thread per
    # core would oversubscribe the machine (the batch's workers do the same, inspector.batch.runner)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    os.environ.setdefault(f"{ENV_PREFIX}DETECTOR_THREADS", str(max(1, cores // workers)))
    uvicorn.run("service.main:create_app", factory=True, workers=workers, **common)
