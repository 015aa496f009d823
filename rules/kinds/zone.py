"""`zone`: an item must lie inside its designated place (定位, the shadow outline of 行迹管理).

How far it sticks out is the largest distance of a footprint corner outside the zone polygon;
up to `tolerance_cm` is accepted, i.e. the zone grown by the tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import shapely
from pydantic import Field, StrictBool, StrictFloat
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

from inspector.records import Desk, DeskItem
from inspector.uncertainty import cut_toward, sigma_toward
from rules.kinds import ClassList, Finding, RuleParams, Severity, fmt, register

# An item whose image box is more than this share covered by items in front of it is mostly
# hidden: where it stands is a guess, so its place is not judged.
HIDDEN_SHARE = 0.5


class ZoneParams(RuleParams):
    class_fields: ClassVar[tuple[str, ...]] = ("classes",)
    zone_fields: ClassVar[tuple[str, ...]] = ("zone",)

    severity: Severity = "minor"  # a place drawn on the desk; being off it is a lesser fault
    classes: ClassList
    zone: str = Field(min_length=1)
    tolerance_cm: StrictFloat = Field(0.0, ge=0)
    required: StrictBool = False  # also a violation when no item of these classes is on the desk


def outside_cm(footprint: Polygon, zone: Polygon) -> float:
    """Largest distance of a footprint corner outside `zone` (0 when it lies inside)."""
    corners = shapely.points(shapely.get_coordinates(footprint))
    return float(shapely.distance(zone, corners).max())


def signed_outside(footprint: Polygon, zone: Polygon) -> tuple[float, tuple[float, float]]:
    """How far the footprint's furthest-out corner lies outside `zone` (negative: how far inside
    the zone's edge the corner nearest to leaving it is), and the unit direction across the zone's
    edge there: the direction in which the item's uncertainty moves that value."""
    best = None
    for x, y in list(footprint.exterior.coords)[:-1]:
        corner = Point(x, y)
        edge_point = nearest_points(zone.exterior, corner)[0]
        gap = corner.distance(edge_point)
        signed = -gap if zone.contains(corner) else gap
        if best is None or signed > best[0]:
            dx, dy = x - edge_point.x, y - edge_point.y
            if signed < 0:
                dx, dy = -dx, -dy
            best = (signed, (dx, dy))
    signed, (dx, dy) = best
    length = math.hypot(dx, dy)
    return signed, ((dx / length, dy / length) if length > 0 else (0.0, 0.0))


@register("zone", ZoneParams)
def check(items: Sequence[DeskItem], desk: Desk, params: ZoneParams) -> list[Finding]:
    zone = desk.zones_cm[params.zone]
    mine = [item for item in items if item.class_name in params.classes]
    findings: list[Finding] = []
    if params.required and not mine:
        names_en = ", ".join(params.label_en(c) for c in params.classes)
        names_zh = "、".join(params.label_zh(c) for c in params.classes)
        findings.append(
            params.violation(
                measured=0.0,
                required=1.0,
                unit="count",
                message_en=f"no {names_en} in its place (zone '{params.zone}')",
                message_zh=f"定置区「{params.zone}」内未见{names_zh}",
            )
        )
    hidden = [item for item in mine if item.hidden_share > HIDDEN_SHARE]
    if hidden:
        findings.append(params.not_judged(
            hidden, f"place (zone '{params.zone}'): the item is mostly hidden behind others",
            f"定置区「{params.zone}」：物品大部分被遮挡"))
    for item in mine:
        if item.hidden_share > HIDDEN_SHARE:
            continue
        out_cm, direction = signed_outside(item.footprint_cm, zone)
        if cut_toward(item, direction):
            findings.append(params.cut_off([item], f"place (zone '{params.zone}')", f"定置区「{params.zone}」"))
            continue

        def say(shown: str, item=item, out_cm=out_cm) -> tuple[str, str]:
            if out_cm < 0:
                shown_in = shown.lstrip("-")
                return (f"{params.item_en(item)} is {shown_in} cm inside the edge of its place (zone '{params.zone}');"
                        f" at most {fmt(params.tolerance_cm)} cm outside allowed",
                        f"{params.item_zh(item)}距定置区「{params.zone}」边缘 {shown_in} cm（在区内），"
                        f"允许偏差 ≤ {fmt(params.tolerance_cm)} cm")
            return (f"{params.item_en(item)} is {shown} cm outside its place (zone '{params.zone}');"
                    f" at most {fmt(params.tolerance_cm)} cm allowed",
                    f"{params.item_zh(item)}超出定置区「{params.zone}」{shown} cm，允许偏差 ≤ {fmt(params.tolerance_cm)} cm")

        finding = params.judged(item, measured=out_cm, required=params.tolerance_cm,
                                uncertainty=params.expanded(sigma_toward(item, direction)),
                                at_least=False, unit="cm", say=say)
        if finding is not None:
            findings.append(finding)
    return findings
