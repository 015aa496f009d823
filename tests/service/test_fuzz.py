"""The API fuzzed against its own OpenAPI schema (schemathesis): whatever comes in, never a 5xx.

Driven through hypothesis directly (one bounded, derandomised run per operation and generation
mode) rather than schemathesis' pytest plugin, which does not load under pytest 9.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from calibration.camera import save_camera
from service.main import create_app
from tests.service import scene
from tests.service.conftest import KEY, make_settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 15  # per operation and mode: about 350 requests in all, a few seconds
# no 5xx above all; and every answer is one the schema declares, in the declared shape
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory):
    site = tmp_path_factory.mktemp("fuzz-site")
    save_camera(scene.make_camera(), site / "cameras" / f"{scene.CAMERA_ID}.yaml")
    with TestClient(create_app(make_settings(site))) as client:  # runs the lifespan: cameras, standards, database
        yield client


@pytest.fixture(scope="module")
def fuzzed_app(fuzz_client):
    return fuzz_client.app


@pytest.fixture(scope="module")
def api_schema(fuzzed_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


def _operations():
    """(method, path, mode) for every operation; negative inputs only where it takes any input."""
    from service.config import Settings
    from tests.service.conftest import STANDARDS_DIR

    # the schema is static: read it from an app that is never started
    app = create_app(Settings(data_dir="/nonexistent", cameras_dir="/nonexistent", standards_dir=STANDARDS_DIR, model="none"))
    cases = []
    for path, methods in app.openapi()["paths"].items():
        for method, spec in methods.items():
            cases.append(pytest.param(method.upper(), path, GenerationMode.POSITIVE, id=f"{method.upper()} {path} positive"))
            if spec.get("parameters") or spec.get("requestBody"):
                cases.append(pytest.param(method.upper(), path, GenerationMode.NEGATIVE, id=f"{method.upper()} {path} negative"))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("method, path, mode", _operations())
def test_no_input_makes_a_server_error(api_schema, fuzzed_app, method, path, mode):
    operation = api_schema[path][method]
    calls = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(headers={"X-API-Key": KEY}, checks=CHECKS)
        calls.append(response.status_code)

    run()
    assert calls, "no request was made"
    assert fuzzed_app.state.unexpected_errors == 0


# -- deeper than the schema can reach: a known camera with damaged photos and odd detections -----------
from hypothesis import strategies as st  # noqa: E402

_number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12))
_detection = st.fixed_dictionaries(
    {"class": st.sampled_from(["cup", "monitor", "pen", "bag", "name_plate", "unknown_thing"]),
     "confidence": st.floats(0, 1),
     "bbox_px": st.lists(st.one_of(st.floats(-100, 1400), _number), min_size=4, max_size=4)},
    optional={"polygon_px": st.lists(st.lists(st.one_of(st.floats(-100, 1400), _number), min_size=2, max_size=2),
                                     min_size=3, max_size=6)},
)
_detections = st.one_of(
    st.lists(_detection, min_size=1, max_size=6).map(lambda rows: __import__("json").dumps(rows).encode()),
    st.sampled_from([b"{not json", b"\xff\xfe", b'{"rows": []}', b"[]", b'[{"class": "cup"}]']),
)


@pytest.mark.slow
def test_damaged_photos_and_odd_detections_never_make_a_server_error(fuzz_client):
    import json

    photo, detections = scene.make_photo(scene.make_camera())
    good_detections = json.dumps(detections).encode()

    @st.composite
    def damaged_photo(draw):
        data = bytearray(photo)
        for _ in range(draw(st.integers(0, 3))):
            # past the JPEG headers: damaged pixels rather than an unreadable file
            data[draw(st.integers(600, len(data) - 3))] = draw(st.integers(0, 255))
        cut = draw(st.sampled_from([len(data), len(data), len(data), len(data) - 2, len(data) // 3, 2]))
        return bytes(data[:cut])

    statuses = []
    client = fuzz_client

    @given(image=st.one_of(damaged_photo(), damaged_photo(), st.binary(max_size=300)),
           detections=st.one_of(st.just(good_detections), _detections, _detections))
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(image, detections):
        response = client.post("/api/v1/inspections", data={"camera_id": scene.CAMERA_ID},
                               headers={"X-API-Key": KEY},
                               files={"image": ("p.jpg", image, "image/jpeg"),
                                      "detections": ("d.json", detections, "application/json")})
        assert response.status_code < 500, response.text
        assert isinstance(response.json()["detail" if response.status_code >= 400 else "report"], (str, dict))
        statuses.append(response.status_code)

    run()
    assert 201 in statuses and 422 in statuses
    assert client.app.state.unexpected_errors == 0
