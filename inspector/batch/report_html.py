"""The morning report's page: view data built here from the night's records, markup in `templates/`.

The page has no script and loads nothing from outside: the CSS is inline, the charts are inline SVG
and the violation thumbnails are embedded as base64 JPEG; full-size pictures are linked by relative
path. Every value reaches the page through Jinja2's autoescape; Python computes numbers and
coordinates, the templates write every tag.
"""

from __future__ import annotations

import base64
import io
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
from jinja2 import Environment, PackageLoader, StrictUndefined

from inspector.batch.discover import Problem
from inspector.batch.report import (
    DECISION_LABELS, NOT_JUDGED, PERSISTENCE_LABELS, STATUS_LABELS, VERDICT_LABELS, _DECISION_RANK, _LIMIT_SIGN,
    HallSummary, Night, NightPoint, RuleTrack, SnapshotResult, WindowSummary, decision_of, number_text,
    status_label, worst_first,
)

THUMB_WIDTH_PX = 480
PROBLEM_THUMB_WIDTH_PX = 240
MAX_PROBLEM_THUMBS = 120
HALL_COLOURS = ("#1f6feb", "#8250df", "#bf8700", "#0a7f86", "#cf222e", "#57606a")


# -- text ------------------------------------------------------------------------------------------------
def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def when(moment: datetime | None, with_date: bool = False) -> str:
    if moment is None:
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def rate_class(rate: float | None) -> str:
    if rate is None:
        return "unknown"
    return "good" if rate >= 0.999 else "warn" if rate >= 0.8 else "bad"


def measured(result: dict) -> str:
    return number_text(result.get("measured"), result.get("unit"), result.get("uncertainty"))


def required(result: dict) -> str:
    sign = _LIMIT_SIGN.get(result.get("kind", ""))
    value = number_text(result.get("required"), result.get("unit"))
    return f"{sign} {value}" if sign else value


def gap(result: dict) -> str:
    """'0.9 cm past the limit (0.7 U)': how far a conditional result lies from its limit."""
    value, limit, uncertainty = result.get("measured"), result.get("required"), result.get("uncertainty")
    if value is None or limit is None or not uncertainty:
        return ""
    side = ("inside the limit", "距限值") if decision_of(result) == "conditional_pass" else ("past the limit", "超出限值")
    distance = abs(value - limit)
    return f"{number_text(distance, result.get('unit'))} {side[0]} {side[1]} ({distance / uncertainty:.1f} U)"


def link(path: str | None, out_dir: Path) -> str | None:
    if not path:
        return None
    try:
        return Path(os.path.relpath(path, out_dir)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).as_uri()


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("inspector.batch", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      finalize=lambda value: "" if value is None else value)  # a missing message prints nothing
    env.filters.update(pct=pct, when=when, rate_class=rate_class, measured=measured, required=required, gap=gap,
                       basename=lambda path: Path(path).name,
                       worst_first=lambda results: sorted(results, key=lambda r: worst_first(r[1])),
                       in_decision_order=lambda counter: sorted(counter.items(), key=lambda kv: _DECISION_RANK[kv[0]]))
    env.globals.update(STATUS_LABELS=STATUS_LABELS, PERSISTENCE_LABELS=PERSISTENCE_LABELS, NOT_JUDGED=NOT_JUDGED,
                       DECISION_LABELS=DECISION_LABELS, VERDICT_LABELS=VERDICT_LABELS, decision_of=decision_of,
                       HALL_COLOURS=HALL_COLOURS)
    return env


_ENV = _environment()


# -- the Chinese font ------------------------------------------------------------------------------------
def cjk_font(page: str) -> str | None:
    """The bundled CJK font (inspector/fonts) cut down to the characters the page uses, as a data:
    URI of a few tens of KB: the Chinese reads on a phone or PC without a CJK font of its own, and
    the page still loads nothing. None without fontTools (an optional dependency) or Chinese text."""
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont
    except ImportError:
        return None
    from inspector.drawing import FONT_PATH

    chars = {ord(c) for c in page if ord(c) >= 0x2000}  # Latin text keeps the reader's own fonts
    if not chars:
        return None
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # "FFTM NOT subset" and the like
    options = subset.Options()
    options.hinting, options.layout_features, options.notdef_outline = False, [], True
    font = TTFont(str(FONT_PATH), fontNumber=0, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=chars)
    subsetter.subset(font)
    data = io.BytesIO()
    font.save(data)
    return "data:font/ttf;base64," + base64.b64encode(data.getvalue()).decode("ascii")


