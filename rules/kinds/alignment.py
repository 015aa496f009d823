"""`alignment`: items are kept square to the desk (摆放端正).

The angle is between the item's footprint orientation and the nearest desk edge direction,
both taken modulo 90 degrees since a rectangle looks the same turned a quarter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field, StrictFloat
from shapely.geometry import Polygon

from inspector.records import Desk, DeskItem, Violation
from rules.kinds import ClassSelector, RuleParams, Severity, fmt, fold_deg, register, selects


class AlignmentParams(RuleParams):
    class_fields: ClassVar[tuple[str, ...]] = ("classes",)

    severity: Severity = "minor"
    classes: ClassSelector = "all"
    max_deg: StrictFloat = Field(gt=0, le=45)
    # Nearly square or round footprints have no meaningful orientation, so they are not judged.
    min_aspect: StrictFloat = Field(1.2, ge=1)


def aspect(footprint: Polygon) -> float:
    """Long side over short side of the footprint's minimum rotated rectangle (inf if degenerate)."""
    corners = list(footprint.minimum_rotated_rectangle.exterior.coords)
    if len(corners) < 5:
        return math.inf
    sides = [math.dist(corners[0], corners[1]), math.dist(corners[1], corners[2])]
    return max(sides) / min(sides) if min(sides) > 0 else math.inf


def edge_directions_deg(desk: Desk) -> list[float]:
    coords = list(desk.outline_cm.exterior.coords)
    return [
        math.degrees(math.atan2(by - ay, bx - ax))
        for (ax, ay), (bx, by) in zip(coords, coords[1:])
        if (ax, ay) != (bx, by)
    ]


def misalignment_deg(angle_deg: float, desk: Desk) -> float:
    """Angle from `angle_deg` to the nearest desk edge direction, in [0, 45]."""
    return min(abs(fold_deg(angle_deg - edge_deg)) for edge_deg in edge_directions_deg(desk))


@register("alignment", AlignmentParams)
def check(items: Sequence[DeskItem], desk: Desk, params: AlignmentParams) -> list[Violation]:
    violations = []
    for item in items:
        if not selects(params.classes, item.class_name) or aspect(item.footprint_cm) < params.min_aspect:
            continue
        off_deg = misalignment_deg(item.angle_deg, desk)
        if off_deg <= params.max_deg:
            continue
        violations.append(
            params.violation(
                item_ids=[item.id],
                measured=off_deg,
                required=params.max_deg,
                unit="deg",
                message_en=(
                    f"{params.item_en(item)} is turned {fmt(off_deg)}° from the desk edges;"
                    f" at most {fmt(params.max_deg)}° allowed"
                ),
                message_zh=f"{params.item_zh(item)}摆放歪斜 {fmt(off_deg)}°，要求与桌边夹角 ≤ {fmt(params.max_deg)}°",
            )
        )
    return violations
