"""Finding a night's snapshots: each camera's files, their capture times and content hashes, and
every file or folder that cannot take part (listed in the report, never silently dropped)."""

from __future__ import annotations

import glob
import hashlib
import io
import os
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from inspector.batch.site import Site, TimestampSpec, is_glob
from inspector.frames import IMAGE_SUFFIXES
from inspector.history import inspection_key

ORIGIN = "batch"
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED, _DATETIME = 36867, 36868, 306
_OFFSET_TIME_ORIGINAL = 36881


@dataclass(frozen=True)
class Snapshot:
    """One snapshot to inspect (or already inspected): the unit of work and of resume."""

    camera_id: str
    path: Path
    sha256: str
    captured_at: datetime  # timezone-aware
    time_source: str  # "name" | "exif" | "mtime"
    size_bytes: int

    @property
    def key(self) -> str:
        return inspection_key(self.camera_id, self.sha256, ORIGIN)


@dataclass(frozen=True)
class Problem:
    """A file or folder that could not take part, with the reason (for the "could not inspect" list)."""

    kind: str  # unreadable_folder | unreadable_file | unknown_camera | duplicate
    path: str
    camera_id: str | None
    message: str
    captured_at: datetime | None = None


@dataclass(frozen=True)
class Discovery:
    snapshots: tuple[Snapshot, ...]
    problems: tuple[Problem, ...]


def _parse_name_time(name: str, spec: TimestampSpec) -> datetime | None:
    if spec.regex is None:
        return None
    match = spec.regex.search(name)
    if match is None:
        return None
    if "ts" in spec.regex.groupindex:
        text = match.group("ts")
    elif spec.regex.groups:
        text = match.group(1)
    else:
        text = match.group(0)
    try:
        if spec.format:
            return datetime.strptime(text, spec.format)
        date, _, clock = text.replace("_", "T").replace(" ", "T").partition("T")
        return datetime.fromisoformat(f"{date}T{clock.replace('-', ':')}")
    except (ValueError, TypeError):
        return None


