"""`edge_margin`: an item's outermost point must stay at least `min_cm` inside a desk edge.

The margin is measured inward from the edge segment: positive inside the desk, negative for
the part of a footprint that hangs over the edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

import shapely
from pydantic import BeforeValidator, Field, StrictFloat
from shapely.geometry import LineString, Point, Polygon

from inspector.records import Desk, DeskItem
from inspector.uncertainty import cut_toward, sigma_toward
from rules.kinds import ClassSelector, Finding, RuleParams, fmt, register, selects

EDGE_NAMES_ZH = {"front": "前沿", "back": "后沿", "left": "左沿", "right": "右沿"}
EDGE_NAMES = tuple(EDGE_NAMES_ZH)


def _edge_selector(value: object) -> Literal["all"] | tuple[str | int, ...]:
    if value == "all":
        return "all"
    edges = value if isinstance(value, list | tuple) else [value]
    if not edges:
        raise ValueError("expected 'all', an edge or a non-empty list of edges")
    for edge in edges:
        if isinstance(edge, bool) or not (edge in EDGE_NAMES or (isinstance(edge, int) and edge >= 0)):
            raise ValueError(f"unknown edge {edge!r}: use {', '.join(EDGE_NAMES)}, an edge index >= 0 or 'all'")
    return tuple(edges)


# `edges: all`, `edges: front`, `edges: [front, left]` or outline edge indices `[0, 3]`.
EdgeSelector = Annotated[Literal["all"] | tuple[str | int, ...], BeforeValidator(_edge_selector)]


class EdgeMarginParams(RuleParams):
    class_fields: ClassVar[tuple[str, ...]] = ("classes",)

    edges: EdgeSelector = ("front",)
    classes: ClassSelector = "all"
    min_cm: StrictFloat = Field(ge=0)

    def edge_indices(self, desk: Desk) -> list[int]:
        """The outline edges this rule checks, in order, each once (call after desk_problems)."""
        n = len(desk.outline_cm.exterior.coords) - 1
        if self.edges == "all":
            return list(range(n))
        names = desk.edge_names
        indices = [names[e] if isinstance(e, str) else e for e in self.edges]
        return list(dict.fromkeys(indices))

    def desk_problems(self, desk: Desk) -> list[str]:
        problems = super().desk_problems(desk)
        n = len(desk.outline_cm.exterior.coords) - 1
        for edge in () if self.edges == "all" else self.edges:
            if isinstance(edge, str) and edge not in desk.edge_names:
                problems.append(f"edge {edge!r} has no name on this {n}-sided desk; use an edge index 0..{n - 1}")
            if isinstance(edge, int) and edge >= n:
                problems.append(f"edge index {edge} is out of range for this {n}-sided desk")
        return problems


def inward_margin_cm(footprint: Polygon, desk: Desk, edge: int) -> float:
    """Smallest inward distance from the footprint to outline edge `edge` (negative = over it)."""
    (ax, ay), (bx, by) = desk.edge(edge)
    length = math.hypot(bx - ax, by - ay)
    if length == 0.0:  # a repeated outline vertex: the "edge" is a point
        return float(footprint.distance(Point(ax, ay)))
    ux, uy = (bx - ax) / length, (by - ay) / length
    side = 1.0 if desk.outline_cm.exterior.is_ccw else -1.0
    nx, ny = -uy * side, ux * side  # inward normal: left of a->b on a counter-clockwise outline

    def along(x: float, y: float) -> float:
        return (x - ax) * ux + (y - ay) * uy

    def inward(x: float, y: float) -> float:
        return (x - ax) * nx + (y - ay) * ny

    coords = list(footprint.exterior.coords)
    if all(0.0 <= along(x, y) <= length for x, y in coords):
        return min(inward(x, y) for x, y in coords)  # the usual case, exact: vertices beside the edge
    # Only the part of the footprint beside this edge counts; beyond its ends is other edges' business.
    reach = max(math.hypot(x - ax, y - ay) for x, y in coords) + 1.0  # the band covers the whole footprint
    band = Polygon(
        [
            (ax - nx * reach, ay - ny * reach),
            (bx - nx * reach, by - ny * reach),
            (bx + nx * reach, by + ny * reach),
            (ax + nx * reach, ay + ny * reach),
        ]
    )
    part = footprint.intersection(band)
    if part.is_empty:
        return float(footprint.distance(LineString([(ax, ay), (bx, by)])))
    return float(min(inward(x, y) for x, y in shapely.get_coordinates(part)))


def _edge_label(desk: Desk, edge: int) -> tuple[str, str]:
    names = {index: name for name, index in desk.edge_names.items()}
    if edge in names:
        return f"the {names[edge]} edge", f"桌面{EDGE_NAMES_ZH[names[edge]]}"
    return f"desk edge {edge}", f"桌面第 {edge} 条边"


def outward_direction(desk: Desk, edge: int) -> tuple[float, float]:
    """Unit direction from the desk across outline edge `edge` (counter-clockwise outline)."""
    (ax, ay), (bx, by) = desk.edge(edge)
    length = math.hypot(bx - ax, by - ay) or 1.0
    side = 1.0 if desk.outline_cm.exterior.is_ccw else -1.0
    return (by - ay) / length * side, -(bx - ax) / length * side


@register("edge_margin", EdgeMarginParams)
def check(items: Sequence[DeskItem], desk: Desk, params: EdgeMarginParams) -> list[Finding]:
    findings: list[Finding] = []
    for edge in params.edge_indices(desk):
        edge_en, edge_zh = _edge_label(desk, edge)
        outward = outward_direction(desk, edge)
        cut = [item for item in items if selects(params.classes, item.class_name) and cut_toward(item, outward)]
        cut_ids = {item.id for item in cut}
        if cut:
            findings.append(params.cut_off(cut, f"margin to {edge_en}", f"距{edge_zh}边距", side=True))
        for item in items:
            if not selects(params.classes, item.class_name) or item.id in cut_ids:
                continue
            margin_cm = inward_margin_cm(item.footprint_cm, desk, edge)

            def say(shown: str, item=item, margin_cm=margin_cm) -> tuple[str, str]:
                if margin_cm < 0:
                    shown_over = shown.lstrip("-") if shown.startswith("-") else shown
                    en = f"{params.item_en(item)} sticks out {shown_over} cm over {edge_en}"
                    zh = f"{params.item_zh(item)}超出{edge_zh} {shown_over} cm，要求向内留出"
                else:
                    en = f"{params.item_en(item)} is {shown} cm from {edge_en}"
                    zh = f"{params.item_zh(item)}外沿距{edge_zh} {shown} cm，要求"
                return f"{en}; at least {fmt(params.min_cm)} cm required", f"{zh} ≥ {fmt(params.min_cm)} cm"

            finding = params.judged(item, measured=margin_cm, required=params.min_cm,
                                    uncertainty=params.expanded(sigma_toward(item, outward)),
                                    at_least=True, unit="cm", say=say)
            if finding is not None:
                findings.append(finding)
    return findings
