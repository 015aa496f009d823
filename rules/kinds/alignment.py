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

from inspector.records import Desk, DeskItem
from rules.kinds import ClassSelector, Finding, RuleParams, Severity, fmt, fold_deg, register, selects


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


def angle_sigma_deg(item: DeskItem) -> float | None:
    """Standard uncertainty of the item's turn, degrees: the ends of its long side each as
    uncertain as its extent, sqrt(2) u / L radians (first order)."""
    if item.extent_sigma_cm is None:
        return None
    corners = list(item.footprint_cm.minimum_rotated_rectangle.exterior.coords)
    long_side = max(math.dist(corners[0], corners[1]), math.dist(corners[1], corners[2]))
    if long_side <= 0:
        return None
    sigma_cm = math.sqrt(sum(v * v for v in item.extent_sigma_cm) / 4)
    return math.degrees(math.sqrt(2) * sigma_cm / long_side)


@register("alignment", AlignmentParams)
def check(items: Sequence[DeskItem], desk: Desk, params: AlignmentParams) -> list[Finding]:
    findings: list[Finding] = []
    mine = [item for item in items
            if selects(params.classes, item.class_name) and aspect(item.footprint_cm) >= params.min_aspect]
    unseen = [item for item in mine if not item.turn_seen]
    if unseen:
        # a box shows how far an item reaches, not which way it is turned: its angle reads 0.0
        findings.append(params.not_judged(
            unseen, "kept square: the turn is not seen (placed from its detection box alone; an outline is needed)",
            "摆放端正：仅有检测框，无法看出物品的朝向"))
    for item in mine:
        if not item.turn_seen:
            continue
        off_deg = misalignment_deg(item.angle_deg, desk)
        sigma = angle_sigma_deg(item)

        def say(shown: str, item=item) -> tuple[str, str]:
            return (f"{params.item_en(item)} is turned {shown}° from the desk edges; at most {fmt(params.max_deg)}° allowed",
                    f"{params.item_zh(item)}摆放歪斜 {shown}°，要求与桌边夹角 ≤ {fmt(params.max_deg)}°")

        finding = params.judged(item, measured=off_deg, required=params.max_deg,
                                uncertainty=None if sigma is None else params.coverage_factor * sigma,
                                at_least=False, unit="deg", say=say)
        if finding is not None:
            findings.append(finding)
    return findings