def _exif_time(path: Path | BinaryIO) -> datetime | None:
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            text = sub.get(_DATETIME_ORIGINAL) or sub.get(_DATETIME_DIGITIZED) or exif.get(_DATETIME)
            offset = sub.get(_OFFSET_TIME_ORIGINAL)
    except Exception:  # any unreadable header simply has no EXIF time
        return None
    if not text:
        return None
    try:
        moment = datetime.strptime(str(text).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        if offset:
            moment = datetime.fromisoformat(moment.isoformat() + str(offset).strip("\x00 "))
        return moment
    except ValueError:
        return None


def capture_time(path: Path, spec: TimestampSpec, zone: tzinfo, stat: os.stat_result | None = None) -> tuple[datetime, str]:
    """(aware capture time, where it came from). Naive times are in the site's time zone."""
    found, source = None, "mtime"
    if spec.source in ("auto", "name"):
        found, source = _parse_name_time(path.name, spec), "name"
    if found is None and spec.source in ("auto", "exif"):
        found, source = _exif_time(path), "exif"
    if found is None:
        mtime = (stat or path.stat()).st_mtime
        return datetime.fromtimestamp(mtime, tz=timezone.utc), "mtime"
    if found.tzinfo is None:
        found = found.replace(tzinfo=zone)
    return found, source


def upload_capture_time(name: str, data: bytes, zone: tzinfo | None = None) -> tuple[datetime | None, str]:
    """(aware capture time, "name" | "exif") of an uploaded photo, by the batch's default file-name
    pattern (e.g. 2026-11-20T08-30-00.jpg) and then its EXIF DateTimeOriginal; (None, "") if neither
    says. Naive times are in `zone` (default: this machine's)."""
    zone = zone or datetime.now().astimezone().tzinfo
    found, source = _parse_name_time(name, TimestampSpec()), "name"
    if found is None:
        found, source = _exif_time(io.BytesIO(data)), "exif"
    if found is None:
        return None, ""
    return (found if found.tzinfo is not None else found.replace(tzinfo=zone)), source


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _glob_base(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard."""
    parts = Path(pattern).parts
    base = []
    for part in parts:
        if glob.has_magic(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def _folder_problem(folder: Path, camera_id: str | None) -> Problem | None:
    if not folder.exists():
        return Problem("unreadable_folder", str(folder), camera_id, "snapshot folder not found / 文件夹不存在")
    if not folder.is_dir():
        return Problem("unreadable_folder", str(folder), camera_id, "is a file, not a snapshot folder / 不是文件夹")
    try:
        with os.scandir(folder):
            pass
    except OSError as error:
        return Problem("unreadable_folder", str(folder), camera_id, f"cannot read the folder ({error.strerror}) / 无法读取文件夹")
    return None


def list_camera_files(snapshots: str, camera_id: str) -> tuple[list[Path], list[Problem]]:
    """The files a camera's `snapshots` entry names: every non-hidden file of a folder (recursively;
    non-images included, so that a stray file is reported) or the files a glob matches."""
    problems: list[Problem] = []
    if is_glob(snapshots):
        base = _glob_base(snapshots)
        problem = _folder_problem(base, camera_id)
        if problem:
            return [], [problem]
        files = sorted(Path(p) for p in glob.glob(snapshots, recursive=True) if Path(p).is_file())
        return [f for f in files if not f.name.startswith(".")], problems
    folder = Path(snapshots)
    problem = _folder_problem(folder, camera_id)
    if problem:
        return [], [problem]

    def on_error(error: OSError) -> None:
        problems.append(Problem("unreadable_folder", str(error.filename), camera_id,
                                f"cannot read the folder ({error.strerror}) / 无法读取文件夹"))

    files = []
    for root, dirs, names in os.walk(folder, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
    return files, problems


def _in_window(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= since) and (until is None or moment < until)


def discover(site: Site, since: datetime | None = None, until: datetime | None = None) -> Discovery:
    """Every camera's snapshots captured in [since, until), hashed; plus what cannot take part."""
    zone = site.tz
    snapshots: list[Snapshot] = []
    problems: list[Problem] = []
    claimed: set[Path] = set()
    for camera in site.cameras.values():
        files, folder_problems = list_camera_files(camera.snapshots, camera.camera_id)
        problems += folder_problems
        seen: dict[str, Path] = {}
        for path in files:
            claimed.add(path.resolve())
            try:
                stat = path.stat()
                captured_at, source = capture_time(path, camera.timestamp, zone, stat)
                if not _in_window(captured_at, since, until):
                    continue
                sha256, size = _hash_file(path)
            except OSError as error:
                problems.append(Problem("unreadable_file", str(path), camera.camera_id,
                                        f"cannot read the file ({error.strerror}) / 无法读取文件"))
                continue
            if sha256 in seen:
                problems.append(Problem("duplicate", str(path), camera.camera_id,
                                        f"same bytes as {seen[sha256].name}: inspected once / 重复图像", captured_at))
                continue
            seen[sha256] = path
            snapshots.append(Snapshot(camera.camera_id, path, sha256, captured_at, source, size))
    for root in site.snapshot_roots:
        problems += _unclaimed(root, site, claimed, zone, since, until)
    snapshots.sort(key=lambda s: (s.captured_at, s.camera_id, str(s.path)))
    return Discovery(tuple(snapshots), tuple(problems))


def _unclaimed(root, site: Site, claimed: set[Path], zone, since, until) -> list[Problem]:
    """Images in a snapshot root that no camera of the site claims: most often a camera missing
    from the site file, or a file named so that its camera's pattern misses it."""
    import re

    folder = Path(root.folder)
    problem = _folder_problem(folder, None)
    if problem:
        return [problem]
    pattern = re.compile(root.camera_pattern)
    out = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if path.resolve() in claimed:
            continue
        try:
            captured_at, _ = capture_time(path, TimestampSpec(), zone)
        except OSError:
            captured_at = None
        if captured_at is not None and not _in_window(captured_at, since, until):
            continue
        match = pattern.search(path.name)
        camera_id = match.group("camera") if match else None
        if camera_id is None:
            message = "no camera id in the file name, and no camera of the site file claims it / 无法识别摄像头"
        elif camera_id in site.cameras:
            message = (f"named for camera '{camera_id}' but outside its snapshots pattern "
                       f"({site.cameras[camera_id].snapshots}) / 不在该摄像头的快照路径内")
        else:
            message = f"camera '{camera_id}' is not in the site file / 站点文件中没有该摄像头"
        out.append(Problem("unknown_camera", str(path), camera_id, message, captured_at))
    return out
