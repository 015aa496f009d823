"""`keep_clear`: a zone that must stay empty (e.g. the customer pass-through), except listed classes.

An intrusion is measured by its depth: the largest distance from the zone's boundary reached
by any part of a footprint inside the zone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import shapely
from pydantic import Field, StrictFloat
from shapely.geometry import Polygon
from shapely.ops import nearest_points

from inspector.records import Desk, DeskItem
from inspector.uncertainty import cut_toward, sigma_toward
from rules.kinds import Finding, RuleParams, register

_DEPTH_TOLERANCE_CM = 1e-9


class KeepClearParams(RuleParams):
    class_fields: ClassVar[tuple[str, ...]] = ("except_classes",)
    zone_fields: ClassVar[tuple[str, ...]] = ("zone",)

    zone: str = Field(min_length=1)
    except_classes: tuple[str, ...] = ()
    tolerance_cm: StrictFloat = Field(0.0, ge=0)  # intrusions up to this depth are accepted


def intrusion_depth_cm(footprint: Polygon, zone: Polygon) -> float:
    """How deep the footprint reaches into the zone, in cm (0 when it only touches or stays out)."""
    part = footprint.intersection(zone)
    if part.area <= 0.0:
        return 0.0
    # Corners of the overlap give the exact depth when the item pokes in from outside (the usual case).
    corners = shapely.points(shapely.get_coordinates(part))
    low = float(shapely.distance(zone.boundary, corners).max())
    if not zone.buffer(-(low + _DEPTH_TOLERANCE_CM)).intersects(part):
        return low
    # The deepest point lies inside the overlap (e.g. an item covering the zone's middle): bisect on
    # how far the zone can be shrunk and still meet the footprint.
    min_x, min_y, max_x, max_y = zone.bounds
    high = min(max_x - min_x, max_y - min_y) / 2.0
    while high - low > _DEPTH_TOLERANCE_CM:
        mid = (low + high) / 2.0
        if zone.buffer(-mid).intersects(part):
            low = mid
        else:
            high = mid
    return low


def intrusion_direction(footprint: Polygon, zone: Polygon) -> tuple[float, float]:
    """Unit direction in which the item moving would reach deeper into the zone: from the item's
    nearest point toward the zone's when apart, else from the item's centre toward the zone's."""
    if footprint.intersects(zone):
        a, b = footprint.centroid, zone.centroid
    else:
        a, b = nearest_points(footprint, zone)
    dx, dy = b.x - a.x, b.y - a.y
    length = math.hypot(dx, dy)
    return (dx / length, dy / length) if length > 0 else (0.0, 0.0)


@register("keep_clear", KeepClearParams)
def check(items: Sequence[DeskItem], desk: Desk, params: KeepClearParams) -> list[Finding]:
    zone = desk.zones_cm[params.zone]
    findings: list[Finding] = []
    for item in items:
        if item.class_name in params.except_classes:
            continue
        # negative: how far the item stays out of the zone (what its uncertainty may close)
        depth_cm = intrusion_depth_cm(item.footprint_cm, zone) or -float(item.footprint_cm.distance(zone))
        direction = intrusion_direction(item.footprint_cm, zone)
        if cut_toward(item, direction):
            findings.append(params.cut_off([item], f"zone '{params.zone}' kept clear", f"保持空置区域「{params.zone}」"))
            continue

        def say(shown: str, item=item, depth_cm=depth_cm) -> tuple[str, str]:
            if depth_cm < 0:
                shown_out = shown.lstrip("-")
                return (f"{params.item_en(item)} is {shown_out} cm from zone '{params.zone}', which must stay clear",
                        f"{params.item_zh(item)}距须保持空置的区域「{params.zone}」{shown_out} cm")
            return (f"{params.item_en(item)} reaches {shown} cm into zone '{params.zone}', which must stay clear",
                    f"{params.item_zh(item)}伸入须保持空置的区域「{params.zone}」{shown} cm")

        finding = params.judged(item, measured=depth_cm, required=params.tolerance_cm,
                                uncertainty=params.expanded(sigma_toward(item, direction)),
                                at_least=False, unit="cm", say=say)
        if finding is not None:
            findings.append(finding)
    return findings
