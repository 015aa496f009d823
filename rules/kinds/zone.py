"""`zone`: an item must lie inside its designated place (定位, the shadow outline of 行迹管理).

How far it sticks out is the largest distance of a footprint corner outside the zone polygon;
up to `tolerance_cm` is accepted, i.e. the zone grown by the tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import shapely
from pydantic import Field, StrictBool, StrictFloat
from shapely.geometry import Polygon

from inspector.records import Desk, DeskItem, Violation
from rules.kinds import ClassList, RuleParams, Severity, fmt, register


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


@register("zone", ZoneParams)
def check(items: Sequence[DeskItem], desk: Desk, params: ZoneParams) -> list[Violation]:
    zone = desk.zones_cm[params.zone]
    mine = [item for item in items if item.class_name in params.classes]
    violations = []
    if params.required and not mine:
        names_en = ", ".join(params.label_en(c) for c in params.classes)
        names_zh = "、".join(params.label_zh(c) for c in params.classes)
        violations.append(
            params.violation(
                measured=0.0,
                required=1.0,
                unit="count",
                message_en=f"no {names_en} in its place (zone '{params.zone}')",
                message_zh=f"定置区「{params.zone}」内未见{names_zh}",
            )
        )
    for item in mine:
        out_cm = outside_cm(item.footprint_cm, zone)
        if out_cm <= params.tolerance_cm:
            continue
        violations.append(
            params.violation(
                item_ids=[item.id],
                measured=out_cm,
                required=params.tolerance_cm,
                unit="cm",
                message_en=(
                    f"{params.item_en(item)} is {fmt(out_cm)} cm outside its place (zone '{params.zone}');"
                    f" at most {fmt(params.tolerance_cm)} cm allowed"
                ),
                message_zh=(
                    f"{params.item_zh(item)}超出定置区「{params.zone}」{fmt(out_cm)} cm，"
                    f"允许偏差 ≤ {fmt(params.tolerance_cm)} cm"
                ),
            )
        )
    return violations
