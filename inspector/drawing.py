"""Pictures: the annotated photo and the bird's-eye desk map. Drawing only; nothing is computed here
that the report does not already hold (plus the camera to map cm to px, and which desk edges the
margin rules ask about).

Colours say how sure a result is (SPEC "Uncertainty and decisions"): red a sure fail, amber a
conditional result (the measured value is within its uncertainty U of the limit: a person should
look), green a pass, grey dashed what was not judged. A margin result also shows its ±U band: the
strip where the item's outer edge may truly lie, beside the limit line it is judged against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from calibration.camera import Camera
from inspector.classes import label_en
from inspector.geometry import densify
from inspector.records import Desk, Report, Violation

FONT_PATH = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"

# BGR colours
OK = (80, 175, 60)
BAD = (40, 40, 230)
CHECK = (0, 150, 255)  # amber: conditional fail or conditional pass
NOT_JUDGED = (175, 175, 175)  # grey, drawn dashed
ZONE = (200, 140, 40)
CLEAR_ZONE = (160, 60, 200)
MARGIN = (0, 200, 255)
DESK = (255, 255, 255)

DECISION_COLOUR = {"fail": BAD, "conditional_fail": CHECK, "conditional_pass": CHECK}
_RANK = {"conditional_pass": 1, "conditional_fail": 2, "fail": 3}  # the worst result colours an item
# short bilingual tags after a conditional result's value
CHECK_TAG = {"conditional_fail": "待核·偏不合格 likely fail", "conditional_pass": "待核·偏合格 likely pass"}
# how the measured value must stand to the required one, per rule kind ("at least" / "at most")
_LIMIT_SIGN = {"edge_margin": "≥", "required": "≥", "zone": "≤", "keep_clear": "≤", "alignment": "≤",
               "min_confidence": "≤"}
EDGE_WORDS = {"front": ("前沿", "front edge"), "back": ("后沿", "back edge"), "left": ("左沿", "left edge"),
              "right": ("右沿", "right edge")}
_UNIT = {"cm": " cm", "deg": "°", "count": ""}
LEGEND = (("■ 不合格 fail", BAD), ("■ 待核查 check by eye (±U 跨限值 straddles the limit)", CHECK),
          ("■ 合格 pass", OK), ("┅ 未判定 not judged", NOT_JUDGED))
MAX_NOT_JUDGED_LINES = 4  # rules listed at the foot of the photo; the report holds them all

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class MarginLine:
    edge_index: int
    min_cm: float
    rules: tuple[str, ...] = ()  # the edge_margin rules that ask this edge (to place a result's ±U band)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    # shipped with the package (Apache-2.0 / GPL-3 with font exception): never downloaded
    return ImageFont.truetype(str(FONT_PATH), size)


def text_width(text: str, size: int) -> int:
    return _label_size(text, size)[0]


# ((x, y), text, BGR colour, size[, movable]): movable labels give way to the others. A text of
# several lines ("\n") is one plate, each line in its own colour when `colour` is a tuple of colours.
Label = tuple
NOTE = "note"  # `movable` of an item's result lines: placed after the fixed labels, before the names

_LABEL_GAP_PX = 2
_LABEL_TRIES = 12  # steps up and down (and sideways) a movable label may move to find free space


@lru_cache(maxsize=4096)  # measuring a text costs more than drawing it, and most labels recur every picture
def _label_size(text: str, size: int) -> tuple[int, int, int, int]:
    """(width, height, left, top) of a label's plate: its text's box plus a 3 px border."""
    font = _font(size)
    if "\n" not in text:
        left, top, right, bottom = font.getbbox(text)
        return right - left + 6, bottom - top + 6, left, top
    lines = text.split("\n")
    boxes = [font.getbbox(line) for line in lines]
    left, right = min(b[0] for b in boxes), max(b[2] for b in boxes)
    return right - left + 6, _line_pitch(size) * len(lines), left, _font(size).getbbox("国Ag")[1]


@lru_cache(maxsize=32)
def _line_pitch(size: int) -> int:
    """Height of one line in a plate of several lines."""
    _, top, _, bottom = _font(size).getbbox("国Ag")
    return bottom - top + 6


def _overlap(a, b) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0


def place_labels(texts: list[Label], width: int, height: int,
                 avoid: Sequence[tuple[int, int, int, int]] = ()) -> list[tuple[int, int, int, int]]:
    """Each label's plate (x1, y1, x2, y2) in the image, in the order given. Fixed labels (banner,
    legend, not-judged lines) keep their place; then the results' lines (`NOTE`), then item and
    zone names, each at the nearest free spot to where it wants to be (up or down, then sideways),
    so that no label hides another or a measured value. Results' lines also keep off `avoid`
    (the items' boxes) where they can. Only when nothing is free within reach does a label take
    the spot where it overlaps least."""
    def clamp(x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
        x = int(min(max(x, 0), max(width - w, 0)))
        y = int(min(max(y, 0), max(height - h, 0)))
        return x, y, min(x + w, width), min(y + h, height)

    plates: list[tuple[int, int, int, int] | None] = [None] * len(texts)
    placed: list[tuple[int, int, int, int]] = []
    def rank(label: Label) -> int:
        movable = label[4] if len(label) > 4 else False
        return 1 if movable == NOTE else 2 if movable else 0

    order = sorted(range(len(texts)), key=lambda i: rank(texts[i]))
    for i in order:
        (x, y), text, _, size, *rest = texts[i]
        w, h, _, _ = _label_size(text, size)
        if not (rest and rest[0]):
            plates[i] = clamp(x, y, w, h)
            placed.append(plates[i])
            continue
        step_y, step_x = min(h, _line_pitch(size)) + _LABEL_GAP_PX, max(w // 3, 12)
        candidates = [(0, 0)]
        if rest[0] == NOTE:
            # an item's results read below it: the nearest free spot, moving up (over the item) costing more
            moves = [(dx, k * step_y) for k in range(-2 * _LABEL_TRIES, 2 * _LABEL_TRIES + 1)
                     for dx in (0, *(j * step_x for j in (-1, 1, -2, 2, -3, 3)))]
            candidates = sorted(moves, key=lambda m: (m[1] if m[1] >= 0 else -3 * m[1]) + abs(m[0]) / 2)
        else:
            for k in range(1, _LABEL_TRIES + 1):
                candidates += [(0, -k * step_y), (0, k * step_y)]
            for k in range(1, 4):
                candidates += [(dx, dy) for dx in (-k * step_x, k * step_x) for dy in (0, -step_y, step_y)]
        best, best_cost = None, None
        for dx, dy in candidates:
            plate = clamp(x + dx, y + dy, w, h)
            grown = (plate[0] - _LABEL_GAP_PX, plate[1] - _LABEL_GAP_PX, plate[2] + _LABEL_GAP_PX, plate[3] + _LABEL_GAP_PX)
            cost = sum(_overlap(grown, other) for other in placed)
            if rest[0] == NOTE:  # an item's box hidden by another item's results: worse than a move
                cost += sum(_overlap(plate, other) for other in avoid) / 4
            if best_cost is None or cost < best_cost:
                best, best_cost = plate, cost
            if cost == 0:
                break
        plates[i] = best
        placed.append(best)
    return plates


def _put_texts(image: np.ndarray, texts: list[Label], avoid: Sequence[tuple[int, int, int, int]] = ()) -> np.ndarray:
    """Draw (position, text, BGR colour, size[, movable]) labels with a CJK font, each on a dark
    plate, placed by place_labels so that none hides another. Each label is rendered on its own
    small patch: converting the whole photo to PIL and back costs more than all the labels."""
    out = image.copy()
    height, width = image.shape[:2]
    for ((_, _), text, colour, size, *_), (x1, y1, x2, y2) in zip(texts, place_labels(texts, width, height, avoid)):
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0:
            continue
        lines = text.split("\n")
        colours = colour if isinstance(colour[0], tuple | list) else [colour] * len(lines)
        out[y1:y2, x1:x2] = _plate(text, tuple(tuple(int(v) for v in c) for c in colours), size, w, h)
    return out


@lru_cache(maxsize=256)  # a camera's pictures repeat most labels (legend, zones, names): draw each once
def _plate(text: str, colours: tuple[tuple[int, int, int], ...], size: int, w: int, h: int) -> np.ndarray:
    """A label's plate (h, w, 3) BGR: its lines in their colours on a dark ground. Read-only: shared."""
    _, _, left, top = _label_size(text, size)
    font = _font(size)
    plate = Image.new("RGB", (w, h), (20, 20, 20))
    draw = ImageDraw.Draw(plate)
    for k, (line, c) in enumerate(zip(text.split("\n"), colours)):
        draw.text((3 - left, 3 - top + k * _line_pitch(size)), line, font=font, fill=(c[2], c[1], c[0]))
    bgr = np.ascontiguousarray(np.asarray(plate)[:, :, ::-1])
    bgr.flags.writeable = False
    return bgr


def _blend_polygon(image: np.ndarray, points_px: np.ndarray, colour, alpha: float) -> np.ndarray:
    """The image with the polygon tinted; only the polygon's bounding box is touched."""
    polygon = np.round(points_px).astype(np.int32).reshape(-1, 2)
    height, width = image.shape[:2]
    x0, y0 = np.maximum(polygon.min(axis=0), 0)
    x1, y1 = np.minimum(polygon.max(axis=0) + 1, [width, height])
    out = image.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    roi = out[y0:y1, x0:x1]
    overlay = roi.copy()
    cv2.fillPoly(overlay, [polygon - [x0, y0]], colour)
    out[y0:y1, x0:x1] = cv2.addWeighted(overlay, alpha, roi, 1 - alpha, 0)
    return out


def _dashed(image: np.ndarray, points_px, colour, thickness: int = 2, closed: bool = True,
            dash_px: float = 9.0, gap_px: float = 6.0) -> None:
    """A dashed polyline, drawn in place (OpenCV has none)."""
    points = np.asarray(points_px, dtype=float).reshape(-1, 2)
    if closed:
        points = np.vstack([points, points[:1]])
    on, left = True, dash_px
    for p, q in pairwise(points):
        length = float(np.hypot(*(q - p)))
        t = 0.0
        while t < length:
            step = min(left, length - t)
            if on:
                a, b = p + (q - p) * (t / length), p + (q - p) * ((t + step) / length)
                cv2.line(image, tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b), colour, thickness,
                         cv2.LINE_AA)
            t += step
            left -= step
            if left <= 1e-9:
                on = not on
                left = dash_px if on else gap_px


