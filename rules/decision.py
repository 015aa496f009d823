"""Decisions with a guard band (ILAC-G8): pass, conditional pass, conditional fail or fail.

A measured value with expanded uncertainty U is judged against a limit. With `guarded` (the
default), a fail is declared only when the value is on the wrong side of the limit even after
moving it U toward the limit, and a pass only when it is on the right side even after moving it U
away; in between the result is conditional and a person should look. `simple` judges the
measured value alone (no guard band), as before uncertainties were reported.
"""

from __future__ import annotations

import math
from typing import Literal

DecisionRule = Literal["guarded", "simple"]
DECISION_RULES: tuple[str, ...] = ("guarded", "simple")
Outcome = Literal["pass", "conditional_pass", "conditional_fail", "fail"]


def decide(measured: float, limit: float, uncertainty: float | None, *, at_least: bool,
           rule: DecisionRule = "guarded") -> Outcome:
    """Judge `measured` against `limit`: it must be >= limit when `at_least`, else <= limit.

    A value exactly at the limit is on the right side (as the simple rule always had it); an
    unknown uncertainty (None) decides as `simple` would."""
    if not (math.isfinite(measured) and math.isfinite(limit)):
        raise ValueError(f"cannot decide on a non-finite value ({measured!r} against {limit!r})")
    if uncertainty is not None and not (math.isfinite(uncertainty) and uncertainty >= 0):
        raise ValueError(f"uncertainty must be finite and >= 0, got {uncertainty!r}")
    # Signed room: positive on the right side of the limit.
    room = measured - limit if at_least else limit - measured
    if rule == "simple" or uncertainty is None:
        return "pass" if room >= 0 else "fail"
    if room >= uncertainty:
        return "pass"
    if room >= 0:
        return "conditional_pass"
    if room >= -uncertainty:  # measured + U reaches the limit: not surely wrong
        return "conditional_fail"
    return "fail"
