"""Guard-band decisions (ILAC-G8): every outcome at, just inside and just outside the band."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.decision import decide

# limit 5.0 cm, at least; U = 1.0: the band runs from 4.0 to 6.0
@pytest.mark.parametrize("measured, outcome", [
    (6.5, "pass"), (6.0, "pass"),  # measured - U still >= limit
    (5.999, "conditional_pass"), (5.0, "conditional_pass"),  # right side, but by less than U
    (4.999, "conditional_fail"), (4.0, "conditional_fail"),  # wrong side, measured + U reaches the limit
    (3.999, "fail"), (-2.0, "fail"),  # wrong side even after moving U toward the limit
])
def test_at_least_limit_guarded(measured, outcome):
    assert decide(measured, 5.0, 1.0, at_least=True) == outcome


@pytest.mark.parametrize("measured, outcome", [
    (1.0, "pass"), (1.5, "pass"), (1.501, "conditional_pass"), (2.0, "conditional_pass"),
    (2.001, "conditional_fail"), (2.5, "conditional_fail"), (2.501, "fail"),
])
def test_at_most_limit_guarded(measured, outcome):  # limit 2.0 at most, U = 0.5
    assert decide(measured, 2.0, 0.5, at_least=False) == outcome


@pytest.mark.parametrize("measured, outcome", [(5.0, "pass"), (5.01, "pass"), (4.99, "fail")])
def test_simple_rule_and_unknown_uncertainty_decide_on_the_value_alone(measured, outcome):
    assert decide(measured, 5.0, 3.0, at_least=True, rule="simple") == outcome
    assert decide(measured, 5.0, None, at_least=True) == outcome


def test_zero_uncertainty_is_the_simple_rule():
    assert decide(5.0, 5.0, 0.0, at_least=True) == "pass"
    assert decide(4.99, 5.0, 0.0, at_least=True) == "fail"


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_bad_uncertainty_is_refused(bad):
    with pytest.raises(ValueError, match="uncertainty"):
        decide(5.0, 5.0, bad, at_least=True)


def test_non_finite_measurement_is_refused():
    with pytest.raises(ValueError, match="non-finite"):
        decide(math.nan, 5.0, 1.0, at_least=True)


@given(st.floats(-50, 50), st.floats(-50, 50), st.floats(0, 20))
def test_guarded_never_contradicts_simple_and_sure_outcomes_survive_any_error_within_u(measured, limit, u):
    guarded = decide(measured, limit, u, at_least=True)
    simple = decide(measured, limit, u, at_least=True, rule="simple")
    assert guarded.endswith(simple)  # pass/conditional_pass vs fail/conditional_fail
    if guarded == "pass":  # a sure outcome holds wherever within ±U the truth lies (to rounding)
        assert measured - u - limit >= -1e-9
    if guarded == "fail":
        assert measured + u - limit < 1e-9