# -- what the report says, per item ------------------------------------------------------------------
@dataclass(frozen=True)
class RuleTerms:
    """What a rule names, read from its standard, for the words of its marks: the zone it judges
    (zone, keep_clear) and the classes it asks for (to name a missing item on the banner)."""

    zone: str | None = None
    classes: tuple[tuple[str, str, str], ...] = ()  # (class id, label zh, label en)


Terms = Mapping[str, RuleTerms]  # rule id -> its terms


def results(report: Report) -> list[Violation]:
    """Every judged result the report explains: sure and conditional fails, then conditional passes."""
    return [*report.violations, *report.conditional_passes]


def _number(value: float, unit: str | None) -> str:
    text = f"{value:.0f}" if unit == "count" else f"{value:.1f}"
    return text[1:] if text in ("-0", "-0.0") else text


def value_text(result: Violation, absolute: bool = False) -> str:
    """'2.2 ± 1.3 cm': the measured value with its expanded uncertainty, in the result's unit
    (`absolute`: without its sign, where the words say which side it lies)."""
    measured = abs(result.measured) if absolute else result.measured
    text = _number(measured, result.unit)
    if result.uncertainty is not None:
        text += f" ± {_number(result.uncertainty, result.unit)}"
    return text + _UNIT.get(result.unit or "", "")


