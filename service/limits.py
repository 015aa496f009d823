"""Request body size limit, enforced before and while the body is read (pure ASGI middleware).

A declared Content-Length over the limit is answered 413 without reading a byte; a body that
turns out longer (chunked, or a lying header) is cut off when the count passes the limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_bytes: int):
        self.app = app
        self.limit_bytes = limit_bytes

    async def _reject(self, send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await self._reject(send, 400, "invalid Content-Length header")
                return
            if length > limit:
                await self._reject(send, 413, f"request body of {length:,} bytes is over the {limit:,} byte limit")
                return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app made of the cut-off body, the answer is 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._reject(send, 413, f"request body is over the {limit:,} byte limit")


class EarlyAuthMiddleware:
    """Refuse a request with a body (an upload, a calibration) from an unknown caller before
    reading a byte of it: FastAPI parses a form before its dependencies run, so without this an
    unauthenticated client could make the server read and spool a whole upload."""

    _WITH_BODY = frozenset({"POST", "PUT", "PATCH"})

    def __init__(self, app: ASGIApp, prefix: str, check, exempt: frozenset[str] = frozenset()):
        self.app = app
        self.prefix = prefix
        self.check = check  # async (method, headers) -> caller, or raises service.auth.AuthError
        self.exempt = exempt  # paths that take no credentials (signing in)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] in self._WITH_BODY and scope["path"].startswith(self.prefix)
                and scope["path"] not in self.exempt):
            from service.auth import SCOPE_KEY, AuthError

            try:
                scope[SCOPE_KEY] = await self.check(scope["method"], dict(scope.get("headers") or []))
            except AuthError as error:
                body = json.dumps({"detail": error.detail}).encode()
                extra = [(b"www-authenticate", b"APIKey")] if error.status == 401 else []
                await send({"type": "http.response.start", "status": error.status,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                        *extra, (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class StaticHeadersMiddleware:
    """The page's security headers on every file under /static as on / (an HTML file opened there
    directly must not be framed or load foreign scripts either)."""

    def __init__(self, app: ASGIApp, prefix: str, headers: dict[str, str]):
        self.app = app
        self.prefix = prefix
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in self.headers}
                message = {**message, "headers": [h for h in message.get("headers", []) if h[0].lower() not in names]
                           + self.headers}
            await send(message)

        await self.app(scope, receive, with_headers)
