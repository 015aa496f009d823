"""alignment: angle between an item and the nearest desk edge direction, in degrees."""

import pytest
from shapely import affinity
from shapely.geometry import Point, Polygon, box

from inspector.records import Desk, DeskItem
from rules.kinds.alignment import AlignmentParams, aspect, check, misalignment_deg

DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0)


def item(item_id, angle_deg, w_cm=44.0, d_cm=14.0, cls="keyboard"):
    footprint = affinity.rotate(box(50, 30, 50 + w_cm, 30 + d_cm), angle_deg, origin="centroid")
    return DeskItem(item_id, cls, 0.9, (0, 0, 1, 1), footprint, 3.0, angle_deg)


def params(**fields):
    return AlignmentParams(id="kept-square", **{"max_deg": 10.0, **fields})


def test_square_item_passes():
    assert check([item(1, 0.0)], DESK, params()) == []


def test_exactly_at_max_passes_and_beyond_fails():
    assert check([item(1, 10.0), item(2, -10.0)], DESK, params()) == []
    [v] = check([item(3, -12.5)], DESK, params())
    assert (v.rule, v.kind, v.severity, v.item_ids) == ("kept-square", "alignment", "minor", [3])
    assert (v.measured, v.required, v.unit) == (12.5, 10.0, "deg")
    assert v.message_zh == "3号键盘摆放歪斜 12.5°，要求与桌边夹角 ≤ 10.0°"


def test_quarter_turn_is_square_too():
    assert misalignment_deg(45.0, DESK) == 45.0
    assert misalignment_deg(-30.0, DESK) == 30.0


def test_nearly_square_or_round_items_are_not_judged():
    cup = DeskItem(1, "cup", 0.9, (0, 0, 1, 1), Point(20, 20).buffer(4), 10.0, 30.0)
    ink_pad = item(2, 30.0, w_cm=8.0, d_cm=8.0, cls="ink_pad")
    assert check([cup, ink_pad], DESK, params()) == []
    # min_aspect is a parameter: 11 x 10 (aspect 1.1) is judged once min_aspect allows it.
    slightly_long = item(3, 30.0, w_cm=11.0, d_cm=10.0)
    assert aspect(slightly_long.footprint_cm) == pytest.approx(1.1)
    assert check([slightly_long], DESK, params()) == []
    assert len(check([slightly_long], DESK, params(min_aspect=1.05))) == 1


def test_class_filter():
    assert check([item(1, 20.0)], DESK, params(classes=["monitor"])) == []
    assert len(check([item(1, 20.0)], DESK, params(classes=["keyboard"]))) == 1


def test_rotated_desk_uses_its_own_edges():
    turned = Desk(outline_cm=affinity.rotate(DESK.outline_cm, 30.0, origin=(0, 0)), front_edge=0)
    assert misalignment_deg(30.0, turned) == pytest.approx(0.0, abs=1e-9)
    assert misalignment_deg(0.0, turned) == pytest.approx(30.0, abs=1e-9)


def test_non_rectangular_desk_uses_the_nearest_edge_direction():
    # The slanted back edge runs from (160, 60) to (80, 80): about 165.96 degrees, i.e. -14.04 mod 90.
    pentagon = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 60), (80, 80), (0, 60)]), front_edge=0)
    assert misalignment_deg(-14.0, pentagon) == pytest.approx(0.0362, abs=1e-4)
    assert misalignment_deg(-7.0, pentagon) == 7.0  # nearer to the straight edges