def _limit(result: Violation, at_least: bool, zh: str = "", en: str = "") -> str:
    """'要求 required ≥ 5.0 cm' or '允许 allowed ≤ 2.0 cm' (with the words of what is limited)."""
    if result.required is None:
        return ""
    words = ("要求", "required", "≥") if at_least else ("允许", "allowed", "≤")
    value = _number(result.required, result.unit) + _UNIT.get(result.unit or "", "")
    return f" · {words[0]}{zh} {words[1]}{(' ' + en) if en else ''} {words[2]} {value}"


def _edge_words(desk: Desk, edge: int | None) -> tuple[str, str]:
    names = {index: name for name, index in desk.edge_names.items()}
    if edge is None:
        return "桌边", "edge"
    if edge in names:
        return EDGE_WORDS[names[edge]]
    return f"第{edge}边", f"edge {edge}"


def mark_text(result: Violation, *, edge: tuple[str, str] | None = None,
              item_label: tuple[str, str] | None = None) -> str:
    """One short line in Chinese and English for a result on the pictures: what was measured, its
    value ± U and the required value, per rule kind; a tag when the decision is conditional.
    `edge`: the (zh, en) name of the desk edge a margin was measured to; `item_label`: the (zh, en)
    class of the items a count names. The zone of a zone or keep-clear result is drawn and named on
    the picture, and its rule in the report, so the line leaves it out."""
    kind, measured = result.kind, result.measured
    if measured is None or result.unit is None:
        if kind == "permitted":
            text = "不在允许清单 not permitted · 须先报备 register it first"
        else:
            text = f"{result.message_zh} {result.message_en}"
    elif kind == "edge_margin":
        zh, en = edge or ("桌边", "edge")
        text = f"距{zh} {en.replace(' edge', '')} margin {value_text(result)}{_limit(result, True)}"
    elif kind == "zone" and result.unit != "count":
        where = "超出定置区 off its place" if measured >= 0 else "在定置区内 inside its place"
        text = f"{where} {value_text(result, absolute=True)}{_limit(result, False, '超出', 'outside')}"
    elif kind == "keep_clear":
        where = "伸入空置区 into keep-clear area" if measured >= 0 else "距空置区 from keep-clear area"
        text = f"{where} {value_text(result, absolute=True)}{_limit(result, False, '伸入', 'in')}"
    elif kind == "alignment":
        text = f"歪斜 turned {value_text(result)}{_limit(result, False)}"
    elif kind == "count":
        zh, en = item_label or ("", "")
        what = f"{zh} {en} " if zh else ""
        text = f"{what}数量 count {value_text(result)}{_limit(result, measured < (result.required or 0))}"
    elif kind == "min_confidence":
        text = f"低置信度 unsure items {value_text(result)}{_limit(result, False)}"
    else:
        sign = _LIMIT_SIGN.get(kind)
        text = f"{result.rule} {value_text(result)}" + ("" if sign is None else _limit(result, sign == "≥"))
    return f"{text}  {CHECK_TAG[result.decision]}" if result.decision in CHECK_TAG else text