# -- pictures --------------------------------------------------------------------------------------------
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


def thumbnail(path: str | None, width: int = THUMB_WIDTH_PX) -> str | None:
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


@dataclass(frozen=True)
class Picture:
    """An annotated snapshot: its thumbnail embedded, the full picture linked."""

    snapshot: SnapshotResult
    thumb: str | None  # data: URI; None when the picture was not kept
    href: str | None


def _picture(snap: SnapshotResult, out_dir: Path, width: int = THUMB_WIDTH_PX) -> Picture:
    return Picture(snap, thumbnail(snap.annotated_path, width), link(snap.annotated_path, out_dir))


# -- charts: coordinates here, tags in _charts.html.j2 -------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    x: float
    width: float
    kind: str  # ok | fail | check | na
    title: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    cells: list[Cell]


def timeline(window: WindowSummary, width: int = 560, height: int = 18) -> Timeline:
    """One cell per snapshot in capture order: green compliant, red violation, amber check by eye,
    grey could not inspect."""
    n = len(window.snapshots)
    cell = width / n if n else 0.0
    cells = []
    for i, snap in enumerate(window.snapshots):
        kind = {"pass": "ok", "check": "check"}.get(snap.verdict or "", "fail") if snap.judged else "na"
        label = {"ok": "compliant", "check": f"{len(snap.to_check)} result(s) to check by eye",
                 "fail": f"{len(snap.sure_fails)} violation(s)"}.get(kind) or STATUS_LABELS.get(snap.status, (snap.status,))[0]
        cells.append(Cell(round(i * cell, 2), round(max(cell - (1 if cell > 3 else 0), 0.5), 2), kind,
                          f"{when(snap.captured_at, True)} {Path(snap.image).name}: {label}"))
    return Timeline(width, height, cells)


@dataclass(frozen=True)
class Bar:
    x: float  # centre
    y: float  # top
    width: float
    height: float
    point: NightPoint
    date_label: str | None  # None where the axis is too crowded
    thin: bool  # a label left out on a phone screen


@dataclass(frozen=True)
class HallLine:
    colour: str
    name: str
    dots: list[tuple[float, float]]

    @property
    def points(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.dots)


@dataclass(frozen=True)
class NightsChart:
    width: int
    height: int
    left: int
    right: int
    axis_y: float  # where the date labels sit
    grid: list[tuple[float, int]]  # (y, percent)
    bars: list[Bar]
    lines: list[HallLine]  # one per hall, when a few


