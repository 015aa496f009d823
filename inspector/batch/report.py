"""The morning report: one self-contained HTML page for people, CSV and JSON for machines.

Built from the history rows of the night's snapshots (not from what this run happened to inspect),
so a resumed or repeated run writes the same report. This module computes the night (`build_night`)
and writes the machine files; `report_html` renders the page from its templates.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

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
    failed: int = 0  # snapshots in which the rule failed
    longest_streak: int = 0
    # every sure fail, in capture order: a snapshot may fail a rule for several items (a phone and a bag)
    failures: list[tuple[SnapshotResult, dict]] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return len(self.failures)

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
    def example(self) -> SnapshotResult:
        """The latest failing snapshot that has a picture (else the latest failing snapshot)."""
        with_picture = [snap for snap, _ in self.failures if snap.annotated_path]
        return (with_picture or [snap for snap, _ in self.failures])[-1]

    def failures_in(self, snap: SnapshotResult) -> list[dict]:
        """Every violation of the rule in one snapshot."""
        return [v for s, v in self.failures if s.key == snap.key]

    def measured_range(self) -> str:
        values = [v["measured"] for _, v in self.failures if v.get("measured") is not None]
        if not values:
            return "—"
        unit = self.failures[0][1].get("unit")
        low, high = min(values), max(values)
        return number_text(low, unit) if low == high else f"{number_text(low, None)}–{number_text(high, unit)}"


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
        failed_here: dict[str, list[dict]] = {}
        for violation in snap.sure_fails:  # all of them: a rule failed for two items fails twice
            failed_here.setdefault(violation["rule"], []).append(violation)
        for rule, violations in failed_here.items():
            track = tracks.setdefault(rule, RuleTrack(rule, violations[0]["kind"], violations[0]["severity"], len(judged)))
            track.failed += 1
            track.failures += [(snap, violation) for violation in violations]
            if any(violation["severity"] == "major" for violation in violations):
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


# -- labels and numbers shared by the page and the machine files -------------------------------------------
def error_kind(message: str) -> tuple[str, str]:
    lowered = message.lower()
    return next((en, zh) for needle, en, zh in ERROR_KINDS if needle in lowered)


def status_label(status: str, message: str) -> tuple[str, str]:
    return error_kind(message) if status == "error" else STATUS_LABELS.get(status, (status, ""))


def number_text(value: float | None, unit: str | None, uncertainty: float | None = None) -> str:
    """'2.2 cm', or with its expanded uncertainty '2.2 ± 1.3 cm'."""
    if value is None:
        return "—"
    digits = 0 if unit == "count" else 1
    text = f"{value:.{digits}f}" + (f" ± {uncertainty:.{digits}f}" if uncertainty is not None else "")
    return f"{text} {unit}" if unit else text


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
                               "violations": t.violations, "judged": t.judged, "persistence": t.persistence, "longest_streak": t.longest_streak,
                               "measured": [v.get("measured") for _, v in t.failures],
                               "required": next((v.get("required") for _, v in t.failures), None),
                               "unit": next((v.get("unit") for _, v in t.failures), None),
                               "example": t.example.image} for t in window.rules],
             "checks": [{"rule": t.rule, "kind": t.kind, "snapshots": t.snapshots, "judged": t.judged,
                         "decisions": dict(t.decisions), "worst": {**t.worst[1], "image": t.worst[0].image,
                                                                   "past_limit_u": _json_number(past_limit(t.worst[1]))}}
                        for t in window.checks],
             "not_judged": [{"rule": t.rule, "kind": t.kind, "item_ids": sorted(t.item_ids), "snapshots": t.snapshots,
                             "reason_en": t.reason_en, "reason_zh": t.reason_zh} for t in window.not_judged_rules]}
            for row, window in zip(window_rows(night), night.windows)
        ],
        "snapshots": snapshot_rows(night, include_problems=False),
        "could_not_inspect": [{"status": s.status, "kind": status_label(s.status, s.message)[0], "file": s.image,
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
    from inspector.batch.report_html import render_html  # the page's module reads this one's records

    html_path = out_dir / "morning-report.html"
    _atomic_text(html_path, render_html(night, out_dir, files))
    return ReportFiles(html_path, files["csv"], files["json"], files["windows_csv"], night.counts())