def result_text(result: Violation) -> str:
    """A result's line without the desk and standard at hand (see mark_text)."""
    return mark_text(result)


def _measured_edge(result: Violation, points: np.ndarray, desk: Desk, margins: list[MarginLine]) -> int | None:
    """Of the edges a margin rule asks, the one whose distance to the item is the measured value."""
    edges = [m.edge_index for m in margins if result.rule in m.rules] or [m.edge_index for m in margins]
    if not edges or points is None or len(points) == 0 or result.measured is None:
        return None
    def gap(e: int) -> float:
        a, _, inward, _ = _edge_frame(desk, e)
        return abs(float(((points - a) @ inward).min()) - result.measured)
    return min(edges, key=gap)


@dataclass(frozen=True)
class ItemMarks:
    colour: dict[int, Colour]  # every item: its worst result's colour, green, or grey when not judged
    notes: dict[int, list[tuple[str, Colour]]]  # result lines under an item, worst first
    unjudged: frozenset[int]  # items the rules did not judge at all
    partly_unjudged: frozenset[int]  # items some rule could not judge (report.not_judged)


def item_marks(report: Report, desk: Desk | None = None, margins: list[MarginLine] = ()) -> ItemMarks:
    """Each item's colour and result lines (`desk` and `margins` name the edge a margin was measured to)."""
    items = {item.id: item for item in report.items}
    worst: dict[int, str] = {}
    notes: dict[int, list[tuple[int, str, Colour]]] = {}
    for result in results(report):
        for item_id in result.item_ids:
            if _RANK[result.decision] > _RANK.get(worst.get(item_id, ""), 0):
                worst[item_id] = result.decision
            item = items.get(item_id)
            edge = None
            if result.kind == "edge_margin" and desk is not None and item is not None:
                points = np.asarray(item.footprint_cm, dtype=float).reshape(-1, 2)
                edge = _edge_words(desk, _measured_edge(result, points, desk, list(margins)))
            label = None if item is None else (item.label_zh, label_en(item.class_))
            text = mark_text(result, edge=edge, item_label=label)
            notes.setdefault(item_id, []).append((-_RANK[result.decision], text, DECISION_COLOUR[result.decision]))
    unjudged = frozenset(item.id for item in report.items if not item.judged)
    colour = {item.id: DECISION_COLOUR[worst[item.id]] if item.id in worst else NOT_JUDGED if item.id in unjudged else OK
              for item in report.items}
    ordered = {item_id: [(text, c) for _, text, c in sorted(lines, key=lambda n: n[0])] for item_id, lines in notes.items()}
    partly = frozenset(i for entry in report.not_judged for i in entry.item_ids) - unjudged
    return ItemMarks(colour, ordered, unjudged, partly)


def _banner(report: Report) -> tuple[str, Colour]:
    sure = sum(1 for v in report.violations if v.decision == "fail")
    to_check = len(results(report)) - sure
    check_text = f"  {to_check} 项待核查 to check" if to_check else ""
    if report.verdict == "pass":
        return f"合格 PASS  score {report.score:.2f}", OK
    if report.verdict == "check":
        return f"待核查 CHECK BY EYE 请人工核查{check_text}  score {report.score:.2f}", CHECK
    return f"不合格 FAIL  {sure} 项违规 violations{check_text}  score {report.score:.2f}", BAD


