"""zone: an item must lie in its designated place; measured = how far its corners stick out."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import Polygon, box

from inspector.records import Desk, DeskItem
from rules.kinds.zone import ZoneParams, check, outside_cm

MONITOR_ZONE = Polygon([(95, 40), (155, 40), (155, 75), (95, 75)])
DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0, zones_cm={"monitor": MONITOR_ZONE})


def item(item_id, x_cm, y_cm, w_cm=55.0, d_cm=20.0, cls="monitor", angle_deg=0.0):
    footprint = affinity.rotate(box(x_cm, y_cm, x_cm + w_cm, y_cm + d_cm), angle_deg, origin="centroid")
    return DeskItem(item_id, cls, 0.9, (0, 0, 1, 1), footprint, 42.0, angle_deg)


def params(**fields):
    return ZoneParams(id="monitor-in-place", **{"classes": ["monitor"], "zone": "monitor", "tolerance_cm": 2.0, **fields})


def test_inside_passes():
    assert outside_cm(item(1, 97, 45).footprint_cm, MONITOR_ZONE) == 0.0
    assert check([item(1, 97, 45)], DESK, params()) == []


def test_sticking_out_by_exactly_the_tolerance_passes():
    # x 93..148: the left side is 2.0 cm outside the zone.
    assert outside_cm(item(1, 93, 45).footprint_cm, MONITOR_ZONE) == 2.0
    assert check([item(1, 93, 45)], DESK, params()) == []


def test_beyond_the_tolerance_is_a_violation_with_exact_numbers():
    [v] = check([item(7, 90.5, 45)], DESK, params())
    assert (v.rule, v.kind, v.severity, v.item_ids) == ("monitor-in-place", "zone", "minor", [7])
    assert (v.measured, v.required, v.unit) == (4.5, 2.0, "cm")
    assert v.message_zh == "7号显示器超出定置区「monitor」4.5 cm，允许偏差 ≤ 2.0 cm"
    assert v.message_en == "monitor #7 is 4.5 cm outside its place (zone 'monitor'); at most 2.0 cm allowed"


def test_corner_outside_both_ways_is_measured_diagonally():
    # Bottom-left corner at (92, 36): 3 cm left of and 4 cm below the zone's corner (95, 40).
    assert outside_cm(item(1, 92, 36).footprint_cm, MONITOR_ZONE) == 5.0


def test_zero_tolerance_needs_the_footprint_inside():
    assert check([item(1, 95, 40)], DESK, params(tolerance_cm=0.0)) == []  # exactly on the border
    [v] = check([item(1, 94.9, 40)], DESK, params(tolerance_cm=0.0))
    assert v.measured == pytest.approx(0.1, abs=1e-12)


def test_items_of_other_classes_are_not_this_rules_business():
    assert check([item(1, 0, 0, cls="keyboard")], DESK, params()) == []


def test_required_reports_a_missing_item():
    [v] = check([], DESK, params(required=True))
    assert (v.item_ids, v.measured, v.required, v.unit) == ([], 0.0, 1.0, "count")
    assert v.message_zh == "定置区「monitor」内未见显示器"
    assert check([], DESK, params()) == []


def test_every_item_of_the_class_is_checked():
    violations = check([item(1, 97, 45), item(2, 0, 0)], DESK, params())
    assert [v.item_ids for v in violations] == [[2]]


@given(dx_cm=st.floats(0, 5), dy_cm=st.floats(0, 15))
def test_any_placement_inside_the_zone_measures_zero(dx_cm, dy_cm):
    assert outside_cm(item(1, 95 + dx_cm, 40 + dy_cm).footprint_cm, MONITOR_ZONE) == 0.0


@given(out_cm=st.floats(0, 40))
def test_shifting_left_out_of_the_zone_measures_the_shift(out_cm):
    assert outside_cm(item(1, 95 - out_cm, 45).footprint_cm, MONITOR_ZONE) == pytest.approx(out_cm, abs=1e-9)
