"""People and machines allowed in: user accounts (argon2 password hashes), API keys (stored only as
their sha256, shown once when made), sign-in sessions, and the secret that signs session cookies.

They live in the history database (the one URL the batch, the service and the CLI share), in
their own tables, so that keys and accounts survive restarts and every worker process sees them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pwdlib import PasswordHash
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from inspector.errors import InspectorError

ROLES = ("supervisor", "admin")  # supervisor: inspect, correct, view; admin: also calibrations, users, keys
KEY_PREFIX = "dik_"  # desk-inspector key: recognisable in a config file or a leak scanner
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is only a way to burn CPU
SESSION_HOURS = 12  # one working day; signing in again after that is no burden
LAST_USED_EVERY_S = 60  # a key's last_used_at is written at most this often, not on every request

_hasher = PasswordHash.recommended()  # argon2id with the library's current parameters
# verified against when the user does not exist, so a wrong name takes as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(InspectorError):
    """A request about accounts or keys that cannot be done (bad name, duplicate, unknown...)."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


class _Base(DeclarativeBase):
    pass


class UserRow(_Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # case-folded: Alice == alice
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApiKeyRow(_Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell keys apart in a list
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class SessionRow(_Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token in the cookie
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SecretRow(_Base):
    """Secrets the service keeps across restarts and shares between worker processes."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime
    created_by: str
    last_login_at: datetime | None


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class SignIn:
    """A new session: the token goes into the (signed) cookie, the CSRF token to the page."""

    token: str
    csrf_token: str
    user: User
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite gives times back without their offset; they were written in UTC
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _user(row: UserRow) -> User:
    return User(row.id, row.name, row.role, row.disabled, _aware(row.created_at), row.created_by, _aware(row.last_login_at))


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, row.prefix, row.role, _aware(row.created_at), row.created_by,
                  _aware(row.last_used_at), _aware(row.revoked_at), row.revoked_by)


def check_name(name: str, what: str = "user name") -> str:
    name = unicodedata.normalize("NFC", name.strip()) if isinstance(name, str) else ""
    if not 1 <= len(name) <= 64:
        raise AccountError(f"{what}: 1 to 64 characters, got {len(name)}")
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in name):
        raise AccountError(f"{what}: no control characters, tabs or line breaks")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role: one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


class Accounts:
    """Users, API keys and sessions in the history database (tables made if missing)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        _Base.metadata.create_all(engine)

    @classmethod
    def open(cls, url: str) -> "Accounts":
        from inspector.history import History  # makes the SQLite folder and sets its pragmas

        return cls(History(url).engine)

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- users -----------------------------------------------------------------------------------
    def add_user(self, name: str, password: str, role: str, created_by: str) -> User:
        name, role, password = check_name(name), check_role(role), check_password(password)
        row = UserRow(name=name, name_key=name.casefold(), password_hash=_hasher.hash(password), role=role,
                      disabled=False, created_at=_now(), created_by=created_by)
        with self._session() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                raise AccountError(f"a user named {name!r} already exists", 409) from None
            return _user(row)

    def users(self) -> list[User]:
        with self._session() as session:
            return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.name_key))]

    def user(self, name: str) -> User | None:
        with self._session() as session:
            row = session.scalars(select(UserRow).where(UserRow.name_key == name.strip().casefold())).first()
            return _user(row) if row else None

    def update_user(self, name: str, *, disabled: bool | None = None, role: str | None = None,
                    password: str | None = None) -> User:
        """Disable or enable, change the role or the password. Disabling, demoting or a new password
        ends the user's sessions; the last active administrator is never disabled or demoted."""
        with self._session() as session:
            row = session.scalars(select(UserRow).where(UserRow.name_key == name.strip().casefold())).first()
            if row is None:
                raise AccountError(f"no user named {name!r}", 404)
            if role is not None:
                check_role(role)
            losing_admin = row.role == "admin" and not row.disabled and (disabled or (role and role != "admin"))
            if losing_admin:
                admins = session.scalar(select(func.count()).select_from(UserRow)
                                        .where(UserRow.role == "admin", UserRow.disabled.is_(False)))
                if admins <= 1:
                    raise AccountError(f"{row.name} is the last active administrator: make another one first", 409)
            if disabled is not None:
                row.disabled = disabled
            if role is not None:
                row.role = role
            if password is not None:
                row.password_hash = _hasher.hash(check_password(password))
            if disabled or role is not None or password is not None:
                session.query(SessionRow).filter(SessionRow.user_id == row.id).delete()
            session.commit()
            return _user(row)

    def verify(self, name: str, password: str) -> User | None:
        """The user if the name and password match (disabled users too: the caller says why not);
        None otherwise, after the same argon2 work whether or not the name exists."""
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            return None
        with self._session() as session:
            row = session.scalars(select(UserRow).where(UserRow.name_key == name.strip().casefold())).first()
            stored = row.password_hash if row is not None else _DUMMY_HASH
            valid, new_hash = _hasher.verify_and_update(password, stored)
            if row is None or not valid:
                return None
            if new_hash:  # the library's parameters moved on: store the stronger hash
                row.password_hash = new_hash
                session.commit()
            return _user(row)

    # -- sessions --------------------------------------------------------------------------------
    def start_session(self, user: User) -> SignIn:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        expires = now + timedelta(hours=SESSION_HOURS)
        with self._session() as session:
            session.query(SessionRow).filter(SessionRow.expires_at < now).delete()  # tidy as we go
            session.add(SessionRow(id=_sha256(token), user_id=user.id, csrf_token=csrf, created_at=now, expires_at=expires))
            session.execute(update(UserRow).where(UserRow.id == user.id).values(last_login_at=now))
            session.commit()
        return SignIn(token, csrf, user, expires)

    def session_user(self, token: str) -> tuple[User, str] | None:
        """(user, CSRF token) of a live session of an enabled user, else None."""
        with self._session() as session:
            found = session.get(SessionRow, _sha256(token))
            if found is None or _aware(found.expires_at) <= _now():
                return None
            row = session.get(UserRow, found.user_id)
            if row is None or row.disabled:
                return None
            return _user(row), found.csrf_token

    def end_session(self, token: str) -> None:
        with self._session() as session:
            session.query(SessionRow).filter(SessionRow.id == _sha256(token)).delete()
            session.commit()

    # -- API keys --------------------------------------------------------------------------------
    def create_key(self, name: str, role: str, created_by: str) -> tuple[str, ApiKey]:
        """A new key: (the key itself, shown this once and never stored; its record)."""
        name, role = check_name(name, "key name"), check_role(role)
        key = KEY_PREFIX + secrets.token_urlsafe(30)
        row = ApiKeyRow(name=name, prefix=key[:10], key_sha256=_sha256(key), role=role, created_at=_now(),
                        created_by=created_by)
        with self._session() as session:
            session.add(row)
            session.commit()
            return key, _key(row)

    def keys(self, include_revoked: bool = True) -> list[ApiKey]:
        with self._session() as session:
            query = select(ApiKeyRow).order_by(ApiKeyRow.id)
            if not include_revoked:
                query = query.where(ApiKeyRow.revoked_at.is_(None))
            return [_key(r) for r in session.scalars(query)]

    def revoke_key(self, key_id: int, revoked_by: str) -> ApiKey:
        with self._session() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise AccountError(f"no API key with id {key_id}", 404)
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = _now(), revoked_by
                session.commit()
            return _key(row)

    def check_key(self, key: str) -> ApiKey | None:
        """The active key record for this key, else None; notes when it was last used."""
        if not key.startswith(KEY_PREFIX):
            return None
        digest = _sha256(key)
        with self._session() as session:
            row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.key_sha256 == digest)).first()
            # the index found it by digest; compare again in constant time all the same
            if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_sha256, digest):
                return None
            now = _now()
            last = _aware(row.last_used_at)
            if last is None or (now - last).total_seconds() > LAST_USED_EVERY_S:
                row.last_used_at = now
                session.commit()
            return _key(row)

    def has_credentials(self) -> bool:
        """Whether anyone can get in through the database: an enabled user or an active key."""
        with self._session() as session:
            return bool(session.scalar(select(func.count()).select_from(UserRow).where(UserRow.disabled.is_(False)))
                        or session.scalar(select(func.count()).select_from(ApiKeyRow)
                                          .where(ApiKeyRow.revoked_at.is_(None))))

    # -- secrets ---------------------------------------------------------------------------------
    def secret(self, name: str) -> str:
        """A random secret made once and kept: every restart and worker process signs with the same."""
        with self._session() as session:
            row = session.get(SecretRow, name)
            if row is not None:
                return row.value
            session.add(SecretRow(name=name, value=secrets.token_urlsafe(48)))
            try:
                session.commit()
            except IntegrityError:  # another worker process made it first: use theirs
                session.rollback()
            return session.get(SecretRow, name).value
