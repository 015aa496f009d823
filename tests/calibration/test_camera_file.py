import numpy as np
import pytest
import yaml

from calibration.camera import load_camera, save_camera
from inspector.errors import CalibrationError

from .conftest import desk_corner_pairs, look_at


def _spec(**changes):
    K, rvec, tvec = look_at([80, -90, 180], [80, 40, 0], 900.0)
    spec = {
        "camera_id": "window-09",
        "image_size": [1280, 720],
        "desk": {"width_cm": 160, "depth_cm": 80},
        "points": [{"image_px": [float(v) for v in p["image_px"]], "desk_cm": [float(v) for v in p["desk_cm"]]} for p in desk_corner_pairs(K, rvec, tvec)],
        "layout": {"zones": {"cup": [[140, 12], [158, 12], [158, 32], [140, 32]]}},
    }
    spec.update(changes)
    return spec


def test_save_and_load_round_trip_keeps_the_fit(tmp_path):
    path = tmp_path / "cam.yaml"
    path.write_text(yaml.safe_dump(_spec()))
    camera = load_camera(path)
    save_camera(camera, tmp_path / "fitted.yaml")
    again = load_camera(tmp_path / "fitted.yaml")
    assert again.spec.fit == camera.spec.fit
    np.testing.assert_allclose(again.desk_to_image([[80, 40]]), camera.desk_to_image([[80, 40]]))
    assert set(again.desk.zones_cm) == {"cup"}


def test_json_is_accepted(tmp_path):
    import json

    path = tmp_path / "cam.json"
    path.write_text(json.dumps(_spec()))
    assert load_camera(path).camera_id == "window-09"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"image_size": [0, 720]}, "image_size"),
        ({"desk": {"width_cm": -1, "depth_cm": 80}}, "desk.width_cm"),
        ({"desk": {"outline_cm": [[0, 0], [10, 10], [10, 0], [0, 10]]}}, "simple polygon"),
        ({"desk": {"width_cm": 160, "depth_cm": 80, "front_edge": 7}}, "front_edge"),
        ({"points": []}, "points"),
        ({"intrinsics": {"K": [[1, 0], [0, 1]]}}, "intrinsics.K"),
        ({"layout": {"zones": {"cup": [[0, 0], [1, 1]]}}}, "zone 'cup'"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fields_name_the_file_and_the_field(tmp_path, changes, field):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_spec(**changes)))
    with pytest.raises(CalibrationError) as error:
        load_camera(path)
    assert str(path) in str(error.value) and field in str(error.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(CalibrationError, match="file not found"):
        load_camera(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("camera_id: [unclosed")
    with pytest.raises(CalibrationError, match="not valid YAML"):
        load_camera(tmp_path / "broken.yaml")


def test_clockwise_outline_keeps_its_front_edge():
    from calibration.camera import parse_camera

    spec = _spec(desk={"outline_cm": [[0, 0], [0, 80], [160, 80], [160, 0]], "front_edge": 3})
    desk = parse_camera(spec).desk
    assert desk.outline_cm.exterior.is_ccw
    a, b = desk.edge(desk.front_edge)
    assert {a, b} == {(0.0, 0.0), (160.0, 0.0)}