def nights_chart(points: list[NightPoint], halls: list[HallSummary], width: int = 760, height: int = 220) -> NightsChart:
    """Compliance per night: a bar per night for the site, a line per hall (when a few)."""
    left, right, top, bottom = 66, 16, 24, 36  # room for the axis text scaled up on a phone (morning.css)
    plot_w, plot_h = width - left - right, height - top - bottom
    grid = [(round(top + plot_h * (1 - k / 100), 1), k) for k in range(0, 101, 25)]
    slot = plot_w / len(points) if points else 0.0
    bar_w = max(4.0, min(40.0, slot * 0.6))
    bars = []
    for i, point in enumerate(points):
        h = plot_h * (point.rate or 0.0)
        shown = len(points) <= 16 or i % max(1, len(points) // 12) == 0
        bars.append(Bar(round(left + slot * (i + 0.5), 1), round(top + plot_h - h, 1), round(bar_w, 1), round(h, 1), point,
                        point.night.strftime("%m-%d") if shown else None, len(points) > 7 and i % 2 == 1))
    lines = []
    if 1 < len(halls) <= len(HALL_COLOURS):
        for colour, hall in zip(HALL_COLOURS, halls):
            dots = [(bar.x, round(top + plot_h * (1 - bar.point.per_hall[hall.hall_id]), 1)) for bar in bars
                    if bar.point.per_hall.get(hall.hall_id) is not None]
            lines.append(HallLine(colour, hall.name, dots))
    return NightsChart(width, height, left, right, height - 10, grid, bars, lines)


# -- the page ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleGroup:
    """Rules whose example is the same snapshot: one picture beside them."""

    picture: Picture
    tracks: list[RuleTrack]


@dataclass(frozen=True)
class WindowView:
    window: WindowSummary
    timeline: Timeline
    folder_problems: list[Problem]
    groups: list[RuleGroup]
    checks_picture: Picture | None  # None when the window has nothing to check by eye
    checks_picture_above: bool  # the same snapshot is already pictured beside a violation

    @property
    def not_inspected(self) -> list[tuple[str, int]]:
        return [(status, self.window.count(status)) for status in NOT_JUDGED + ("missing",) if self.window.count(status)]


def _window_view(window: WindowSummary, out_dir: Path, folder_problems: list[Problem]) -> WindowView:
    groups: dict[str, list[RuleTrack]] = {}
    for track in window.rules:
        groups.setdefault(track.example.key, []).append(track)
    rule_groups = [RuleGroup(_picture(tracks[0].example, out_dir), tracks) for tracks in groups.values()]
    checks_picture, above = None, False
    if window.checks:
        example = next((t.example[0] for t in window.checks if t.example[0].annotated_path), window.checks[0].worst[0])
        above = example.key in groups
        checks_picture = Picture(example, None, None) if above else _picture(example, out_dir)
    return WindowView(window, timeline(window), folder_problems, rule_groups, checks_picture, above)


@dataclass(frozen=True)
class ProblemRow:
    status: str
    label: tuple[str, str]  # (en, zh)
    path: str
    shown: str  # the path relative to the site file's folder
    camera: str
    captured_at: datetime | None
    reason: str
    thumb: str | None
    href: str | None


def _problem_rows(night: Night, out_dir: Path) -> list[ProblemRow]:
    entries: list[tuple[str, str, str, datetime | None, str, str | None]] = [
        (s.status, s.image, s.camera_id, s.captured_at, s.message, s.annotated_path) for s in night.could_not_inspect]
    entries += [(p.kind, p.path, p.camera_id or "—", p.captured_at, p.message, None) for p in night.problems]
    base = night.site.path.parent
    rows, thumbs = [], 0
    for status, path, camera, captured_at, reason, picture in entries:
        try:
            shown = Path(path).resolve().relative_to(base).as_posix()
        except ValueError:
            shown = path
        thumb = thumbnail(picture, PROBLEM_THUMB_WIDTH_PX) if picture and thumbs < MAX_PROBLEM_THUMBS else None
        thumbs += thumb is not None
        rows.append(ProblemRow(status, status_label(status, reason), path, shown, camera, captured_at, reason, thumb,
                               link(picture, out_dir) if thumb else None))
    return rows


def _problem_reasons(rows: list[ProblemRow]) -> list[tuple[tuple[str, str], int]]:
    """How many files per reason, most first (duplicates are not a failure to inspect)."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.status != "duplicate":
            counts[row.label] = counts.get(row.label, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


@dataclass(frozen=True)
class HallRow:
    hall: HallSummary
    passing: int  # windows
    not_judged: int  # snapshots


def render_html(night: Night, out_dir: Path, machine_files: dict[str, Path]) -> str:
    counts = night.counts()
    first, last = night.span
    judged = counts["compliant"] + counts["violations"] + counts["checks"]
    problems = _problem_rows(night, out_dir)
    windows = [_window_view(w, out_dir, [p for p in night.problems if p.camera_id == w.camera_id
                                         and p.kind == "unreadable_folder"]) for w in night.windows]
    halls = [HallRow(h, sum(1 for w in h.windows if w.verdict == "pass"),
                     sum(1 for w in h.windows for s in w.snapshots if not s.judged)) for h in night.halls]
    values = dict(
        night=night, site=night.site, counts=counts, first=first, last=last, judged=judged,
        rate=counts["compliant"] / judged if judged else None,
        verdict="fail" if counts["violations"] else "check" if counts["checks"] else "pass",
        not_inspected=len(night.could_not_inspect) + counts["problems"],
        halls=halls, chart=nights_chart(night.nights, night.halls), windows=windows,
        problems=problems, problem_reasons=_problem_reasons(problems),
        machine_files=[(p.name, link(str(p), out_dir)) for p in machine_files.values()],
        link=lambda path: link(path, out_dir),  # a full-size picture, relative to the page
    )
    template = _ENV.get_template("morning.html.j2")
    page = template.render(**values, font=None)
    # the font holds the characters of the page as first written: the page again, with the font
    return template.render(**values, font=cjk_font(page))
