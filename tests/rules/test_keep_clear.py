"""keep_clear: a zone that must stay empty; measured = how deep a footprint reaches into it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from inspector.records import Desk, DeskItem
from rules.kinds.keep_clear import KeepClearParams, check, intrusion_depth_cm

PASS_THROUGH = Polygon([(60, 0), (95, 0), (95, 25), (60, 25)])
DESK = Desk(
    outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0, zones_cm={"pass_through": PASS_THROUGH}
)


def item(item_id, x0, y0, x1, y1, cls="telephone"):
    return DeskItem(item_id, cls, 0.9, (0, 0, 1, 1), box(x0, y0, x1, y1), 9.0, 0.0)


def params(**fields):
    return KeepClearParams(id="pass-through-clear", **{"zone": "pass_through", **fields})


def test_item_outside_or_touching_is_fine():
    assert check([item(1, 10, 10, 30, 28), item(2, 40, 5, 60, 20), item(3, 60, 25, 80, 40)], DESK, params()) == []


def test_poking_in_from_the_side_measures_the_reach():
    # x 50..63: 3 cm past the zone's left side x = 60.
    [v] = check([item(4, 50, 5, 63, 20)], DESK, params())
    assert (v.rule, v.kind, v.severity, v.item_ids) == ("pass-through-clear", "keep_clear", "major", [4])
    assert (v.measured, v.required, v.unit) == (3.0, 0.0, "cm")
    assert v.message_zh == "4号电话伸入须保持空置的区域「pass_through」3.0 cm"


def test_depth_is_measured_to_the_nearest_zone_side():
    # Reaches x = 70 (10 cm past the left side) but only y 0..4 (4 cm past the front side).
    assert intrusion_depth_cm(box(50, -5, 70, 4), PASS_THROUGH) == 4.0


def test_small_item_in_the_middle():
    # x 70..80, y 5..10: its corner (70, 10) is 10 cm from the nearest sides.
    assert intrusion_depth_cm(box(70, 5, 80, 10), PASS_THROUGH) == 10.0


def test_item_covering_the_zone_reaches_its_centre():
    # No corner of the overlap lies inside; the deepest point is the zone's centre line, 12.5 cm in.
    assert intrusion_depth_cm(box(50, -5, 100, 30), PASS_THROUGH) == pytest.approx(12.5, abs=1e-8)


def test_excepted_classes_and_tolerance():
    assert check([item(1, 65, 5, 75, 15, cls="brochure")], DESK, params(except_classes=["brochure"])) == []
    assert check([item(1, 50, 5, 61, 20)], DESK, params(tolerance_cm=1.0)) == []  # exactly 1.0 deep
    [v] = check([item(1, 50, 5, 61.5, 20)], DESK, params(tolerance_cm=1.0))
    assert (v.measured, v.required) == (1.5, 1.0)


@given(reach_cm=st.floats(0.001, 12.5))
def test_reach_from_the_side_equals_the_depth(reach_cm):
    footprint = box(40, 0, 60 + reach_cm, 25)  # full zone height, from the left
    assert intrusion_depth_cm(footprint, PASS_THROUGH) == pytest.approx(reach_cm, abs=1e-8)
