"""Shared test settings. Hypothesis's per-example deadline (200 ms) measures the machine, not the
code: on a loaded 2-core machine a geometry example can take longer, and the test then fails
for nothing. Property tests here judge results, not speed (speed is benchmarked in bench/)."""

from hypothesis import settings

settings.register_profile("desk-inspector", deadline=None)
settings.load_profile("desk-inspector")
