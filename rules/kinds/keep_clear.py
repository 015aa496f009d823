"""`keep_clear`: a zone that must stay empty (e.g. the customer pass-through), except listed classes.

An intrusion is measured by its depth: the largest distance from the zone's boundary reached
by any part of a footprint inside the zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import shapely
from pydantic import Field, StrictFloat
from shapely.geometry import Polygon

from inspector.records import Desk, DeskItem, Violation
from rules.kinds import RuleParams, fmt, register

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


@register("keep_clear", KeepClearParams)
def check(items: Sequence[DeskItem], desk: Desk, params: KeepClearParams) -> list[Violation]:
    zone = desk.zones_cm[params.zone]
    violations = []
    for item in items:
        if item.class_name in params.except_classes:
            continue
        depth_cm = intrusion_depth_cm(item.footprint_cm, zone)
        if depth_cm <= params.tolerance_cm:
            continue
        violations.append(
            params.violation(
                item_ids=[item.id],
                measured=depth_cm,
                required=params.tolerance_cm,
                unit="cm",
                message_en=(
                    f"{params.item_en(item)} reaches {fmt(depth_cm)} cm into zone '{params.zone}',"
                    " which must stay clear"
                ),
                message_zh=f"{params.item_zh(item)}伸入须保持空置的区域「{params.zone}」{fmt(depth_cm)} cm",
            )
        )
    return violations