def _legend(x0: int, y: int, size: int, width: int, up: bool = False) -> list[tuple[tuple[int, int], str, Colour, int]]:
    """The colour key, wrapped to the picture's width (upward from `y` when `up`)."""
    rows: list[list[tuple[str, Colour]]] = [[]]
    x = x0
    for text, colour in LEGEND:
        w = text_width(text, size) + 4
        if rows[-1] and x + w > width - x0:
            rows.append([])
            x = x0
        rows[-1].append((text, colour))
        x += w
    line = size + 8
    texts = []
    for k, row in enumerate(rows):
        x, row_y = x0, y - line * (len(rows) - 1 - k) if up else y + line * k
        for text, colour in row:
            texts.append(((x, row_y), text, colour, size))
            x += text_width(text, size) + 4
    return texts


def _missing_classes(result: Violation, terms: RuleTerms | None) -> list[tuple[str, str]]:
    """The (zh, en) names of what an item-less 'missing' result asks for: the rule's classes whose
    name its message gives (a rule asking for several reports each missing one on its own)."""
    classes = terms.classes if terms else ()
    named = [(zh, en) for _, zh, en in classes if zh in result.message_zh or en in result.message_en]
    return named or [(zh, en) for _, zh, en in classes]


def itemless_text(result: Violation, terms: RuleTerms | None = None) -> str:
    """A result that names no item, for the banner: a missing required item ('缺少 missing: 桌牌
    name plate · 0 · 要求 required ≥ 1'), a count below its minimum, or any other such result in
    both languages with its measured and required values."""
    missing = result.unit == "count" and result.measured == 0 and result.kind in ("required", "zone")
    names = _missing_classes(result, terms) if missing else []
    if names:
        what = "、".join(zh for zh, _ in names) + " " + ", ".join(en for _, en in names)
        where = f" (定置区 zone「{terms.zone}」)" if result.kind == "zone" and terms and terms.zone else ""
        text = f"缺少 MISSING: {what}{where} · 见到 seen {value_text(result)}{_limit(result, True)}"
    else:
        text = f"{result.message_zh} · {result.message_en}"
        if result.kind != "count" and result.measured is not None:
            sign = _LIMIT_SIGN.get(result.kind, "≥" if result.unit == "count" else None)
            text += f" · {value_text(result)}{_limit(result, sign == '≥') if sign else ''}"
    return f"{text}  {CHECK_TAG[result.decision]}" if result.decision in CHECK_TAG else text


def _itemless_lines(report: Report, terms: Terms | None = None) -> list[tuple[str, Colour]]:
    """Results that name no item (a required item missing, a count): listed under the banner."""
    terms = terms or {}
    return [(itemless_text(r, terms.get(r.rule)), DECISION_COLOUR[r.decision]) for r in results(report) if not r.item_ids]


def _not_judged_lines(report: Report) -> list[tuple[str, Colour]]:
    lines: list[tuple[str, Colour]] = []
    for entry in report.not_judged[:MAX_NOT_JUDGED_LINES]:
        ids = " ".join(f"#{i}" for i in entry.item_ids)
        lines.append((f"未判定 {entry.rule} {ids}：{entry.reason_zh}", NOT_JUDGED))
        lines.append((f"not judged {entry.rule}: {entry.reason_en}", NOT_JUDGED))
    if len(report.not_judged) > MAX_NOT_JUDGED_LINES:
        more = len(report.not_judged) - MAX_NOT_JUDGED_LINES
        lines.append((f"另有 {more} 条未判定 and {more} more not judged: see the report", NOT_JUDGED))
    return lines


