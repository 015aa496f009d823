"""Rule kinds with uncertainty: guard-band outcomes on hand-made items, and every not-judged reason."""

import pytest
from shapely.geometry import Polygon, box

from inspector.records import Desk, DeskItem, NotJudged, Violation
from rules.kinds.alignment import AlignmentParams
from rules.kinds.alignment import check as alignment
from rules.kinds.edge_margin import EdgeMarginParams
from rules.kinds.edge_margin import check as edge_margin
from rules.kinds.keep_clear import KeepClearParams
from rules.kinds.keep_clear import check as keep_clear
from rules.kinds.zone import ZoneParams, signed_outside
from rules.kinds.zone import check as zone

DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0,
            zones_cm={"cup": box(140, 10, 160, 30), "pass": box(60, 0, 100, 20)})


def item(x0, y0, x1, y1, sigma=0.5, cls="cup", **fields):
    return DeskItem(3, cls, 0.9, (0, 0, 1, 1), box(x0, y0, x1, y1), 10.0, 0.0,
                    extent_sigma_cm=None if sigma is None else (sigma,) * 4, **fields)


MARGIN = EdgeMarginParams(id="front-margin", min_cm=5.0)  # default: guarded, k = 2


@pytest.mark.parametrize("front_cm, decision", [
    (6.1, None), (6.0, None),  # 5 + U: a sure pass
    (5.5, "conditional_pass"), (5.0, "conditional_pass"),
    (4.5, "conditional_fail"), (4.0, "conditional_fail"),
    (3.9, "fail"),
])
def test_edge_margin_outcomes_around_the_guard_band(front_cm, decision):
    findings = edge_margin([item(20, front_cm, 30, front_cm + 10)], DESK, MARGIN)  # U = 2 x 0.5 = 1.0 cm
    assert [f.decision for f in findings] == ([decision] if decision else [])
    if decision:
        [finding] = findings
        assert finding.measured == pytest.approx(front_cm) and finding.uncertainty == pytest.approx(1.0)
        assert f"{front_cm:.1f} ± 1.0 cm" in finding.message_en and f"{front_cm:.1f} ± 1.0 cm" in finding.message_zh
        assert ("check by eye" in finding.message_en) == (decision != "fail")


def test_simple_decision_and_items_without_uncertainty_keep_the_old_behaviour():
    simple = MARGIN.model_copy(update={"decision": "simple"})
    assert edge_margin([item(20, 5.5, 30, 15.5)], DESK, simple) == []
    [fail] = edge_margin([item(20, 4.5, 30, 14.5)], DESK, simple)
    assert fail.decision == "fail" and fail.uncertainty == pytest.approx(1.0)
    [old] = edge_margin([item(20, 3.0, 30, 13.0, sigma=None)], DESK, MARGIN)
    assert old.decision == "fail" and old.uncertainty is None and "3.0 cm from" in old.message_en


def test_extra_cm_and_coverage_factor_widen_the_band():
    wide = MARGIN.model_copy(update={"coverage_factor": 3.0, "extra_cm": 1.2})  # 3 x hypot(0.5, 1.2) = 3.9
    [finding] = edge_margin([item(20, 8.8, 30, 18.8)], DESK, wide)
    assert finding.decision == "conditional_pass" and finding.uncertainty == pytest.approx(3.9)


def test_edge_margin_not_judged_when_the_item_is_cut_off_toward_that_edge():
    cut = item(20, 3, 30, 13, cut_extent_sides=("min_y",))
    [finding] = edge_margin([cut], DESK, MARGIN)
    assert isinstance(finding, NotJudged) and finding.item_ids == [3] and finding.rule == "front-margin"
    assert "cut off by the image border" in finding.reason_en and "画面边缘截断" in finding.reason_zh
    # cut at the back only: the front margin is still measured (and fails)
    [fail] = edge_margin([item(20, 3, 30, 13, cut_extent_sides=("max_y",))], DESK, MARGIN)
    assert isinstance(fail, Violation) and fail.decision == "fail"


