"""Inspection history shared by the service and the batch runner (SQLAlchemy; SQLite by default,
PostgreSQL unchanged through the database URL).

Every inspection is one row, committed on its own, keyed so that the same snapshot of the same
camera is never stored twice (`key`), which makes batch runs resumable and idempotent.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Boolean, DateTime, Float, Integer, String, Text, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

# Outcomes besides a normal verdict: never reported as violations (batch issue).
STATUSES = ("ok", "error", "cannot_judge", "occluded", "camera_moved")


class Base(DeclarativeBase):
    pass


class InspectionRow(Base):
    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    camera_id: Mapped[str] = mapped_column(String(128), index=True)
    image_name: Mapped[str] = mapped_column(String(1024))
    image_sha256: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True, nullable=True)
    inspected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(32), default="ok")
    compliant: Mapped[bool | None] = mapped_column(Boolean, index=True, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    violation_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")  # the reason when status is not ok
    report_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    annotated_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    desk_map_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    origin: Mapped[str] = mapped_column(String(32), default="api")  # api | batch | cli
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    def report(self) -> dict | None:
        return json.loads(self.report_json) if self.report_json else None


class RunLockRow(Base):
    """One running batch per site and database: the second run is told who holds it."""

    __tablename__ = "run_locks"

    site_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RunLocked(Exception):
    """Another live batch run holds the site's lock in this database."""

    def __init__(self, holder: RunLockRow):
        self.holder = holder
        started = holder.started_at.strftime("%Y-%m-%d %H:%M:%S")
        super().__init__(f"another batch run ({holder.run_id}, pid {holder.pid} on {holder.host}, started {started} UTC) "
                         f"is inspecting site '{holder.site_id}' into this database; wait for it to finish "
                         f"(a lock left by a killed run expires {LOCK_STALE_S} s after its last heartbeat)")


LOCK_HEARTBEAT_S = 15
LOCK_STALE_S = 60


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)  # SQLite drops the offset


def _holder_alive(row: RunLockRow, now: datetime) -> bool:
    if row.host == socket.gethostname():  # on this machine the process itself can be asked
        try:
            os.kill(row.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return (now - _aware(row.heartbeat_at)).total_seconds() < LOCK_STALE_S


DATABASE_ENV = "DESK_INSPECTOR_DATABASE_URL"
DEFAULT_DATABASE = Path("out") / "history.db"


def default_database_url() -> str:
    """The one history the batch, the service and the CLI share unless told otherwise:
    $DESK_INSPECTOR_DATABASE_URL, else SQLite at out/history.db under the current folder (the
    README's commands all run from the project folder, so they meet in one database)."""
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{DEFAULT_DATABASE.resolve()}"


def inspection_key(camera_id: str, image_sha256: str, origin: str) -> str:
    """Same camera + same image bytes + same origin = the same inspection."""
    return hashlib.sha256(f"{origin}\x00{camera_id}\x00{image_sha256}".encode()).hexdigest()


@dataclass(frozen=True)
class Page:
    rows: list[InspectionRow]
    total: int


class History:
    def __init__(self, url: str):
        connect_args = {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}
        if url.startswith("sqlite"):  # a new SQLite file's folder (the default out/) may not exist yet
            database = make_url(url).database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, connect_args=connect_args)
        if url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(connection, _record):  # WAL: readers never block the writer; durable commits
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()
        Base.metadata.create_all(self.engine)

    def add(self, **fields) -> InspectionRow:
        """Insert one inspection (committed before returning); an existing key returns the old row."""
        fields.setdefault("inspected_at", datetime.now(timezone.utc))
        with Session(self.engine, expire_on_commit=False) as session:
            row = InspectionRow(**fields)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return session.scalars(select(InspectionRow).where(InspectionRow.key == fields["key"])).one()
            return row

    def acquire_run_lock(self, site_id: str, run_id: str) -> None:
        """Take the site's run lock, or raise RunLocked naming the live holder; a lock whose
        holder is gone (its process ended on this host, or no heartbeat for LOCK_STALE_S) is taken over."""
        now = datetime.now(timezone.utc)
        mine = dict(site_id=site_id, run_id=run_id, host=socket.gethostname(), pid=os.getpid(),
                    started_at=now, heartbeat_at=now)
        with Session(self.engine) as session:
            session.add(RunLockRow(**mine))
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()
        with Session(self.engine) as session, session.begin():
            holder = session.get(RunLockRow, site_id, with_for_update=True)
            if holder is None:  # released meanwhile
                session.add(RunLockRow(**mine))
                return
            if _holder_alive(holder, now):
                session.expunge(holder)
                raise RunLocked(holder)
            for name, value in mine.items():
                setattr(holder, name, value)

    def beat_run_lock(self, site_id: str, run_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(RunLockRow, site_id)
            if row is not None and row.run_id == run_id:
                row.heartbeat_at = datetime.now(timezone.utc)

    def release_run_lock(self, site_id: str, run_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(RunLockRow, site_id)
            if row is not None and row.run_id == run_id:
                session.delete(row)

    def has_key(self, key: str) -> bool:
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).where(InspectionRow.key == key)) > 0

    def keys(self) -> set[str]:
        with Session(self.engine) as session:
            return set(session.scalars(select(InspectionRow.key)))

    def get(self, inspection_id: int) -> InspectionRow | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(InspectionRow, inspection_id)

    def list(
        self,
        camera_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        compliant: bool | None = None,
        status: str | None = None,
        run_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """Newest first; time filters apply to the capture time, else the inspection time."""
        when = func.coalesce(InspectionRow.captured_at, InspectionRow.inspected_at)
        query = select(InspectionRow)
        if camera_id is not None:
            query = query.where(InspectionRow.camera_id == camera_id)
        if since is not None:
            query = query.where(when >= since)
        if until is not None:
            query = query.where(when < until)
        if compliant is not None:
            query = query.where(InspectionRow.compliant == compliant)
        if status is not None:
            query = query.where(InspectionRow.status == status)
        if run_id is not None:
            query = query.where(InspectionRow.run_id == run_id)
        with Session(self.engine, expire_on_commit=False) as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(when.desc(), InspectionRow.id.desc()).limit(limit).offset(offset)).all()
            return Page(rows=list(rows), total=int(total))

    def latest_per_camera(self) -> dict[str, InspectionRow]:
        when = func.coalesce(InspectionRow.captured_at, InspectionRow.inspected_at)
        with Session(self.engine, expire_on_commit=False) as session:
            latest: dict[str, InspectionRow] = {}
            for row in session.scalars(select(InspectionRow).order_by(when.desc(), InspectionRow.id.desc())):
                latest.setdefault(row.camera_id, row)
            return latest
