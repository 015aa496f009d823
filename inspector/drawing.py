"""Pictures: the annotated photo and the bird's-eye desk map. Drawing only; nothing is computed here
that the report does not already hold (plus the camera to map cm to px, and which desk edges the
margin rules ask about).

Colours say how sure a result is (SPEC "Uncertainty and decisions"): red a sure fail, amber a
conditional result (the measured value is within its uncertainty U of the limit: a person should
look), green a pass, grey dashed what was not judged. A margin result also shows its ±U band: the
strip where the item's outer edge may truly lie, beside the limit line it is judged against.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from calibration.camera import Camera
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
CHECK_TAG = {"conditional_fail": "待核·偏不合格 check: likely fail", "conditional_pass": "待核·偏合格 check: likely pass"}
# how the measured value must stand to the required one, per rule kind ("at least" / "at most")
_LIMIT_SIGN = {"edge_margin": "≥", "required": "≥", "zone": "≤", "keep_clear": "≤", "alignment": "≤"}
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


Label = tuple  # ((x, y), text, BGR colour, size[, movable]): movable labels give way to the others

_LABEL_GAP_PX = 2
_LABEL_TRIES = 12  # steps up and down (and sideways) a movable label may move to find free space


def _label_size(text: str, size: int) -> tuple[int, int, int, int]:
    left, top, right, bottom = _font(size).getbbox(text)
    return right - left + 6, bottom - top + 6, left, top


def _overlap(a, b) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0


def place_labels(texts: list[Label], width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Each label's plate (x1, y1, x2, y2) in the image, in the order given. Fixed labels (banner,
    legend, violation values, not-judged lines) keep their place; movable ones (item names, zone
    names) are placed after them, each at the nearest free spot to where it wants to be (up or
    down, then sideways), so that no label hides another or a measured value. Only when nothing
    is free within reach does a label take the spot where it overlaps least."""
    def clamp(x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
        x = int(min(max(x, 0), max(width - w, 0)))
        y = int(min(max(y, 0), max(height - h, 0)))
        return x, y, min(x + w, width), min(y + h, height)

    plates: list[tuple[int, int, int, int] | None] = [None] * len(texts)
    placed: list[tuple[int, int, int, int]] = []
    order = sorted(range(len(texts)), key=lambda i: bool(texts[i][4]) if len(texts[i]) > 4 else False)
    for i in order:
        (x, y), text, _, size, *rest = texts[i]
        w, h, _, _ = _label_size(text, size)
        if not (rest and rest[0]):
            plates[i] = clamp(x, y, w, h)
            placed.append(plates[i])
            continue
        step_y, step_x = h + _LABEL_GAP_PX, max(w // 3, 12)
        candidates = [(0, 0)]
        for k in range(1, _LABEL_TRIES + 1):
            candidates += [(0, -k * step_y), (0, k * step_y)]
        for k in range(1, 4):
            candidates += [(dx, dy) for dx in (-k * step_x, k * step_x) for dy in (0, -step_y, step_y)]
        best, best_cost = None, None
        for dx, dy in candidates:
            plate = clamp(x + dx, y + dy, w, h)
            grown = (plate[0] - _LABEL_GAP_PX, plate[1] - _LABEL_GAP_PX, plate[2] + _LABEL_GAP_PX, plate[3] + _LABEL_GAP_PX)
            cost = sum(_overlap(grown, other) for other in placed)
            if best_cost is None or cost < best_cost:
                best, best_cost = plate, cost
            if cost == 0:
                break
        plates[i] = best
        placed.append(best)
    return plates


def _put_texts(image: np.ndarray, texts: list[Label]) -> np.ndarray:
    """Draw (position, text, BGR colour, size[, movable]) labels with a CJK font, each on a dark
    plate, placed by place_labels so that none hides another. Each label is rendered on its own
    small patch: converting the whole photo to PIL and back costs more than all the labels."""
    out = image.copy()
    height, width = image.shape[:2]
    for ((_, _), text, colour, size, *_), (x1, y1, x2, y2) in zip(texts, place_labels(texts, width, height)):
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0:
            continue
        _, _, left, top = _label_size(text, size)
        font = _font(size)
        plate = Image.new("RGB", (w, h), (20, 20, 20))
        ImageDraw.Draw(plate).text((3 - left, 3 - top), text, font=font, fill=(colour[2], colour[1], colour[0]))
        out[y1:y2, x1:x2] = np.asarray(plate)[:, :, ::-1]
    return out


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
def results(report: Report) -> list[Violation]:
    """Every judged result the report explains: sure and conditional fails, then conditional passes."""
    return [*report.violations, *report.conditional_passes]


def value_text(result: Violation) -> str:
    """'2.2 ± 1.3 cm': the measured value with its expanded uncertainty, in the result's unit."""
    digits = 0 if result.unit == "count" else 1
    text = f"{result.measured:.{digits}f}"
    if result.uncertainty is not None:
        text += f" ± {result.uncertainty:.{digits}f}"
    return text + _UNIT.get(result.unit or "", "")


def result_text(result: Violation) -> str:
    """One line for a result: rule, measured ± U against the limit, and a tag when conditional."""
    if result.measured is None or result.unit is None:
        text = result.rule
    else:
        sign = _LIMIT_SIGN.get(result.kind)
        limit = f" ({sign} {result.required:g})" if sign and result.required is not None else ""
        text = f"{result.rule}: {value_text(result)}{limit}"
    return f"{text}  {CHECK_TAG[result.decision]}" if result.decision in CHECK_TAG else text


@dataclass(frozen=True)
class ItemMarks:
    colour: dict[int, Colour]  # every item: its worst result's colour, green, or grey when not judged
    notes: dict[int, list[tuple[str, Colour]]]  # result lines under an item, worst first
    unjudged: frozenset[int]  # items the rules did not judge at all
    partly_unjudged: frozenset[int]  # items some rule could not judge (report.not_judged)


def item_marks(report: Report) -> ItemMarks:
    worst: dict[int, str] = {}
    notes: dict[int, list[tuple[int, str, Colour]]] = {}
    for result in results(report):
        for item_id in result.item_ids:
            if _RANK[result.decision] > _RANK.get(worst.get(item_id, ""), 0):
                worst[item_id] = result.decision
            notes.setdefault(item_id, []).append((-_RANK[result.decision], result_text(result),
                                                  DECISION_COLOUR[result.decision]))
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


def _itemless_lines(report: Report) -> list[tuple[str, Colour]]:
    """Results that name no item (a required item missing, a count): nowhere else to draw them."""
    return [(result_text(r), DECISION_COLOUR[r.decision]) for r in results(report) if not r.item_ids]


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
        edges = [m.edge_index for m in margins if result.rule in m.rules] or [m.edge_index for m in margins]
        for item_id in result.item_ids:
            points = footprints.get(item_id)
            if points is None or len(points) == 0 or not edges:
                continue
            frames = {e: _edge_frame(desk, e) for e in edges}
            edge = min(edges, key=lambda e: abs(float(((points - frames[e][0]) @ frames[e][2]).min()) - result.measured))
            a, direction, inward, _ = frames[edge]
            along = (points - a) @ direction
            lo, hi = float(along.min()), float(along.max())
            near, far = result.measured - result.uncertainty, result.measured + result.uncertainty
            band = np.array([a + direction * lo + inward * near, a + direction * hi + inward * near,
                             a + direction * hi + inward * far, a + direction * lo + inward * far])
            edge_cm = np.array([a + direction * lo + inward * result.measured, a + direction * hi + inward * result.measured])
            bands.append(UncertaintyBand(band, edge_cm, result.decision, item_id))
    return bands


# -- the annotated photo -----------------------------------------------------------------------------
def annotate(image: np.ndarray, report: Report, camera: Camera, margins: list[MarginLine]) -> np.ndarray:
    """The photo with desk outline, zones, margin bands, items coloured by their worst result
    (red fail, amber check by eye, green pass, grey dashed not judged), each result's measured
    value ± U, the ±U band of margin results, and the rules that could not be judged."""
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

    marks = item_marks(report)
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
        for k, (note, note_colour) in enumerate(marks.notes.get(item.id, [])):
            texts.append(((int(round(item.bbox_px[0])), notes_y[item.id] + (size(14) + 6) * k), note, note_colour, size(14)))
    banner, colour = _banner(report)
    texts.append(((8, 8), banner, colour, size(22)))
    legend = _legend(8, 8 + size(22) + 12, size(13), out.shape[1])
    texts += legend
    below = max(y for (_, y), *_ in legend) + size(13) + 9
    texts += [((8, below + (size(14) + 6) * k), text, c, size(14)) for k, (text, c) in enumerate(_itemless_lines(report))]
    lines = _not_judged_lines(report)
    height = out.shape[0]
    texts += [((8, height - 8 - (size(13) + 6) * (len(lines) - k)), text, c, size(13)) for k, (text, c) in enumerate(lines)]
    return _put_texts(out, texts)


# -- the desk map ------------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _desk_map_grid(camera: Camera, px_per_cm: float, pad_cm: float, width: int, height: int):
    """For every desk-map pixel, where it lies in the photo (lens distortion included). Depends
    only on the camera, so it is computed once per camera, not per image."""
    min_x, min_y, _, _ = camera.desk.outline_cm.bounds
    map_x, map_y = np.meshgrid(np.arange(width, dtype=np.float64) + 0.5, np.arange(height, dtype=np.float64) + 0.5)
    desk_cm = np.stack([map_x.ravel() / px_per_cm + min_x - pad_cm, map_y.ravel() / px_per_cm + min_y - pad_cm], axis=1)
    source_px = camera.desk_to_image(desk_cm).astype(np.float32) - 0.5
    return source_px[:, 0].reshape(height, width), source_px[:, 1].reshape(height, width)


def desk_map(
    image: np.ndarray, report: Report, camera: Camera, margins: list[MarginLine], px_per_cm: float = 5.0
) -> np.ndarray:
    """Bird's-eye view of the desk top at a fixed scale: the customer-facing side is at the top,
    as a supervisor standing behind the chair would draw it; footprints, zones, margins on top.
    A margin result's ±U band is drawn around the item's measured outer edge, beside the limit
    line: where the band crosses that line, the result is conditional."""
    pad_cm = 8.0
    min_x, min_y, max_x, max_y = camera.desk.outline_cm.bounds
    width = int(round((max_x - min_x + 2 * pad_cm) * px_per_cm))
    height = int(round((max_y - min_y + 2 * pad_cm) * px_per_cm))

    def to_map(points_cm) -> np.ndarray:
        pts = np.asarray(points_cm, dtype=float).reshape(-1, 2)
        return np.stack([(pts[:, 0] - min_x + pad_cm) * px_per_cm, (pts[:, 1] - min_y + pad_cm) * px_per_cm], axis=1)

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

    marks = item_marks(report)
    texts = []
    for name, zone in desk.zones_cm.items():
        anchor = to_map([[zone.bounds[0], zone.bounds[1]]])[0]
        texts.append(((int(anchor[0]) + 2, int(anchor[1]) + 2), name, ZONE, 12))
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
        for k, (note, note_colour) in enumerate(marks.notes.get(item.id, [])):
            texts.append(((int(cx) - 20, int(cy) + 10 + 16 * k), note, note_colour, 12))
    # the ±U bands and limit lines last: they must read over the footprints
    for band in uncertainty_bands(report, desk, margins):
        colour = DECISION_COLOUR[band.decision]
        top = _blend_polygon(top, to_map(band.band_cm), colour, 0.7)
        cv2.polylines(top, [ipoints(band.band_cm)], True, colour, 1, cv2.LINE_AA)
        cv2.polylines(top, [ipoints(band.edge_cm)], False, (255, 255, 255), 1, cv2.LINE_AA)
    for line in margins:
        cv2.polylines(top, [ipoints(_limit_line_cm(camera, line))], False, MARGIN, 1, cv2.LINE_AA)
    fx, fy = to_map([[(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]])[0]
    texts.append(((int(fx) - 60, int(fy) - 30), "前沿 customer side", (0, 220, 255), 13))
    texts += _legend(4, height - 20, 12, width, up=True)
    return _put_texts(top, texts)
