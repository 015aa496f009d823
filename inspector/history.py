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

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, create_engine,
                        event, func, inspect as inspect_schema, select, text)
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column

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
    # the photo itself as stored by the service (relative to its data folder); batch rows point at
    # the snapshot file through image_name. Corrections re-inspect it and the dataset export copies it.
    image_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)

    def report(self) -> dict | None:
        return json.loads(self.report_json) if self.report_json else None


# "latest per camera" reads this index alone, not the rows (with their reports)
LATEST_INDEX = Index("ix_inspections_camera_when", InspectionRow.camera_id,
                     func.coalesce(InspectionRow.captured_at, InspectionRow.inspected_at), InspectionRow.id)


class CorrectionRow(Base):
    """One person's correction of one inspection: the whole item list after it, and the report that
    list gives. Revisions count from 1 per inspection; (inspection, revision) is unique, so of two
    people correcting the same revision at once the second is told, never silently overwritten."""

    __tablename__ = "corrections"
    __table_args__ = (UniqueConstraint("inspection_id", "revision", name="one_correction_per_revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[int] = mapped_column(Integer, ForeignKey("inspections.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    model_name: Mapped[str | None] = mapped_column(String(128), nullable=True)  # what made the original boxes
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actions_json: Mapped[str] = mapped_column(Text)  # what the person did, as sent
    items_json: Mapped[str] = mapped_column(Text)  # every item after it (inspector.corrections.CorrectedItem)
    next_item_id: Mapped[int] = mapped_column(Integer)
    verdict_confirmed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    original_verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    corrected_verdict: Mapped[str] = mapped_column(String(16))
    report_json: Mapped[str] = mapped_column(Text)  # the corrected report

    def report(self) -> dict:
        return json.loads(self.report_json)

    def items(self) -> list[dict]:
        return json.loads(self.items_json)

    def actions(self) -> list[dict]:
        return json.loads(self.actions_json)


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
        self._add_missing_columns()
        with self.engine.begin() as connection:  # a history made before the index gets it too
            connection.execute(CreateIndex(LATEST_INDEX, if_not_exists=True))

    def _add_missing_columns(self) -> None:
        """A history written before a column existed gets it (nullable, so old rows stay valid):
        create_all makes missing tables, never missing columns."""
        present = {c["name"] for c in inspect_schema(self.engine).get_columns(InspectionRow.__tablename__)}
        with self.engine.begin() as connection:
            for column in InspectionRow.__table__.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(dialect=self.engine.dialect)
                    connection.execute(text(f'ALTER TABLE {InspectionRow.__tablename__} ADD COLUMN "{column.name}" {kind}'))

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
        """Each camera's latest inspection by capture time (else inspection time; the higher id on a
        tie), found by the database: for each camera one step down LATEST_INDEX, and one row read per
        camera, never the whole history."""
        other = aliased(InspectionRow)
        cameras = select(InspectionRow.camera_id).distinct().subquery()
        latest_id = (select(other.id).where(other.camera_id == cameras.c.camera_id)
                     .order_by(func.coalesce(other.captured_at, other.inspected_at).desc(), other.id.desc())
                     .limit(1).correlate(cameras).scalar_subquery())
        query = select(InspectionRow).where(InspectionRow.id.in_(select(latest_id).select_from(cameras)))
        with Session(self.engine, expire_on_commit=False) as session:
            return {row.camera_id: row for row in session.scalars(query)}


class RevisionTaken(Exception):
    """The revision a correction was made on is no longer the latest."""

    def __init__(self, latest: "CorrectionRow"):
        self.latest = latest
        super().__init__(f"revision {latest.revision} already exists")


def _corrections_of(session: Session, inspection_id: int) -> list[CorrectionRow]:
    query = select(CorrectionRow).where(CorrectionRow.inspection_id == inspection_id).order_by(CorrectionRow.revision)
    return list(session.scalars(query))


def corrections(history: History, inspection_id: int) -> list[CorrectionRow]:
    """Every correction of one inspection, oldest first."""
    with Session(history.engine, expire_on_commit=False) as session:
        return _corrections_of(session, inspection_id)


def add_correction(history: History, **fields) -> CorrectionRow:
    """Insert a correction at fields['revision']; RevisionTaken (with the latest correction) when
    someone else stored that revision first. Committed before returning."""
    fields.setdefault("created_at", datetime.now(timezone.utc))
    with Session(history.engine, expire_on_commit=False) as session:
        row = CorrectionRow(**fields)
        session.add(row)
        try:
            session.commit()
            return row
        except IntegrityError:
            session.rollback()
            return_latest = _corrections_of(session, fields["inspection_id"])[-1]
            raise RevisionTaken(return_latest) from None


def list_corrections(history: History, since: datetime | None = None, camera_id: str | None = None,
                     limit: int = 100, offset: int = 0) -> tuple[list[tuple[CorrectionRow, InspectionRow]], int]:
    """Corrections newest first, with their inspections; filtered by time stored and camera."""
    query = select(CorrectionRow, InspectionRow).join(InspectionRow, InspectionRow.id == CorrectionRow.inspection_id)
    if since is not None:
        query = query.where(CorrectionRow.created_at >= since)
    if camera_id is not None:
        query = query.where(InspectionRow.camera_id == camera_id)
    with Session(history.engine, expire_on_commit=False) as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.execute(query.order_by(CorrectionRow.created_at.desc(), CorrectionRow.id.desc())
                               .limit(limit).offset(offset)).all()
        return [(c, i) for c, i in rows], int(total)


def latest_corrections(history: History, inspection_ids: list[int] | None = None) -> dict[int, CorrectionRow]:
    """The latest correction of each corrected inspection (of those given, or all)."""
    latest_revision = (select(CorrectionRow.inspection_id, func.max(CorrectionRow.revision).label("revision"))
                       .group_by(CorrectionRow.inspection_id))
    if inspection_ids is not None:
        latest_revision = latest_revision.where(CorrectionRow.inspection_id.in_(inspection_ids))
    latest_revision = latest_revision.subquery()
    query = select(CorrectionRow).join(latest_revision, (CorrectionRow.inspection_id == latest_revision.c.inspection_id)
                                       & (CorrectionRow.revision == latest_revision.c.revision))
    with Session(history.engine, expire_on_commit=False) as session:
        return {row.inspection_id: row for row in session.scalars(query)}


def stored_file(data_dir: Path, stored: str | None) -> Path | None:
    """A picture path from the history: relative to the data folder (service) or absolute (batch)."""
    if not stored:
        return None
    path = Path(stored)
    if not path.is_absolute():
        root = data_dir.resolve()
        path = (root / path).resolve()
        if not path.is_relative_to(root):
            return None
    return path if path.is_file() else None


def original_photo(data_dir: Path, row: InspectionRow) -> Path | None:
    """The photo an inspection was made from, where this server still has it: the service's stored
    copy, or the batch's snapshot file when its bytes are still the ones inspected."""
    if row.image_path:
        return stored_file(data_dir, row.image_path)
    if row.origin in ("batch", "cli"):
        path = Path(row.image_name)
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == row.image_sha256:
            return path
    return None