# -- desk geometry in cm -----------------------------------------------------------------------------
def _edge_frame(desk: Desk, edge: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Start point, unit direction along the edge, unit inward normal, length (any outline turn)."""
    a, b = (np.array(p, dtype=float) for p in desk.edge(edge))
    length = float(np.linalg.norm(b - a)) or 1.0
    direction = (b - a) / length
    side = 1.0 if desk.outline_cm.exterior.is_ccw else -1.0
    inward = np.array([-direction[1], direction[0]]) * side  # left of the edge on a counter-clockwise outline
    return a, direction, inward, length


def margin_band_cm(camera: Camera, line: MarginLine) -> np.ndarray:
    """The strip between a desk edge and the line min_cm inside it, as a desk-cm quadrilateral."""
    a, direction, inward, length = _edge_frame(camera.desk, line.edge_index)
    b = a + direction * length
    return np.array([a, b, b + inward * line.min_cm, a + inward * line.min_cm])


def _limit_line_cm(camera: Camera, line: MarginLine) -> np.ndarray:
    return margin_band_cm(camera, line)[2:4]


@dataclass(frozen=True)
class UncertaintyBand:
    """Where a margin result's item edge may truly lie: measured ± U from the edge, along the item."""

    band_cm: np.ndarray  # (4, 2) quadrilateral
    edge_cm: np.ndarray  # (2, 2) the measured outer edge
    decision: str
    item_id: int


def uncertainty_bands(report: Report, desk: Desk, margins: list[MarginLine]) -> list[UncertaintyBand]:
    """One band per edge-margin result with an uncertainty and per item it names. The edge is the
    one of the rule's edges whose distance to the item is the measured value."""
    footprints = {item.id: np.asarray(item.footprint_cm, dtype=float).reshape(-1, 2) for item in report.items}
    bands = []
    for result in results(report):
        if result.kind != "edge_margin" or result.measured is None or not result.uncertainty:
            continue
        for item_id in result.item_ids:
            points = footprints.get(item_id)
            edge = _measured_edge(result, points, desk, margins)
            if edge is None:
                continue
            a, direction, inward, _ = _edge_frame(desk, edge)
            along = (points - a) @ direction
            lo, hi = float(along.min()), float(along.max())
            near, far = result.measured - result.uncertainty, result.measured + result.uncertainty
            band = np.array([a + direction * lo + inward * near, a + direction * hi + inward * near,
                             a + direction * hi + inward * far, a + direction * lo + inward * far])
            edge_cm = np.array([a + direction * lo + inward * result.measured, a + direction * hi + inward * result.measured])
            bands.append(UncertaintyBand(band, edge_cm, result.decision, item_id))
    return bands


# -- the annotated photo -----------------------------------------------------------------------------
def annotate(image: np.ndarray, report: Report, camera: Camera, margins: list[MarginLine],
             terms: Terms | None = None) -> np.ndarray:
    """The photo with desk outline, zones, margin bands, items coloured by their worst result
    (red fail, amber check by eye, green pass, grey dashed not judged), each result's measured
    value ± U against the required value in Chinese and English, the ±U band of margin results,
    missing items on the banner, and the rules that could not be judged. `terms`: what each rule
    names, from the standard (`inspector.outputs.rule_terms`)."""
    out = image.copy()
    desk = camera.desk
    for name, zone in desk.zones_cm.items():
        px = camera.desk_to_image(densify(np.asarray(zone.exterior.coords)[:-1], 2.0))
        out = _blend_polygon(out, px, ZONE, 0.18)
        cv2.polylines(out, [np.round(px).astype(np.int32)], True, ZONE, 1, cv2.LINE_AA)
    for line in margins:
        px = camera.desk_to_image(densify(margin_band_cm(camera, line), 1.0))
        out = _blend_polygon(out, px, MARGIN, 0.30)
    outline_px = camera.desk_to_image(densify(np.asarray(desk.outline_cm.exterior.coords)[:-1], 2.0))
    cv2.polylines(out, [np.round(outline_px).astype(np.int32)], True, DESK, 2, cv2.LINE_AA)

    marks = item_marks(report, desk, margins)
    bands = uncertainty_bands(report, desk, margins)
    notes_y: dict[int, int] = {}
    # text sized for a 1280 px wide photo, smaller on a small night-time snapshot (never unreadable)
    scale = min(1.5, max(0.7, out.shape[1] / 1280))

    def size(base: int) -> int:
        return max(9, round(base * scale))

    texts = []
    for name, zone in desk.zones_cm.items():
        anchor = camera.desk_to_image(np.array([[zone.centroid.x, zone.centroid.y]]))[0]
        texts.append(((int(anchor[0]) - 20, int(anchor[1]) - 8), name, ZONE, size(13), True))
    for item in report.items:
        colour = marks.colour[item.id]
        x1, y1, x2, y2 = (int(round(v)) for v in item.bbox_px)
        box = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
        footprint_px = camera.desk_to_image(densify(np.asarray(item.footprint_cm), 1.0))
        if item.id in marks.unjudged:
            _dashed(out, box, NOT_JUDGED, 2)
        else:
            cv2.rectangle(out, (x1, y1), (x2, y2), colour, 3 if item.id in marks.notes else 2, cv2.LINE_AA)
        if item.id in marks.unjudged or item.id in marks.partly_unjudged:
            _dashed(out, footprint_px, NOT_JUDGED, 1, dash_px=6, gap_px=4)
        else:
            cv2.polylines(out, [np.round(footprint_px).astype(np.int32)], True, colour, 1, cv2.LINE_AA)
        label = f"#{item.id} {item.label_zh} {item.class_} {item.confidence:.2f}"
        if item.id in marks.unjudged:
            label += "  未判定 not judged"
        texts.append(((x1, y1 - size(15) - 7), label, colour, size(15), True))
        notes_y[item.id] = y2 + 4
    # the ±U bands over the boxes (a band is a few pixels deep in a photo), the notes below them
    for band in bands:
        colour = DECISION_COLOUR[band.decision]
        px = camera.desk_to_image(densify(band.band_cm, 0.5))
        out = _blend_polygon(out, px, colour, 0.65)
        cv2.polylines(out, [np.round(px).astype(np.int32)], True, colour, 1, cv2.LINE_AA)
        edge_px = camera.desk_to_image(densify(band.edge_cm, 0.5, closed=False))
        cv2.polylines(out, [np.round(edge_px).astype(np.int32)], False, (255, 255, 255), 1, cv2.LINE_AA)
        notes_y[band.item_id] = max(notes_y.get(band.item_id, 0), int(px[:, 1].max()) + 4)
    for item in report.items:
        if item.id in marks.notes:
            lines = marks.notes[item.id]
            texts.append(((int(round(item.bbox_px[0])), notes_y[item.id]), "\n".join(t for t, _ in lines),
                          tuple(c for _, c in lines), size(14), NOTE))
    banner, colour = _banner(report)
    texts.append(((8, 8), banner, colour, size(22)))
    # what is missing from the desk belongs to the banner: there is no item to hang it on
    below = 8 + size(22) + 12
    missing = _itemless_lines(report, terms)
    texts += [((8, below + (size(16) + 7) * k), text, c, size(16)) for k, (text, c) in enumerate(missing)]
    below += (size(16) + 7) * len(missing) + (4 if missing else 0)
    texts += _legend(8, below, size(13), out.shape[1])
    lines = _not_judged_lines(report)
    height = out.shape[0]
    texts += [((8, height - 8 - (size(13) + 6) * (len(lines) - k)), text, c, size(13)) for k, (text, c) in enumerate(lines)]
    boxes = [tuple(int(round(v)) for v in item.bbox_px) for item in report.items]
    return _put_texts(out, texts, boxes)


# -- the desk map ------------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _desk_map_grid(camera: Camera, px_per_cm: float, pad_cm: float, width: int, height: int):
    """For every desk-map pixel, where it lies in the photo (lens distortion included). Depends
    only on the camera, so it is computed once per camera, not per image."""
    min_x, _, _, max_y = camera.desk.outline_cm.bounds
    map_x, map_y = np.meshgrid(np.arange(width, dtype=np.float64) + 0.5, np.arange(height, dtype=np.float64) + 0.5)
    # the front edge (y = 0) at the bottom: the desk from above as the customer faces it, not mirrored
    desk_cm = np.stack([map_x.ravel() / px_per_cm + min_x - pad_cm, max_y + pad_cm - map_y.ravel() / px_per_cm], axis=1)
    source_px = camera.desk_to_image(desk_cm).astype(np.float32) - 0.5
    return source_px[:, 0].reshape(height, width), source_px[:, 1].reshape(height, width)


def desk_map(
    image: np.ndarray, report: Report, camera: Camera, margins: list[MarginLine], px_per_cm: float = 5.0,
    terms: Terms | None = None,
) -> np.ndarray:
    """Bird's-eye view of the desk top at a fixed scale, as the customer faces it: the customer-facing
    edge at the bottom, the staff side at the top, left and right as the customer (and the counter
    camera) sees them, so nothing is mirrored; footprints, zones, margins on top,
    and each result's measured value ± U against the required value in Chinese and English.
    A margin result's ±U band is drawn around the item's measured outer edge, beside the limit
    line: where the band crosses that line, the result is conditional. Under the map, a footer
    holds the verdict, what is missing from the desk and the colour key."""
    pad_cm = 8.0
    min_x, min_y, max_x, max_y = camera.desk.outline_cm.bounds
    width = int(round((max_x - min_x + 2 * pad_cm) * px_per_cm))
    height = int(round((max_y - min_y + 2 * pad_cm) * px_per_cm))

    def to_map(points_cm) -> np.ndarray:
        pts = np.asarray(points_cm, dtype=float).reshape(-1, 2)
        return np.stack([(pts[:, 0] - min_x + pad_cm) * px_per_cm, (max_y - pts[:, 1] + pad_cm) * px_per_cm], axis=1)

    def ipoints(points_cm) -> np.ndarray:
        return np.round(to_map(points_cm)).astype(np.int32)

    map_x, map_y = _desk_map_grid(camera, px_per_cm, pad_cm, width, height)
    top = cv2.remap(
        image,
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(40, 40, 40),
    )
    top = (top * 0.75).astype(np.uint8)  # dim the photo so the drawing reads clearly

    desk = camera.desk
    for name, zone in desk.zones_cm.items():
        top = _blend_polygon(top, to_map(np.asarray(zone.exterior.coords)), ZONE, 0.25)
        cv2.polylines(top, [ipoints(np.asarray(zone.exterior.coords))], True, ZONE, 1, cv2.LINE_AA)
    for line in margins:
        top = _blend_polygon(top, to_map(margin_band_cm(camera, line)), MARGIN, 0.35)
    cv2.polylines(top, [ipoints(np.asarray(desk.outline_cm.exterior.coords))], True, DESK, 2, cv2.LINE_AA)
    a, b = desk.edge(desk.front_edge)
    cv2.line(top, *(tuple(int(round(v)) for v in p) for p in to_map([a, b])), (0, 220, 255), 3, cv2.LINE_AA)

    marks = item_marks(report, desk, margins)
    texts = []
    fx, fy = to_map([[(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]])[0]
    texts.append(((int(fx) - 60, int(fy) + 8), "前沿 customer side", (0, 220, 255), 13))
    for name, zone in desk.zones_cm.items():
        anchor = to_map([[zone.bounds[0], zone.bounds[3]]])[0]  # the zone's top-left on the map
        texts.append(((int(anchor[0]) + 2, int(anchor[1]) + 2), name, ZONE, 12, True))
    for item in report.items:
        colour = marks.colour[item.id]
        polygon = ipoints(item.footprint_cm)
        top = _blend_polygon(top, polygon, colour, 0.35)
        if item.id in marks.unjudged or item.id in marks.partly_unjudged:
            _dashed(top, polygon, NOT_JUDGED, 2, dash_px=7, gap_px=5)
        else:
            cv2.polylines(top, [polygon], True, colour, 2, cv2.LINE_AA)
        cx, cy = to_map([item.center_cm])[0]
        label = f"#{item.id} {item.label_zh}" + (" 未判定 not judged" if item.id in marks.unjudged else "")
        texts.append(((int(cx) - 20, int(cy) - 10), label, colour, 13, True))
        if item.id in marks.notes:
            lines = marks.notes[item.id]
            texts.append(((int(cx) - 20, int(cy) + 10), "\n".join(t for t, _ in lines), tuple(c for _, c in lines),
                          12, NOTE))
    # the ±U bands and limit lines last: they must read over the footprints
    for band in uncertainty_bands(report, desk, margins):
        colour = DECISION_COLOUR[band.decision]
        top = _blend_polygon(top, to_map(band.band_cm), colour, 0.7)
        cv2.polylines(top, [ipoints(band.band_cm)], True, colour, 1, cv2.LINE_AA)
        cv2.polylines(top, [ipoints(band.edge_cm)], False, (255, 255, 255), 1, cv2.LINE_AA)
    for line in margins:
        cv2.polylines(top, [ipoints(_limit_line_cm(camera, line))], False, MARGIN, 1, cv2.LINE_AA)

    # the footer: verdict, missing items, colour key, on a dark strip under the map
    banner, colour = _banner(report)
    footer = [((4, 6), banner, colour, 16)]
    y = 6 + 16 + 10
    for text, line_colour in _itemless_lines(report, terms):
        footer.append(((4, y), text, line_colour, 13))
        y += 13 + 8
    legend = _legend(4, y + 2, 12, width)
    footer_height = max(ly for (_, ly), *_ in legend) + 12 + 10
    strip = np.full((footer_height, width, 3), 24, np.uint8)
    canvas = np.vstack([top, strip])
    texts += [((x, height + fy), text, c, size) for (x, fy), text, c, size in footer + legend]
    footprints = [ipoints(item.footprint_cm) for item in report.items]
    boxes = [(*f.min(axis=0), *f.max(axis=0)) for f in footprints if len(f)]
    return _put_texts(canvas, texts, boxes)
