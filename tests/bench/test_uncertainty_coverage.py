"""The coverage bench's helpers: margins to the desk edges, matching, coverage and decisions."""

from __future__ import annotations

import math

import pytest

from bench.uncertainty_coverage import (
    MarginRow,
    box_iou,
    coverage,
    decision_shares,
    edge_margins_cm,
    ideal_wrong_sure,
    judge,
    match_items,
    standard_edge_limits,
)
from rules.standard import load_standard


def _row(true_cm: float, measured_cm: float, u_cm: float | None, edge: str = "front") -> MarginRow:
    return MarginRow(scene=0, view="v", distorted=False, class_name="cup", atypical=False, judged=True, edge=edge,
                     true_cm=true_cm, measured_cm=measured_cm, u_cm=u_cm, standard_limit_cm=5.0, near_limit_cm=0.0)


def test_edge_margins_of_a_footprint():
    square = [(10.0, -2.0), (30.0, -2.0), (30.0, 18.0), (10.0, 18.0)]  # hangs 2 cm over the front
    assert edge_margins_cm(square, 160.0, 80.0) == {"front": -2.0, "back": 62.0, "left": 10.0, "right": 130.0}


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_matching_takes_one_class_and_the_best_overlap_once():
    found = [("cup", (0, 0, 10, 10)), ("cup", (1, 0, 11, 10)), ("pen", (50, 50, 60, 52)), ("mouse", (0, 0, 10, 10))]
    truth = [("cup", (1, 0, 11, 10)), ("pen", (50, 50, 60, 52)), ("cup", (100, 100, 110, 110))]
    assert match_items(found, truth) == [(1, 0), (2, 1)]  # the mouse is no cup; the far cup has no match
    assert match_items([("cup", (0, 0, 10, 10))], [("cup", (6, 0, 16, 10))]) == []  # IoU 0.25 < 0.5


def test_coverage_counts_a_missing_uncertainty_as_zero():
    rows = [_row(10.0, 11.0, 1.5), _row(10.0, 12.0, 1.5), _row(10.0, 10.0, None), _row(10.0, 10.1, None)]
    assert coverage(rows) == pytest.approx(0.5)
    assert math.isnan(coverage([]))


def test_decisions_are_judged_against_the_truth():
    sure_wrong = judge(_row(true_cm=4.0, measured_cm=7.0, u_cm=1.0), 5.0)  # says pass, truly short
    assert (sure_wrong.outcome, sure_wrong.truly_meets, sure_wrong.wrong) == ("pass", False, True)
    conditional = judge(_row(true_cm=4.0, measured_cm=5.5, u_cm=1.0), 5.0)
    assert conditional.outcome == "conditional_pass" and not conditional.sure and not conditional.wrong
    right_fail = judge(_row(true_cm=1.0, measured_cm=2.0, u_cm=1.0), 5.0)
    assert (right_fail.outcome, right_fail.wrong) == ("fail", False)
    shares = decision_shares([sure_wrong, conditional, right_fail])
    assert shares == {"n": 3, "conditional": pytest.approx(1 / 3), "n_sure": 2, "wrong_sure": 0.5}


def test_ideal_wrong_sure_is_small_far_from_the_limit_and_grows_near_it():
    far = ideal_wrong_sure([_row(10.0, 10.0, 1.0)], [2.0])
    near = ideal_wrong_sure([_row(10.0, 10.0, 1.0)], [10.2])  # sigma 0.5: wrong 0.8 %, sure 6.3 %
    assert far < 1e-9 and near == pytest.approx(0.0082 / (0.0082 + 0.0548), rel=0.02)


def test_the_front_counter_standard_limits_the_front_edge():
    assert standard_edge_limits(load_standard("rules/standards/front-counter.yaml")) == {"front": 5.0}
