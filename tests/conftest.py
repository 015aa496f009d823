"""Shared test settings. Hypothesis's per-example deadline (200 ms) measures the machine, not the
code: on a loaded 2-core machine a geometry example can take longer, and the test then fails
for nothing. Property tests here judge results, not speed (speed is benchmarked in bench/)."""

from hypothesis import settings

settings.register_profile("desk-inspector", deadline=None)
settings.load_profile("desk-inspector")


import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _history_outside_the_project(tmp_path_factory):
    """A test that leaves the database to its default must not write the project's out/history.db."""
    import os

    name = "DESK_INSPECTOR_DATABASE_URL"
    before = os.environ.get(name)
    os.environ[name] = f"sqlite:///{tmp_path_factory.mktemp('default-history') / 'history.db'}"
    yield
    if before is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = before
