"""Who is calling: a machine with an API key (X-API-Key: a settings key or a key from the
database), or a person signed in with a session cookie (and, for a change, the CSRF token).

One `authenticate` serves the dependency (service.deps) and the early check that refuses an
upload before its body is read (service.limits.EarlyAuthMiddleware).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from service.accounts import SESSION_HOURS, Accounts

API_KEY_HEADER = "X-API-Key"
CSRF_HEADER = "X-CSRF-Token"
SESSION_COOKIE = "desk_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MISSING_KEY = f"missing API key: send it in the {API_KEY_HEADER} header"
SCOPE_KEY = "desk_inspector.caller"  # the caller, once known, kept in the ASGI scope for the route


@dataclass(frozen=True)
class Caller:
    """Who sent a request. `via`: "settings-key", "key" (from the database) or "session"."""

    via: str
    name: str
    role: str  # "supervisor" or "admin"
    key: str | None = None  # the settings key itself, to tell admin settings keys apart
    csrf_token: str | None = None

    @property
    def label(self) -> str:
        """How the caller is named in records (corrections' author, keys' created_by): never the key."""
        if self.via == "settings-key":
            return f"key {hashlib.sha256((self.key or '').encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"
        return f"{'key' if self.via == 'key' else 'user'} {self.name}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class AuthError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "APIKey"} if self.status == 401 else {}


def _matches(given: str, accepted: list[str]) -> bool:
    given_bytes = given.encode("utf-8", "surrogateescape")
    # compare against every key so the time taken does not tell which one nearly matched
    found = False
    for key in accepted:
        found |= hmac.compare_digest(given_bytes, key.encode("utf-8"))
    return found


class CookieSigner:
    """Signs the session token put in the cookie with a secret kept in the database: a forged or
    altered cookie is refused before the database is asked, and restarts do not sign everyone out."""

    def __init__(self, accounts: Accounts):
        self._serializer = URLSafeTimedSerializer(accounts.secret("session-cookie"), salt="desk-inspector.session")

    def sign(self, token: str) -> str:
        return self._serializer.dumps(token)

    def unsign(self, value: str) -> str | None:
        try:
            token = self._serializer.loads(value, max_age=SESSION_HOURS * 3600)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None


def authenticate(method: str, api_key: str | None, cookie: str | None, csrf: str | None, *,
                 settings_keys: list[str], settings_admin_keys: list[str], accounts: Accounts | None,
                 signer: CookieSigner | None) -> Caller:
    """The caller, or AuthError (401: not known; 403: a cookie-authenticated change without its
    CSRF token). An API key, when sent, decides alone: a bad key is not rescued by a cookie."""
    if api_key:
        if _matches(api_key, settings_keys):
            # admin_api_keys empty: every settings key may do everything, as before accounts existed
            admin = not settings_admin_keys or _matches(api_key, settings_admin_keys)
            return Caller("settings-key", "settings key", "admin" if admin else "supervisor", key=api_key)
        record = accounts.check_key(api_key) if accounts is not None else None
        if record is None:
            raise AuthError(401, "invalid API key")
        return Caller("key", record.name, record.role)
    if cookie and accounts is not None and signer is not None:
        token = signer.unsign(cookie)
        found = accounts.session_user(token) if token else None
        if found is None:
            raise AuthError(401, "your session has ended: sign in again")
        user, session_csrf = found
        if method.upper() not in SAFE_METHODS and not (csrf and hmac.compare_digest(csrf, session_csrf)):
            raise AuthError(403, f"missing or wrong CSRF token: send the {CSRF_HEADER} header that "
                                 "GET /api/v1/session gives")
        return Caller("session", user.name, user.role, csrf_token=session_csrf)
    raise AuthError(401, MISSING_KEY)


class SignInLimiter:
    """At most `per_user` failed sign-ins per user name and `per_address` per client address in
    `window_s`; then refused until the oldest failure leaves the window. The address allows more: a
    hall's supervisors may all come through one proxy. Per process: with N workers an attacker gets
    N times as many tries, still a few dozen an hour instead of thousands."""

    def __init__(self, per_user: int = 5, per_address: int = 20, window_s: float = 300.0):
        self.limits = {"user": per_user, "address": per_address}
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, who: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(who, deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def wait_s(self, user: str, address: str) -> float:
        """Seconds until another try is allowed (0: now)."""
        now = time.monotonic()
        waits = []
        with self._lock:
            for who in (("user", user.casefold()), ("address", address)):
                failures = self._recent(who, now)
                if len(failures) >= self.limits[who[0]]:
                    waits.append(self.window_s - (now - failures[-self.limits[who[0]]]))
        return max(waits, default=0.0)

    def failed(self, user: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for who in (("user", user.casefold()), ("address", address)):
                self._recent(who, now).append(now)
            if len(self._failures) > 10_000:  # forget quiet entries rather than grow without end
                for key in [k for k, f in self._failures.items() if not f or now - f[-1] > self.window_s]:
                    del self._failures[key]

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(("user", user.casefold()), None)