def test_signed_outside_of_a_zone():
    assert signed_outside(box(150, 20, 158, 28), DESK.zones_cm["cup"]) == (-2.0, (1.0, 0.0))
    out, direction = signed_outside(box(155, 25, 163, 34), DESK.zones_cm["cup"])
    assert out == pytest.approx(5.0) and direction == pytest.approx((0.6, 0.8))  # corner (163, 34) vs (160, 30)


def test_zone_outcomes_and_not_judged_reasons():
    params = ZoneParams(id="cup-in-place", classes=("cup",), zone="cup", tolerance_cm=1.0)
    assert zone([item(145, 15, 153, 23)], DESK, params) == []  # 7 cm inside the edge
    assert zone([item(150, 20, 158, 28)], DESK, params) == []  # 2.0 cm inside: 3.0 cm of room, U 1.0
    [near] = zone([item(153, 20, 160.5, 28)], DESK, params)  # 0.5 cm out, 1.0 allowed: 0.5 of room
    assert near.decision == "conditional_pass" and near.measured == pytest.approx(0.5)
    [over] = zone([item(153, 20, 161.5, 28)], DESK, params)  # 1.5 out: 0.5 too far, within U
    assert over.decision == "conditional_fail"
    [hidden] = zone([item(150, 22, 158, 30, hidden_share=0.8)], DESK, params)
    assert isinstance(hidden, NotJudged) and "mostly hidden" in hidden.reason_en and "遮挡" in hidden.reason_zh
    [cut] = zone([item(155, 20, 163, 28, cut_extent_sides=("max_x",))], DESK, params)
    assert isinstance(cut, NotJudged) and "cut off" in cut.reason_en


def test_keep_clear_conditional_and_cut():
    params = KeepClearParams(id="pass-clear", zone="pass")
    assert keep_clear([item(20, 2, 30, 12)], DESK, params) == []  # 30 cm away
    [near] = keep_clear([item(50, 2, 59.5, 12)], DESK, params)  # 0.5 cm short of the zone, U 1.0
    assert near.decision == "conditional_pass" and near.measured == pytest.approx(-0.5)
    assert "0.5 ± 1.0 cm from zone 'pass'" in near.message_en
    [inside] = keep_clear([item(55, 2, 62, 12)], DESK, params)  # 2 cm in
    assert inside.decision == "fail" and inside.measured == pytest.approx(2.0)
    [cut] = keep_clear([item(50, 2, 59.5, 12, cut_extent_sides=("max_x",))], DESK, params)
    assert isinstance(cut, NotJudged)


def test_alignment_of_an_item_seen_by_its_box_alone_is_not_judged_never_passed():
    params = AlignmentParams(id="kept-square", max_deg=10.0)
    keyboard = item(20, 10, 64, 24, cls="keyboard", turn_seen=False)
    [finding] = alignment([keyboard], DESK, params)
    assert isinstance(finding, NotJudged) and finding.item_ids == [3]
    assert "turn is not seen" in finding.reason_en and "朝向" in finding.reason_zh


def test_alignment_with_a_seen_turn_carries_an_angle_uncertainty():
    from shapely import affinity

    params = AlignmentParams(id="kept-square", max_deg=10.0)
    footprint = affinity.rotate(box(20, 10, 64, 24), 9.0, origin="centroid")
    turned = DeskItem(3, "keyboard", 0.9, (0, 0, 1, 1), footprint, 3.0, 9.0, extent_sigma_cm=(0.5,) * 4)
    [finding] = alignment([turned], DESK, params)
    # sqrt(2) x 0.5 cm over a 44 cm long side: 0.92 deg, U = 1.84 deg
    assert finding.decision == "conditional_pass" and finding.uncertainty == pytest.approx(1.8415, abs=1e-3)
