"""The morning report: one self-contained HTML page for people, CSV and JSON for machines.

Built from the history rows of the night's snapshots (not from what this run happened to inspect),
so a resumed or repeated run writes the same report. Computing (`build_night`) is separate from
rendering (`render_html`, `write_csv`, `write_json`).

The page has no script and loads nothing from outside: CSS is inline, the chart is inline SVG and
the violation thumbnails are embedded as base64 JPEG; full-size pictures are linked by relative path.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import cv2
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspector.batch.discover import Discovery, Problem
from inspector.batch.site import Site
from inspector.history import History, InspectionRow

NOT_JUDGED = ("cannot_judge", "occluded", "camera_moved", "error")
STATUS_LABELS = {
    "ok": ("inspected", "已检查"),
    "cannot_judge": ("cannot judge", "无法判定"),
    "occluded": ("occluded", "遮挡"),
    "camera_moved": ("camera moved", "摄像头移位"),
    "error": ("bad file", "文件错误"),
    "missing": ("not inspected yet", "尚未检查"),
    "unknown_camera": ("camera not in site file", "未登记的摄像头"),
    "unreadable_folder": ("unreadable folder", "文件夹无法读取"),
    "unreadable_file": ("unreadable file", "文件无法读取"),
    "duplicate": ("duplicate", "重复"),
}
PERSISTENCE_LABELS = {
    "all_night": ("fails all night", "整夜违规"),
    "persistent": ("most of the night", "多数时间违规"),
    "intermittent": ("now and then", "间歇违规"),
    "once": ("once", "仅一次"),
    "single": ("only snapshot", "仅一张"),
}
# what kind of bad file an "error" row is, from the core's message (first match wins)
ERROR_KINDS = (
    ("the file is empty", "zero-byte", "空文件"),
    ("truncated", "truncated", "文件不完整"),
    ("not an image", "non-image", "非图像文件"),
    ("image size does not match the camera", "size does not match camera", "尺寸与标定不符"),
    ("pixels, over the", "too large", "图像过大"),
    ("detections", "detections missing or bad", "检测结果缺失"),
    ("worker process died", "crashed the worker", "处理崩溃"),
    ("", "corrupt", "文件损坏"),
)
# ILAC-G8 decisions (SPEC "Uncertainty and decisions"): a sure fail, or a result within its
# uncertainty U of the limit that a person should check by eye
DECISION_LABELS = {
    "fail": ("fail", "不合格"),
    "conditional_fail": ("check: likely fail", "待核查·可能不合格"),
    "conditional_pass": ("check: likely pass", "待核查·可能合格"),
}
_DECISION_RANK = {"fail": 0, "conditional_fail": 1, "conditional_pass": 2}
# how the measured value must stand to the required one, per rule kind
_LIMIT_SIGN = {"edge_margin": "≥", "required": "≥", "zone": "≤", "keep_clear": "≤", "alignment": "≤"}
VERDICT_LABELS = {"fail": ("FAIL", "违规"), "check": ("CHECK BY EYE", "待核查"), "pass": ("PASS", "合格"),
                  "unknown": ("NOT JUDGED", "未判定")}
THUMB_WIDTH_PX = 480
MAX_PROBLEM_THUMBS = 120


# -- decisions --------------------------------------------------------------------------------------
def decision_of(result: dict) -> str:
    return result.get("decision") or "fail"  # reports written before decisions: every violation a fail


def past_limit(result: dict) -> float:
    """How far past its limit a result is, in units of its uncertainty U: positive past it (a
    fail), negative inside it (a conditional pass). Without a measured value or U a fail is certain."""
    measured, required, uncertainty = result.get("measured"), result.get("required"), result.get("uncertainty")
    inside = decision_of(result) == "conditional_pass"
    if measured is None or required is None:
        return -math.inf if inside else math.inf
    scaled = abs(measured - required) / uncertainty if uncertainty else math.inf
    return -scaled if inside else scaled


def worst_first(result: dict) -> tuple[int, float]:
    """Sort key: sure fails, then conditional fails, then conditional passes; furthest past the limit first."""
    return _DECISION_RANK.get(decision_of(result), 0), -past_limit(result)


# -- records -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SnapshotResult:
    key: str
    camera_id: str
    hall_id: str
    image: str
    captured_at: datetime | None  # in the site's time zone
    night: date | None
    status: str  # history status, or "missing" when the night's row is not in the history yet
    compliant: bool | None
    score: float | None
    violations: tuple[dict, ...]
    message: str
    annotated_path: str | None
    desk_map_path: str | None
    verdict: str | None = None  # pass | fail | check; None when not judged
    conditional_passes: tuple[dict, ...] = ()
    not_judged: tuple[dict, ...] = ()  # rules the core could not judge for some items, with reasons

    @property
    def judged(self) -> bool:
        return self.status == "ok"

    @property
    def sure_fails(self) -> list[dict]:
        return [v for v in self.violations if decision_of(v) == "fail"]

    @property
    def to_check(self) -> list[dict]:
        """Results a person should check by eye: conditional fails and conditional passes."""
        return [v for v in self.violations if decision_of(v) != "fail"] + list(self.conditional_passes)


@dataclass
class RuleTrack:
    """One rule on one window over the night: how often and how long it failed."""

    rule: str
    kind: str
    severity: str
    judged: int
    failed: int = 0
    longest_streak: int = 0
    failures: list[tuple[SnapshotResult, dict]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.failed / self.judged if self.judged else 0.0

    @property
    def persistence(self) -> str:
        if self.judged == 1:
            return "single"
        if self.failed == self.judged:
            return "all_night"
        if self.failed == 1:
            return "once"
        return "persistent" if self.share >= 0.5 else "intermittent"

    @property
    def example(self) -> tuple[SnapshotResult, dict]:
        """The latest failure that has a picture (else the latest failure)."""
        with_picture = [f for f in self.failures if f[0].annotated_path]
        return (with_picture or self.failures)[-1]

    def measured_range(self) -> str:
        values = [v["measured"] for _, v in self.failures if v.get("measured") is not None]
        if not values:
            return "—"
        unit = self.failures[0][1].get("unit")
        low, high = min(values), max(values)
        return _num(low, unit) if low == high else f"{_num(low, None)}–{_num(high, unit)}"


@dataclass
class CheckTrack:
    """One rule on one window over the night whose results were within their uncertainty of the
    limit: a person should check by eye. The worst of them speaks for the rule."""

    rule: str
    kind: str
    judged: int
    results: list[tuple[SnapshotResult, dict]] = field(default_factory=list)

    @property
    def snapshots(self) -> int:
        return len({snap.key for snap, _ in self.results})

    @property
    def worst(self) -> tuple[SnapshotResult, dict]:
        return min(self.results, key=lambda r: worst_first(r[1]))

    @property
    def decisions(self) -> Counter:
        return Counter(decision_of(v) for _, v in self.results)

    @property
    def example(self) -> tuple[SnapshotResult, dict]:
        """The worst result that has a picture (else the worst)."""
        with_picture = [r for r in self.results if r[0].annotated_path]
        return min(with_picture or self.results, key=lambda r: worst_first(r[1]))


@dataclass
class NotJudgedTrack:
    """A rule the core could not judge for some items on one window, for one reason, over the night."""

    rule: str
    kind: str
    reason_en: str
    reason_zh: str
    snapshots: int = 0
    item_ids: set[int] = field(default_factory=set)


@dataclass
class WindowSummary:
    camera_id: str
    name: str
    hall_id: str
    snapshots: list[SnapshotResult]
    rules: list[RuleTrack]  # sure fails only
    checks: list[CheckTrack] = field(default_factory=list)  # worst first
    not_judged_rules: list[NotJudgedTrack] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return sum(s.judged for s in self.snapshots)

    @property
    def compliant(self) -> int:
        return sum(1 for s in self.snapshots if s.judged and s.verdict == "pass")

    @property
    def failing(self) -> int:
        return sum(1 for s in self.snapshots if s.judged and s.verdict == "fail")

    @property
    def checking(self) -> int:
        """Snapshots with verdict check: nothing surely failed, something to check by eye."""
        return sum(1 for s in self.snapshots if s.judged and s.verdict == "check")

    @property
    def rate(self) -> float | None:
        return self.compliant / self.judged if self.judged else None

    @property
    def verdict(self) -> str:
        if self.failing:
            return "fail"
        if self.checking:
            return "check"
        return "unknown" if not self.judged else "pass"

    def count(self, status: str) -> int:
        return sum(1 for s in self.snapshots if s.status == status)


@dataclass
class HallSummary:
    hall_id: str
    name: str
    windows: list[WindowSummary]

    @property
    def judged(self) -> int:
        return sum(w.judged for w in self.windows)

    @property
    def compliant(self) -> int:
        return sum(w.compliant for w in self.windows)

    @property
    def rate(self) -> float | None:
        return self.compliant / self.judged if self.judged else None


@dataclass(frozen=True)
class NightPoint:
    night: date
    judged: int
    compliant: int
    per_hall: dict[str, float | None]

    @property
    def rate(self) -> float | None:
        return self.compliant / self.judged if self.judged else None


@dataclass
class Night:
    site: Site
    run_id: str
    generated_at: datetime
    snapshots: list[SnapshotResult]
    windows: list[WindowSummary]  # worst first
    halls: list[HallSummary]
    problems: list[Problem]
    nights: list[NightPoint]
    notes: list[tuple[str, str]]  # (camera id, note)

    @property
    def span(self) -> tuple[datetime | None, datetime | None]:
        # bad files often carry no time in their name: their file time would stretch the span
        times = [s.captured_at for s in self.snapshots if s.captured_at is not None and s.status != "error"] \
            or [s.captured_at for s in self.snapshots if s.captured_at is not None]
        return (min(times), max(times)) if times else (None, None)

    @property
    def could_not_inspect(self) -> list[SnapshotResult]:
        return [s for s in self.snapshots if s.status in NOT_JUDGED or s.status == "missing"]

    def counts(self) -> dict:
        statuses = Counter(s.status for s in self.snapshots)
        failing = [w for w in self.windows if w.verdict == "fail"]
        checking = [w for w in self.windows if w.verdict == "check"]
        return {
            "snapshots": len(self.snapshots),
            "compliant": sum(1 for s in self.snapshots if s.judged and s.verdict == "pass"),
            "violations": sum(1 for s in self.snapshots if s.judged and s.verdict == "fail"),
            "checks": sum(1 for s in self.snapshots if s.judged and s.verdict == "check"),
            "cannot_judge": statuses["cannot_judge"], "occluded": statuses["occluded"],
            "camera_moved": statuses["camera_moved"], "error": statuses["error"], "missing": statuses["missing"],
            "problems": sum(1 for p in self.problems if p.kind != "duplicate"),
            "duplicates": sum(1 for p in self.problems if p.kind == "duplicate"),
            "windows": len(self.windows), "windows_failing": len(failing),
            "failing_windows": [w.camera_id for w in failing],
            "windows_to_check": len(checking), "windows_checking": [w.camera_id for w in checking],
        }


# -- building ---------------------------------------------------------------------------------------------
def _aware(moment: datetime | None, site: Site) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite keeps no offset: rows are written in UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(site.tz)


def _rows_by_key(history: History, keys: list[str]) -> dict[str, InspectionRow]:
    rows: dict[str, InspectionRow] = {}
    with Session(history.engine, expire_on_commit=False) as session:
        for start in range(0, len(keys), 500):
            for row in session.scalars(select(InspectionRow).where(InspectionRow.key.in_(keys[start:start + 500]))):
                rows[row.key] = row
    return rows


def _result(site: Site, snap, row: InspectionRow | None) -> SnapshotResult:
    hall = site.hall_of(snap.camera_id).hall_id
    if row is None:
        captured = _aware(snap.captured_at, site)
        return SnapshotResult(snap.key, snap.camera_id, hall, str(snap.path), captured, site.night_of(snap.captured_at),
                              "missing", None, None, (), "not inspected yet: run the batch again to finish the night",
                              None, None)
    report = row.report() or {}
    captured = _aware(row.captured_at, site) or _aware(snap.captured_at, site)
    verdict = None
    if row.status == "ok":  # a report written before verdicts: the one its compliant gave
        verdict = report.get("verdict") or ("pass" if row.compliant else "fail")
    return SnapshotResult(
        key=row.key, camera_id=row.camera_id, hall_id=hall, image=row.image_name, captured_at=captured,
        night=site.night_of(captured) if captured else None, status=row.status, compliant=row.compliant,
        score=row.score, violations=tuple(report.get("violations", ())), message=row.message or "",
        annotated_path=row.annotated_path, desk_map_path=row.desk_map_path, verdict=verdict,
        conditional_passes=tuple(report.get("conditional_passes", ())), not_judged=tuple(report.get("not_judged", ())),
    )


def _rule_tracks(snapshots: list[SnapshotResult]) -> list[RuleTrack]:
    judged = [s for s in snapshots if s.judged]
    tracks: dict[str, RuleTrack] = {}
    streaks: dict[str, int] = defaultdict(int)
    for snap in judged:  # in capture order
        failed_here = {}
        for violation in snap.sure_fails:
            failed_here.setdefault(violation["rule"], violation)
        for rule, violation in failed_here.items():
            track = tracks.setdefault(rule, RuleTrack(rule, violation["kind"], violation["severity"], len(judged)))
            track.failed += 1
            track.failures.append((snap, violation))
            if violation["severity"] == "major":
                track.severity = "major"
        for rule in tracks:
            streaks[rule] = streaks[rule] + 1 if rule in failed_here else 0
            tracks[rule].longest_streak = max(tracks[rule].longest_streak, streaks[rule])
    return sorted(tracks.values(), key=lambda t: (-t.failed, t.severity != "major", t.rule))


def _check_tracks(snapshots: list[SnapshotResult]) -> list[CheckTrack]:
    judged = [s for s in snapshots if s.judged]
    tracks: dict[str, CheckTrack] = {}
    for snap in judged:
        for result in snap.to_check:
            tracks.setdefault(result["rule"], CheckTrack(result["rule"], result["kind"], len(judged))).results.append((snap, result))
    return sorted(tracks.values(), key=lambda t: (worst_first(t.worst[1]), t.rule))


def _not_judged_tracks(snapshots: list[SnapshotResult]) -> list[NotJudgedTrack]:
    tracks: dict[tuple[str, str], NotJudgedTrack] = {}
    for snap in snapshots:
        if not snap.judged:
            continue
        for entry in snap.not_judged:
            key = (entry["rule"], entry.get("reason_en", ""))
            track = tracks.setdefault(key, NotJudgedTrack(entry["rule"], entry.get("kind", ""), entry.get("reason_en", ""),
                                                          entry.get("reason_zh", "")))
            track.snapshots += 1
            track.item_ids.update(entry.get("item_ids", ()))
    return sorted(tracks.values(), key=lambda t: (-t.snapshots, t.rule, t.reason_en))


def _worst_first(window: WindowSummary):
    order = {"fail": 0, "check": 1, "unknown": 2, "pass": 3}[window.verdict]
    return (order, window.rate if window.rate is not None else 1.0, -window.failing, window.camera_id)


def _night_points(site: Site, history: History, last_night: date) -> list[NightPoint]:
    first_night = last_night - timedelta(days=site.nights_shown - 1)
    start = datetime.combine(first_night, time(hour=site.day_starts_at_hour), tzinfo=site.tz)
    end = datetime.combine(last_night + timedelta(days=1), time(hour=site.day_starts_at_hour), tzinfo=site.tz)
    hall_of = {cid: site.hall_of(cid).hall_id for cid in site.cameras}
    judged: dict[date, Counter] = defaultdict(Counter)
    good: dict[date, Counter] = defaultdict(Counter)
    query = (select(InspectionRow.camera_id, InspectionRow.captured_at, InspectionRow.compliant)
             .where(InspectionRow.origin == "batch", InspectionRow.status == "ok",
                    InspectionRow.camera_id.in_(list(site.cameras)),
                    InspectionRow.captured_at >= start.astimezone(timezone.utc),
                    InspectionRow.captured_at < end.astimezone(timezone.utc)))
    with Session(history.engine) as session:
        for camera_id, captured_at, compliant in session.execute(query):
            night = site.night_of(captured_at)
            hall = hall_of[camera_id]
            judged[night][hall] += 1
            good[night][hall] += bool(compliant)
    points = []
    for night in sorted(judged):
        per_hall = {h.hall_id: (good[night][h.hall_id] / judged[night][h.hall_id]) if judged[night][h.hall_id] else None
                    for h in site.halls}
        points.append(NightPoint(night, sum(judged[night].values()), sum(good[night].values()), per_hall))
    return points


def reference_notes(site: Site) -> list[tuple[str, str]]:
    """Per camera, why the camera-moved and occlusion checks cannot run (cheap: headers only)."""
    from PIL import Image

    notes = []
    for camera in site.cameras.values():
        if not camera.quality.enabled:
            notes.append((camera.camera_id, "night-time checks switched off in the site file"))
        elif camera.reference_frame is None:
            notes.append((camera.camera_id, "no reference frame in the calibration file: camera-moved and occlusion checks are off"))
        elif not camera.reference_frame.is_file():
            notes.append((camera.camera_id, f"reference frame {camera.reference_frame} not found: camera-moved and occlusion checks are off"))
        else:
            try:
                with Image.open(camera.reference_frame) as image:
                    size = image.size
            except Exception as error:
                notes.append((camera.camera_id, f"reference frame unreadable ({error}): camera-moved and occlusion checks are off"))
                continue
            if tuple(size) != tuple(camera.image_size):
                notes.append((camera.camera_id, f"reference frame is {size[0]}x{size[1]} px but the calibration is "
                                                f"{camera.image_size[0]}x{camera.image_size[1]} px: checks are off"))
    return notes


def build_night(site: Site, found: Discovery, history: History, run_id: str = "") -> Night:
    rows = _rows_by_key(history, [s.key for s in found.snapshots])
    snapshots = [_result(site, snap, rows.get(snap.key)) for snap in found.snapshots]
    snapshots.sort(key=lambda s: (s.captured_at or datetime.min.replace(tzinfo=timezone.utc), s.camera_id, s.image))
    by_camera: dict[str, list[SnapshotResult]] = defaultdict(list)
    for snap in snapshots:
        by_camera[snap.camera_id].append(snap)
    windows = [
        WindowSummary(cid, setup.name, setup.hall_id, by_camera.get(cid, []), _rule_tracks(by_camera.get(cid, [])),
                      _check_tracks(by_camera.get(cid, [])), _not_judged_tracks(by_camera.get(cid, [])))
        for cid, setup in site.cameras.items()
    ]
    windows.sort(key=_worst_first)
    halls = [HallSummary(h.hall_id, h.name, [w for w in windows if w.hall_id == h.hall_id]) for h in site.halls]
    # the chart ends at the latest night judged: a file whose time comes from its mtime (a note
    # dropped in the folder today) must not move the chart's window past the night being reported
    judged_nights = [s.night for s in snapshots if s.night is not None and s.judged]
    nights_seen = judged_nights or [s.night for s in snapshots if s.night is not None]
    last_night = max(nights_seen) if nights_seen else site.night_of(datetime.now(timezone.utc))
    return Night(site, run_id, datetime.now(site.tz), snapshots, windows, halls, list(found.problems),
                 _night_points(site, history, last_night), reference_notes(site))


# -- rendering --------------------------------------------------------------------------------------------
def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _when(moment: datetime | None, with_date: bool = False) -> str:
    if moment is None:
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def _reduced_read_flag(path: str, width: int) -> int:
    """Decode a JPEG at 1/2, 1/4 or 1/8 of its size when that still covers `width` (the decoder
    then skips most of the work: a night's thumbnails cost the report a third of the time)."""
    from PIL import Image

    try:
        with Image.open(path) as header:
            full_width = header.size[0]
            is_jpeg = header.format == "JPEG"
    except Exception:  # noqa: BLE001 - not readable as an image: let OpenCV say so
        return cv2.IMREAD_COLOR
    for factor, flag in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2)):
        if is_jpeg and full_width // factor >= width:
            return flag
    return cv2.IMREAD_COLOR


