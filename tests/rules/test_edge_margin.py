"""edge_margin: inward distance from a footprint to a desk edge, exact on hand-made geometry."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import Polygon, box

from inspector.errors import StandardError
from inspector.records import Desk, DeskItem
from rules.engine import check_desk
from rules.kinds.edge_margin import EdgeMarginParams, check, inward_margin_cm
from rules.standard import parse_standard

# 160 x 80 cm desk, counter-clockwise from the front-left corner, edge 0 = front (y = 0).
DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0)


def item(item_id, x_cm, y_cm, w_cm=10.0, d_cm=10.0, cls="cup", angle_deg=0.0):
    footprint = affinity.rotate(box(x_cm, y_cm, x_cm + w_cm, y_cm + d_cm), angle_deg, origin="centroid")
    return DeskItem(item_id, cls, 0.9, (0, 0, 1, 1), footprint, 10.0, angle_deg)


def params(**fields):
    return EdgeMarginParams(id="front-margin", **{"min_cm": 5.0, **fields})


def test_margin_is_distance_to_front_edge():
    assert inward_margin_cm(item(1, 20, 3).footprint_cm, DESK, 0) == 3.0


def test_footprint_over_the_front_edge_gives_negative_margin():
    assert inward_margin_cm(item(1, 20, -2.5).footprint_cm, DESK, 0) == -2.5


def test_other_edges_measured_inward():
    footprint = item(1, 20, 3).footprint_cm  # x 20..30, y 3..13
    assert inward_margin_cm(footprint, DESK, 1) == 130.0  # right, x = 160
    assert inward_margin_cm(footprint, DESK, 2) == 67.0  # back, y = 80
    assert inward_margin_cm(footprint, DESK, 3) == 20.0  # left, x = 0


def test_clockwise_outline_measures_the_same():
    clockwise = Desk(outline_cm=Polygon([(0, 0), (0, 80), (160, 80), (160, 0)]), front_edge=3)
    assert inward_margin_cm(item(1, 20, 3).footprint_cm, clockwise, 3) == 3.0
    assert inward_margin_cm(item(1, 20, -1).footprint_cm, clockwise, 3) == -1.0


def test_rotated_footprint_uses_its_lowest_corner():
    # A 10 x 10 square turned 45 degrees around (25, 20) reaches down to y = 20 - 5 * sqrt(2).
    footprint = item(1, 20, 15, angle_deg=45).footprint_cm
    assert inward_margin_cm(footprint, DESK, 0) == pytest.approx(20 - 50**0.5, abs=1e-9)


def test_violation_carries_exact_numbers_and_messages():
    [v] = check([item(3, 20, 3)], DESK, params())
    assert (v.rule, v.kind, v.severity, v.item_ids) == ("front-margin", "edge_margin", "major", [3])
    assert (v.measured, v.required, v.unit) == (3.0, 5.0, "cm")
    assert v.message_zh == "3号水杯外沿距桌面前沿 3.0 cm，要求 ≥ 5.0 cm"
    assert "water cup #3 is 3.0 cm from the front edge" in v.message_en


def test_overhang_message():
    [v] = check([item(4, 20, -1.5)], DESK, params())
    assert v.measured == -1.5
    assert v.message_zh == "4号水杯超出桌面前沿 1.5 cm，要求向内留出 ≥ 5.0 cm"
    assert v.message_en == "water cup #4 sticks out 1.5 cm over the front edge; at least 5.0 cm required"


def test_exactly_at_min_passes_and_just_inside_fails():
    assert check([item(1, 20, 5.0)], DESK, params()) == []
    [v] = check([item(1, 20, 4.99)], DESK, params())
    assert v.measured == 4.99


def test_class_filter():
    items = [item(1, 20, 1, cls="cup"), item(2, 40, 1, cls="monitor")]
    assert [v.item_ids for v in check(items, DESK, params(classes=["monitor"]))] == [[2]]
    assert [v.item_ids for v in check(items, DESK, params(classes="all"))] == [[1], [2]]


def test_edges_by_name_index_and_all():
    near_left = item(1, 2, 40)  # 2 cm from the left edge, far from the others
    assert [v.measured for v in check([near_left], DESK, params(edges=["left"]))] == [2.0]
    assert [v.measured for v in check([near_left], DESK, params(edges=[3]))] == [2.0]
    assert [v.measured for v in check([near_left], DESK, params(edges="all"))] == [2.0]
    assert check([near_left], DESK, params(edges=["front", "back"])) == []
    # The same edge named twice is checked once.
    assert len(check([near_left], DESK, params(edges=["left", 3]))) == 1


def test_part_beyond_the_edge_ends_is_not_measured_against_it():
    # An L-shaped desk: the front edge of the right wing is y = 40 between x = 100 and 160.
    l_desk = Desk(
        outline_cm=Polygon([(0, 0), (100, 0), (100, 40), (160, 40), (160, 80), (0, 80)]), front_edge=0
    )
    wing_front = 2  # (100, 40) -> (160, 40)
    # An item on the left wing near y = 40 lies beside edge 0's span, not beside the wing's front.
    on_left_wing = item(1, 50, 35).footprint_cm
    assert inward_margin_cm(on_left_wing, l_desk, wing_front) == 40.0  # plain distance, (60, 40) to (100, 40)
    # Straddling x = 100: only the part beside the wing's front counts.
    straddling = box(95, 42, 110, 50)
    assert inward_margin_cm(straddling, l_desk, wing_front) == pytest.approx(2.0, abs=1e-9)


def test_corner_overhang_counts_only_the_part_beside_the_edge():
    # Hanging over the front-left corner: 2 cm over the front, 3 cm over the left.
    footprint = box(-3, -2, 7, 8)
    assert inward_margin_cm(footprint, DESK, 0) == -2.0
    assert inward_margin_cm(footprint, DESK, 3) == -3.0
    # Far off the desk in front, still beside the front edge: the whole depth is outside.
    assert inward_margin_cm(box(50, -510, 60, -500), DESK, 0) == -510.0


def test_named_edge_missing_on_a_five_sided_desk_is_a_standard_error():
    pentagon = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 60), (80, 80), (0, 60)]), front_edge=0)
    standard = parse_standard(
        {
            "id": "s",
            "version": "1",
            "name_zh": "标准",
            "name_en": "standard",
            "items": {"cup": {"max": 1}},
            "rules": [{"id": "back-margin", "kind": "edge_margin", "edges": ["back"], "min_cm": 5}],
        },
        "s.yaml",
    )
    with pytest.raises(StandardError, match="back-margin.*'back'"):
        check_desk(standard, pentagon)
    # Edge indices work on any outline: edge 3 runs (80, 80) -> (0, 60), inward normal (20, -80) / |..|;
    # the nearest corner of the item (x 10..20, y 50..60) is (10, 60).
    [v] = check([item(1, 10, 50)], pentagon, params(edges=[3]))
    assert v.measured == pytest.approx(((10 - 80) * 20 + (60 - 80) * -80) / 6800**0.5, abs=1e-9)


@given(
    x_cm=st.floats(0, 150),
    y_cm=st.floats(0, 40),
    shift_cm=st.floats(0, 30),
)
def test_shifting_toward_the_staff_adds_exactly_the_shift(x_cm, y_cm, shift_cm):
    before = inward_margin_cm(item(1, x_cm, y_cm).footprint_cm, DESK, 0)
    after = inward_margin_cm(item(1, x_cm, y_cm + shift_cm).footprint_cm, DESK, 0)
    assert after - before == pytest.approx(shift_cm, abs=1e-9)


@given(x_cm=st.floats(0, 150), overhang_cm=st.floats(0.01, 9.99))
def test_overhang_is_minus_the_part_outside(x_cm, overhang_cm):
    footprint = box(x_cm, -overhang_cm, x_cm + 10, 10 - overhang_cm)
    assert inward_margin_cm(footprint, DESK, 0) == -overhang_cm
    assert footprint.difference(DESK.outline_cm).area == pytest.approx(10 * overhang_cm)