def _thumbnail(path: str | None, width: int = THUMB_WIDTH_PX) -> str | None:
    """A small JPEG of a picture as a data: URI, or None when the file is gone."""
    if not path or not Path(path).is_file():
        return None
    image = cv2.imread(path, _reduced_read_flag(path, width))
    if image is None:
        return None
    if image.shape[1] > width:
        image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 78])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode("ascii") if ok else None


def _link(path: str | None, out_dir: Path) -> str | None:
    if not path:
        return None
    try:
        return Path(os.path.relpath(path, out_dir)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).as_uri()


def _rate_class(rate: float | None) -> str:
    if rate is None:
        return "unknown"
    return "good" if rate >= 0.999 else "warn" if rate >= 0.8 else "bad"


def nights_chart_svg(points: list[NightPoint], halls: list[HallSummary], width: int = 760, height: int = 240) -> str:
    """Compliance per night: a bar per night for the site, a line per hall (when a few), all inline SVG."""
    left, right, top, bottom = 44, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg id="nights-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="compliance per night">']
    for k in range(0, 101, 25):
        y = top + plot_h * (1 - k / 100)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{k}%</text>')
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" class="axis" text-anchor="middle">no judged snapshots yet</text></svg>')
        return "".join(parts)
    slot = plot_w / len(points)
    bar_w = max(4.0, min(40.0, slot * 0.6))

    def x_of(i: int) -> float:
        return left + slot * (i + 0.5)

    for i, point in enumerate(points):
        rate = point.rate or 0.0
        h = plot_h * rate
        parts.append(f'<rect x="{x_of(i) - bar_w / 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'class="bar {_rate_class(point.rate)}"><title>{point.night.isoformat()}: {_pct(point.rate)} '
                     f'({point.compliant}/{point.judged} snapshots compliant)</title></rect>')
        if len(points) <= 16 or i % max(1, len(points) // 12) == 0:
            parts.append(f'<text x="{x_of(i):.1f}" y="{height - bottom + 16}" class="axis" text-anchor="middle">'
                         f'{point.night.strftime("%m-%d")}</text>')
        parts.append(f'<text x="{x_of(i):.1f}" y="{top + plot_h - h - 4:.1f}" class="value" text-anchor="middle">{_pct(point.rate)}</text>')
    palette = ["#1f6feb", "#8250df", "#bf8700", "#0a7f86", "#cf222e", "#57606a"]
    if 1 < len(halls) <= len(palette):
        for colour, hall in zip(palette, halls):
            xy = [(x_of(i), top + plot_h * (1 - p.per_hall[hall.hall_id])) for i, p in enumerate(points)
                  if p.per_hall.get(hall.hall_id) is not None]
            if xy:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
                parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
                parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in xy]
        for k, (colour, hall) in enumerate(zip(palette, halls)):
            parts.append(f'<rect x="{left + 150 * k}" y="{height - 16}" width="10" height="10" fill="{colour}"/>'
                         f'<text x="{left + 150 * k + 14}" y="{height - 7}" class="axis">{_e(hall.name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(window: WindowSummary, width: int = 560, height: int = 18) -> str:
    """One cell per snapshot in capture order: green compliant, red violation, amber check by eye,
    grey could not inspect."""
    n = len(window.snapshots)
    if n == 0:
        return '<span class="muted">no snapshots</span>'
    cell = width / n
    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">']
    for i, snap in enumerate(window.snapshots):
        kind = {"pass": "ok", "check": "check"}.get(snap.verdict or "", "fail") if snap.judged else "na"
        label = {"ok": "compliant", "check": f"{len(snap.to_check)} result(s) to check by eye",
                 "fail": f"{len(snap.sure_fails)} violation(s)"}.get(kind) or STATUS_LABELS.get(snap.status, (snap.status,))[0]
        parts.append(f'<rect x="{i * cell:.2f}" y="0" width="{max(cell - (1 if cell > 3 else 0), 0.5):.2f}" height="{height}" '
                     f'class="t-{kind}"><title>{_when(snap.captured_at, True)} {_e(Path(snap.image).name)}: {_e(label)}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#bf8700;--check:#d97706;--na:#8c959f;--ink:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:14px/1.45 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;
color:var(--ink);margin:0;background:#fff}header{background:#0d1117;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}header .sub{color:#c9d1d9}main{padding:8px 28px 40px;max-width:1280px}
h2{border-bottom:1px solid var(--line);padding-bottom:6px;margin-top:32px}.muted{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:150px;background:var(--bg)}
.card .n{font-size:26px;font-weight:600}.card.bad .n{color:var(--bad)}.card.good .n{color:var(--ok)}.card.warn .n{color:var(--warn)}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.rate.good{color:var(--ok);font-weight:600}.rate.warn{color:var(--warn);font-weight:600}.rate.bad{color:var(--bad);font-weight:600}.rate.unknown{color:var(--na)}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.badge.fail{background:var(--bad)}.badge.pass{background:var(--ok)}.badge.unknown{background:var(--na)}
.badge.check,.badge.conditional_fail{background:var(--check)}.badge.conditional_pass{background:#f6d58e;color:#1f2328}
.badge.all_night{background:#82071e}.badge.persistent{background:var(--bad)}.badge.intermittent{background:var(--warn)}.badge.once,.badge.single{background:#d4a72c;color:#1f2328}
.badge.major{background:var(--bad)}.badge.minor{background:var(--warn)}
.window{border:1px solid var(--line);border-radius:10px;margin:16px 0;padding:12px 16px}.window.fail{border-left:6px solid var(--bad)}
.window.pass{border-left:6px solid var(--ok)}.window.unknown{border-left:6px solid var(--na)}.window.check{border-left:6px solid var(--check)}
.checks,.not-judged{border-top:1px dashed var(--line);padding:10px 0}.checks h4,.not-judged h4{margin:0 0 4px;font-size:15px}
.checks h4{color:#9a5200}.check-rule{padding:6px 0 10px}.check-rule+.check-rule{border-top:1px dotted var(--line)}
.not-judged table{margin:4px 0}.not-judged td{color:var(--muted)}.counts b{font-variant-numeric:tabular-nums}
.window h3{margin:0 0 6px;font-size:17px}.viol{display:grid;grid-template-columns:minmax(260px,1fr) 480px;gap:14px;border-top:1px dashed var(--line);padding:10px 0}
.viol img{width:100%;max-width:480px;border-radius:6px;border:1px solid var(--line)}.viol .msg{margin:4px 0}
.rule{padding:6px 0 10px}.rule+.rule{border-top:1px dotted var(--line)}
svg .grid{stroke:#eaeef2}svg .axis{font-size:11px;fill:#57606a}svg .value{font-size:10px;fill:#1f2328}
svg .bar.good{fill:#2da44e}svg .bar.warn{fill:#d4a72c}svg .bar.bad{fill:#cf222e}svg .bar.unknown{fill:#8c959f}
.t-ok{fill:#2da44e}.t-fail{fill:#cf222e}.t-check{fill:#f59e0b}.t-na{fill:#afb8c1}.legend span{margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
details summary{cursor:pointer;color:#0969da}img.small{width:240px;border-radius:4px;border:1px solid var(--line)}
code{font-size:12px;background:var(--bg);padding:1px 4px;border-radius:4px;word-break:break-all}
@media (max-width:800px){.viol{grid-template-columns:1fr}main{padding:8px 12px}}
"""


def render_html(night: Night, out_dir: Path, machine_files: dict[str, Path]) -> str:
    site = night.site
    counts = night.counts()
    first, last = night.span
    judged = counts["compliant"] + counts["violations"] + counts["checks"]
    rate = counts["compliant"] / judged if judged else None
    not_inspected = len(night.could_not_inspect) + counts["problems"]
    out: list[str] = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(site.name)} — morning report {_e(_when(last, True))}</title><style>{_CSS}</style></head><body>",
        f'<header><h1>{_e(site.name)} · 桌面定置晨报 Morning report</h1>'
        f'<div class="sub">snapshots {_e(_when(first, True))} → {_e(_when(last, True))} '
        f'({_e(site.timezone or "local time")}) · generated {_e(_when(night.generated_at, True))} · run {_e(night.run_id)}</div></header><main>',
    ]
    # summary
    verdict = "fail" if counts["violations"] else "check" if counts["checks"] else "pass"
    out.append('<section id="summary"><h2>Summary 概览</h2><div class="cards">')
    out.append(f'<div class="card {_rate_class(rate)}"><div class="n">{_pct(rate)}</div>snapshots compliant 合格率<br>'
               f'<span class="muted">{counts["compliant"]} of {judged} judged</span></div>')
    out.append(f'<div class="card {"bad" if counts["windows_failing"] else "good"}"><div class="n">{counts["windows_failing"]}'
               f' / {counts["windows"]}</div>windows with violations 违规窗口'
               + (f'<br><span class="muted">{counts["windows_to_check"]} more to check by eye 另有待核查</span>'
                  if counts["windows_to_check"] else "") + '</div>')
    out.append(f'<div class="card {"bad" if counts["violations"] else "good"}"><div class="n">{counts["violations"]}</div>'
               f'snapshots with violations 违规快照</div>')
    out.append(f'<div class="card {"warn" if counts["checks"] else "good"}" id="checks-card"><div class="n">{counts["checks"]}</div>'
               f'snapshots to check by eye 待人工核查<br><span class="muted">within the uncertainty of a limit</span></div>')
    out.append(f'<div class="card {"warn" if not_inspected else "good"}"><div class="n">{not_inspected}</div>'
               f'could not inspect 无法检查</div>')
    out.append(f'<div class="card"><div class="n">{counts["snapshots"]}</div>snapshots 快照总数</div></div>')
    verdict_text = {"fail": "VIOLATIONS FOUND 发现违规", "check": "CHECK BY EYE 请人工核查", "pass": "ALL COMPLIANT 全部合格"}[verdict]
    out.append(f'<p id="verdict" class="badge {verdict}">{verdict_text}</p>')
    out.append("</section>")

    # halls
    out.append('<section id="halls"><h2>Halls 各区合格率</h2><table><tr><th>hall 区域</th><th class="num">compliance 合格率</th>'
               '<th class="num">windows passing 合格窗口</th><th class="num">snapshots judged 已判定</th>'
               '<th class="num">could not inspect 无法检查</th></tr>')
    for hall in night.halls:
        passing = sum(1 for w in hall.windows if w.verdict == "pass")
        na = sum(sum(1 for s in w.snapshots if not s.judged) for w in hall.windows)
        out.append(f'<tr class="hall" data-hall="{_e(hall.hall_id)}"><td>{_e(hall.name)} <span class="muted">{_e(hall.hall_id)}</span></td>'
                   f'<td class="num rate {_rate_class(hall.rate)}">{_pct(hall.rate)}</td><td class="num">{passing} / {len(hall.windows)}</td>'
                   f'<td class="num">{hall.judged}</td><td class="num">{na}</td></tr>')
    out.append("</table></section>")

    # nights chart
    out.append(f'<section id="nights"><h2>Recent nights 近期合格率</h2><p class="muted">share of judged snapshots '
               f'that were compliant, per night (last {site.nights_shown}; bars: whole site, lines: halls)</p>')
    out.append(nights_chart_svg(night.nights, night.halls))
    out.append("</section>")

    # windows, worst first
    out.append('<section id="windows"><h2>Windows, worst first 各窗口（最差在前）</h2>'
               '<p class="legend"><span><i class="t-ok" style="background:#2da44e"></i>compliant 合格</span>'
               '<span><i style="background:#cf222e"></i>violation 违规</span>'
               '<span><i style="background:#f59e0b"></i>check by eye 待人工核查</span><span><i style="background:#afb8c1"></i>'
               'could not inspect 无法检查</span> — one cell per snapshot, in capture order</p>')
    for window in night.windows:
        out.append(_window_html(window, out_dir, [p for p in night.problems if p.camera_id == window.camera_id
                                                  and p.kind == "unreadable_folder"]))
    out.append("</section>")

    # could not inspect
    out.append(_problems_html(night, out_dir))

    if night.notes:
        out.append('<section id="notes"><h2>Setup notes 设置提示</h2><ul>')
        out += [f"<li><b>{_e(cid)}</b>: {_e(note)}</li>" for cid, note in night.notes]
        out.append("</ul></section>")
    links = " · ".join(f'<a href="{_e(_link(str(p), out_dir))}">{_e(p.name)}</a>' for p in machine_files.values())
    out.append(f'<footer><h2>For machines 数据文件</h2><p>{links}</p><p class="muted">site file {_e(site.path)}</p></footer>')
    out.append("</main></body></html>")
    return "\n".join(out)


def _num(value: float | None, unit: str | None, uncertainty: float | None = None) -> str:
    """'2.2 cm', or with its expanded uncertainty '2.2 ± 1.3 cm'."""
    if value is None:
        return "—"
    digits = 0 if unit == "count" else 1
    text = f"{value:.{digits}f}" + (f" ± {uncertainty:.{digits}f}" if uncertainty is not None else "")
    return f"{text} {unit}" if unit else text


def _measured(result: dict) -> str:
    return _num(result.get("measured"), result.get("unit"), result.get("uncertainty"))


def _required(result: dict) -> str:
    sign = _LIMIT_SIGN.get(result.get("kind", ""))
    return f"{sign} {_num(result.get('required'), result.get('unit'))}" if sign else _num(result.get("required"), result.get("unit"))


def _gap(result: dict) -> str:
    """'0.9 cm past the limit (0.7 U)': how far a conditional result lies from its limit."""
    measured, required, uncertainty = result.get("measured"), result.get("required"), result.get("uncertainty")
    if measured is None or required is None or not uncertainty:
        return ""
    side = ("inside the limit", "距限值") if decision_of(result) == "conditional_pass" else ("past the limit", "超出限值")
    gap = abs(measured - required)
    return f"{_num(gap, result.get('unit'))} {side[0]} {side[1]} ({gap / uncertainty:.1f} U)"


def _picture_html(snap: SnapshotResult, out_dir: Path) -> str:
    thumb = _thumbnail(snap.annotated_path)
    if not thumb:
        return '<span class="muted">no picture kept (run with --pictures changes, violations or all)</span>'
    return (f'<a href="{_e(_link(snap.annotated_path, out_dir))}"><img src="{thumb}" alt="annotated snapshot '
            f'{_e(Path(snap.image).name)}"></a><div class="muted">{_e(Path(snap.image).name)} · {_e(_when(snap.captured_at, True))}</div>')


def _checks_html(window: WindowSummary, out_dir: Path, shown: set[str]) -> str:
    """The results to check by eye, apart from the sure violations, worst first (furthest past
    the limit relative to U); each rule once, spoken for by its worst result."""
    if not window.checks:
        return ""
    blocks = []
    for track in window.checks:
        snap, worst = track.worst
        en, zh = DECISION_LABELS[decision_of(worst)]
        decisions = ", ".join(f"{n} {DECISION_LABELS[d][0]} {DECISION_LABELS[d][1]}" for d, n in sorted(
            track.decisions.items(), key=lambda kv: _DECISION_RANK[kv[0]]))
        values = ""
        if worst.get("measured") is not None:
            gap = _gap(worst)
            values = (f'<div>worst 最差: measured 实测 <b>{_e(_measured(worst))}</b>, required 要求 {_e(_required(worst))}'
                      f'{"; " + _e(gap) if gap else ""} · {_e(_when(snap.captured_at))} {_e(Path(snap.image).name)}</div>')
        rows = "".join(
            f"<tr><td>{_e(_when(s.captured_at, True))}</td><td>{_e(Path(s.image).name)}</td>"
            f"<td>{_e(DECISION_LABELS[decision_of(v)][0])}</td><td class='num'>{_e(_measured(v) if v.get('measured') is not None else '')}</td>"
            f"<td>{_e(_gap(v))}</td><td>"
            + (f"<a href='{_e(_link(s.annotated_path, out_dir))}'>picture</a>" if s.annotated_path else "")
            + "</td></tr>"
            for s, v in sorted(track.results, key=lambda r: worst_first(r[1]))
        )
        blocks.append(
            f'<div class="check-rule" data-rule="{_e(track.rule)}" data-decision="{_e(decision_of(worst))}">'
            f'<div><span class="badge {_e(decision_of(worst))}">{_e(en)} {_e(zh)}</span> <b>{_e(track.rule)}</b> '
            f'<span class="muted">({_e(track.kind)})</span></div>'
            f'<div>to check in <b>{track.snapshots} of {track.judged}</b> judged snapshots: {_e(decisions)}</div>'
            f'<div class="msg">{_e(worst.get("message_zh"))}<br>{_e(worst.get("message_en"))}</div>{values}'
            f'<details><summary>every result to check ({len(track.results)}), worst first</summary><table><tr><th>time</th>'
            f'<th>file</th><th>decision</th><th class="num">measured ± U</th><th>from the limit</th><th></th></tr>{rows}</table>'
            f'</details></div>')
    example = next((t.example[0] for t in window.checks if t.example[0].annotated_path), window.checks[0].worst[0])
    picture = (f'<div class="muted">picture above: {_e(Path(example.image).name)}</div>' if example.key in shown else
               _picture_html(example, out_dir))
    return (f'<div class="checks" data-section="check-by-eye"><h4>Check by eye 待人工核查 ({len(window.checks)})</h4>'
            f'<p class="muted">not sure violations: the measured value is within its uncertainty U (k = 2) of the limit, '
            f'so the photo cannot tell; look at the desk or the picture. Worst first (furthest past the limit, in U). '
            f'实测值距限值不到其测量不确定度，请人工核查。</p>'
            f'<div class="viol"><div>{"".join(blocks)}</div><div>{picture}</div></div></div>')


def _not_judged_html(window: WindowSummary) -> str:
    if not window.not_judged_rules:
        return ""
    rows = "".join(
        f'<tr data-rule="{_e(t.rule)}"><td><b>{_e(t.rule)}</b> <span class="muted">({_e(t.kind)})</span></td>'
        f'<td>{_e(" ".join(f"#{i}" for i in sorted(t.item_ids)))}</td><td class="num">{t.snapshots}</td>'
        f'<td class="reason">{_e(t.reason_zh)}<br>{_e(t.reason_en)}</td></tr>'
        for t in window.not_judged_rules)
    return (f'<div class="not-judged" data-section="not-judged"><h4>Not judged 未判定</h4>'
            f'<p class="muted">rules that could not be judged for some items: neither a pass nor a violation '
            f'以下规则对这些物品无法判定（不算合格，也不算违规）</p><table><tr><th>rule 规则</th><th>items 物品</th>'
            f'<th class="num">snapshots 快照</th><th>reason 原因</th></tr>{rows}</table></div>')


def _window_html(window: WindowSummary, out_dir: Path, problems: list[Problem]) -> str:
    not_judged = {s: window.count(s) for s in NOT_JUDGED + ("missing",) if window.count(s)}
    extra = ", ".join(f"{n} {STATUS_LABELS[s][0]}" for s, n in not_judged.items())
    verdict_text = " ".join(VERDICT_LABELS[window.verdict])
    title = _e(window.name) + (f' <span class="muted">{_e(window.camera_id)}</span>' if window.name != window.camera_id else "")
    out = [f'<article class="window {window.verdict}" id="window-{_e(window.camera_id)}" data-camera="{_e(window.camera_id)}" '
           f'data-verdict="{window.verdict}">',
           f'<h3>{title} <span class="muted">· {_e(window.hall_id)}</span> <span class="badge {window.verdict}">{verdict_text}</span></h3>',
           f'<div>compliance 合格率 <b class="rate {_rate_class(window.rate)}">{_pct(window.rate)}</b> '
           f'({window.compliant} of {window.judged} judged snapshots){"; " + _e(extra) if extra else ""}</div>',
           f'<div class="counts" data-pass="{window.compliant}" data-check="{window.checking}" data-fail="{window.failing}">'
           f'verdicts 判定: <b>{window.compliant}</b> pass 合格 · <b>{window.checking}</b> check 待核查 · '
           f'<b>{window.failing}</b> fail 违规</div>',
           timeline_svg(window)]
    out += [f'<div class="muted">⚠ {_e(p.message)}: <code>{_e(p.path)}</code></div>' for p in problems]
    # rules whose example is the same snapshot share one picture
    groups: dict[str, list[RuleTrack]] = {}
    for track in window.rules:
        groups.setdefault(track.example[0].key, []).append(track)
    for tracks in groups.values():
        snap = tracks[0].example[0]
        picture = _picture_html(snap, out_dir)
        blocks = []
        for track in tracks:
            violation = track.example[1]
            en, zh = PERSISTENCE_LABELS[track.persistence]
            measured = ""
            if violation.get("measured") is not None:
                required = f", required 要求 {_required(violation)}" if violation.get("required") is not None else ""
                measured = (f"<div>measured 实测 <b>{_e(_measured(violation))}</b>{_e(required)}"
                            f"{'; over the night ' + _e(track.measured_range()) if track.failed > 1 else ''}</div>")
            rows = "".join(
                f"<tr><td>{_e(_when(s.captured_at, True))}</td><td>{_e(Path(s.image).name)}</td>"
                f"<td class='num'>{_e(_measured(v) if v.get('measured') is not None else '')}</td>"
                f"<td>{_e(v.get('message_en'))}</td><td>"
                + (f"<a href='{_e(_link(s.annotated_path, out_dir))}'>picture</a>" if s.annotated_path else "")
                + "</td></tr>"
                for s, v in track.failures
            )
            blocks.append(
                f'<div class="rule" data-rule="{_e(track.rule)}" data-persistence="{track.persistence}">'
                f'<div><span class="badge {_e(track.severity)}">{_e(track.severity)}</span> <b>{_e(track.rule)}</b> '
                f'<span class="muted">({_e(track.kind)})</span> <span class="badge {track.persistence}">{_e(en)} {_e(zh)}</span></div>'
                f'<div class="persistence">failed in <b>{track.failed} of {track.judged}</b> judged snapshots'
                f'{f"; longest run {track.longest_streak} in a row" if track.failed > 1 else ""}; '
                + (f'first {_e(_when(track.failures[0][0].captured_at))}, last {_e(_when(track.failures[-1][0].captured_at))}'
                   if track.failed > 1 else f'at {_e(_when(track.failures[0][0].captured_at))}') + '</div>'
                f'<div class="msg">{_e(violation.get("message_zh"))}<br>{_e(violation.get("message_en"))}</div>{measured}'
                f'<details><summary>every failing snapshot ({track.failed})</summary><table><tr><th>time</th><th>file</th>'
                f'<th class="num">measured</th><th>message</th><th></th></tr>{rows}</table></details></div>'
            )
        out.append(f'<div class="viol"><div>{"".join(blocks)}</div><div>{picture}</div></div>')
    out.append(_checks_html(window, out_dir, set(groups)))
    out.append(_not_judged_html(window))
    out.append("</article>")
    return "".join(out)


def error_kind(message: str) -> tuple[str, str]:
    lowered = message.lower()
    return next((en, zh) for needle, en, zh in ERROR_KINDS if needle in lowered)


def _label(status: str, message: str) -> tuple[str, str]:
    return error_kind(message) if status == "error" else STATUS_LABELS.get(status, (status, ""))


def _problems_html(night: Night, out_dir: Path) -> str:
    entries: list[tuple[str, str, str, str, str, str | None]] = []  # status, file, camera, time, reason, picture
    for snap in night.could_not_inspect:
        entries.append((snap.status, snap.image, snap.camera_id, _when(snap.captured_at, True), snap.message, snap.annotated_path))
    for problem in night.problems:
        entries.append((problem.kind, problem.path, problem.camera_id or "—", _when(problem.captured_at, True)
                        if problem.captured_at else "—", problem.message, None))
    by_kind = Counter(_label(e[0], e[4]) for e in entries if e[0] != "duplicate")
    out = ['<section id="could-not-inspect"><h2>Could not inspect 无法检查</h2>']
    if not entries:
        out.append('<p class="muted">every snapshot was inspected 全部已检查</p></section>')
        return "".join(out)
    out.append('<p id="reasons">' + " · ".join(f"<b>{n}</b> {_e(en)} {_e(zh)}" for (en, zh), n in by_kind.most_common()) + "</p>")
    out.append('<table><tr><th>status 状态</th><th>file 文件</th><th>camera 摄像头</th><th>time 时间</th>'
               '<th>reason 原因</th><th>picture</th></tr>')
    thumbs = 0
    base = night.site.path.parent
    for status, path, camera, when, reason, picture in entries:
        en, zh = _label(status, reason)
        try:
            shown = Path(path).resolve().relative_to(base).as_posix()
        except ValueError:
            shown = path
        cell = ""
        if picture and thumbs < MAX_PROBLEM_THUMBS:
            thumb = _thumbnail(picture, 240)
            if thumb:
                thumbs += 1
                cell = f'<a href="{_e(_link(picture, out_dir))}"><img class="small" src="{thumb}" alt="{_e(en)}"></a>'
        out.append(f'<tr class="problem" data-status="{_e(status)}" data-file="{_e(Path(path).name)}"><td>{_e(en)} {_e(zh)}</td>'
                   f'<td><code title="{_e(path)}">{_e(shown)}</code></td><td>{_e(camera)}</td><td>{_e(when)}</td><td class="reason">{_e(reason)}</td>'
                   f'<td>{cell}</td></tr>')
    out.append("</table></section>")
    return "".join(out)


# -- machine files ----------------------------------------------------------------------------------------
def snapshot_rows(night: Night, include_problems: bool = True) -> list[dict]:
    rows = []
    names = {cid: c.name for cid, c in night.site.cameras.items()}
    for snap in night.snapshots:
        rows.append({
            "hall": snap.hall_id, "camera": snap.camera_id, "camera_name": names.get(snap.camera_id, snap.camera_id),
            "night": snap.night.isoformat() if snap.night else "", "captured_at": snap.captured_at.isoformat() if snap.captured_at else "",
            "image": snap.image, "status": snap.status, "verdict": snap.verdict or "",
            "compliant": "" if snap.compliant is None else snap.compliant,
            "score": "" if snap.score is None else snap.score, "violations": len(snap.sure_fails),
            "rules_failed": ";".join(sorted({v["rule"] for v in snap.sure_fails})),
            "to_check": len(snap.to_check), "rules_to_check": ";".join(sorted({v["rule"] for v in snap.to_check})),
            "rules_not_judged": ";".join(sorted({e["rule"] for e in snap.not_judged})),
            "reason_kind": error_kind(snap.message)[0] if snap.status == "error" else "", "message": snap.message,
            "annotated": snap.annotated_path or "",
        })
    for problem in night.problems if include_problems else ():
        rows.append({
            "hall": night.site.hall_of(problem.camera_id).hall_id if problem.camera_id in night.site.cameras else "",
            "camera": problem.camera_id or "", "camera_name": "", "night": "",
            "captured_at": problem.captured_at.isoformat() if problem.captured_at else "", "image": problem.path,
            "status": problem.kind, "verdict": "", "compliant": "", "score": "", "violations": 0, "rules_failed": "",
            "to_check": 0, "rules_to_check": "", "rules_not_judged": "",
            "reason_kind": STATUS_LABELS[problem.kind][0], "message": problem.message, "annotated": "",
        })
    return rows


def window_rows(night: Night) -> list[dict]:
    rows = []
    for window in night.windows:
        worst = window.rules[0] if window.rules else None
        rows.append({
            "hall": window.hall_id, "camera": window.camera_id, "name": window.name, "verdict": window.verdict,
            "snapshots": len(window.snapshots), "judged": window.judged, "compliant": window.compliant,
            "with_violations": window.failing, "to_check": window.checking,
            **{status: window.count(status) for status in NOT_JUDGED},
            "compliance_rate": "" if window.rate is None else round(window.rate, 4),
            "worst_rule": worst.rule if worst else "", "worst_rule_failed": worst.failed if worst else 0,
            "worst_rule_persistence": worst.persistence if worst else "",
        })
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _atomic_text(path, buffer.getvalue())


def night_json(night: Night) -> dict:
    counts = night.counts()
    first, last = night.span
    return {
        "site": {"id": night.site.site_id, "name": night.site.name, "file": str(night.site.path)},
        "run_id": night.run_id, "generated_at": night.generated_at.isoformat(timespec="seconds"),
        "span": {"from": first.isoformat() if first else None, "to": last.isoformat() if last else None},
        "totals": {k: v for k, v in counts.items()},
        "halls": [{"id": h.hall_id, "name": h.name, "judged": h.judged, "compliant": h.compliant,
                   "compliance_rate": h.rate, "windows": [w.camera_id for w in h.windows]} for h in night.halls],
        "windows": [
            {**row, "rules": [{"rule": t.rule, "kind": t.kind, "severity": t.severity, "failed": t.failed,
                               "judged": t.judged, "persistence": t.persistence, "longest_streak": t.longest_streak,
                               "measured": [v.get("measured") for _, v in t.failures],
                               "required": next((v.get("required") for _, v in t.failures), None),
                               "unit": next((v.get("unit") for _, v in t.failures), None),
                               "example": t.example[0].image} for t in window.rules],
             "checks": [{"rule": t.rule, "kind": t.kind, "snapshots": t.snapshots, "judged": t.judged,
                         "decisions": dict(t.decisions), "worst": {**t.worst[1], "image": t.worst[0].image,
                                                                   "past_limit_u": _json_number(past_limit(t.worst[1]))}}
                        for t in window.checks],
             "not_judged": [{"rule": t.rule, "kind": t.kind, "item_ids": sorted(t.item_ids), "snapshots": t.snapshots,
                             "reason_en": t.reason_en, "reason_zh": t.reason_zh} for t in window.not_judged_rules]}
            for row, window in zip(window_rows(night), night.windows)
        ],
        "snapshots": snapshot_rows(night, include_problems=False),
        "could_not_inspect": [{"status": s.status, "kind": _label(s.status, s.message)[0], "file": s.image,
                               "camera": s.camera_id, "reason": s.message}
                              for s in night.could_not_inspect]
        + [{"status": p.kind, "kind": STATUS_LABELS[p.kind][0], "file": p.path, "camera": p.camera_id, "reason": p.message}
           for p in night.problems],
        "nights": [{"night": p.night.isoformat(), "judged": p.judged, "compliant": p.compliant, "compliance_rate": p.rate,
                    "per_hall": p.per_hall} for p in night.nights],
        "notes": [{"camera": c, "note": n} for c, n in night.notes],
    }


def _json_number(value: float) -> float | None:
    return round(value, 3) if math.isfinite(value) else None


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csv: Path
    json: Path
    windows_csv: Path
    counts: dict


def write_report(site: Site, found: Discovery, history: History, out_dir: Path, run_id: str = "") -> ReportFiles:
    night = build_night(site, found, history, run_id)
    files = {"csv": out_dir / "snapshots.csv", "windows_csv": out_dir / "windows.csv", "json": out_dir / "morning-report.json"}
    _write_csv(files["csv"], snapshot_rows(night))
    _write_csv(files["windows_csv"], window_rows(night))
    _atomic_text(files["json"], json.dumps(night_json(night), ensure_ascii=False, indent=2, default=str))
    html_path = out_dir / "morning-report.html"
    _atomic_text(html_path, render_html(night, out_dir, files))
    return ReportFiles(html_path, files["csv"], files["json"], files["windows_csv"], night.counts())
