"""Site file validation: a bad site file stops the run before any work, naming the file and field."""

from __future__ import annotations

import copy

import pytest
import yaml

from inspector.batch.cli import batch_main
from inspector.batch.site import SiteError, load_site
from tests.batch.conftest import STANDARD
from tests.batch import scenes as S


@pytest.fixture(scope="module")
def cameras(tmp_path_factory):
    root = tmp_path_factory.mktemp("site-cams")
    for i, camera_id in enumerate(["window-01", "window-02"]):
        S.scene_camera(camera_id, (640, 360), seed=i).camera_file(root / f"{camera_id}.yaml")
    return root


def _site(cameras) -> dict:
    return {
        "id": "centre",
        "timezone": "Asia/Shanghai",
        "defaults": {"standard": str(STANDARD), "detections": str(cameras), "quality": {"min_luminance": 30}},
        "halls": [{"id": "hall-a", "cameras": [
            {"calibration": str(cameras / "window-01.yaml"), "snapshots": str(cameras / "w1")},
            {"id": "window-02", "calibration": str(cameras / "window-02.yaml"), "snapshots": str(cameras / "w2/*.jpg"),
             "quality": {"max_shift_px": 20}},
        ]}],
    }


def _load(tmp_path, data):
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_site(path)


def _error(tmp_path, data) -> str:
    with pytest.raises(SiteError) as caught:
        _load(tmp_path, data)
    text = str(caught.value)
    assert text.startswith(str(tmp_path / "site.yaml") + ": "), text  # names the file
    return text


def test_a_good_site_resolves_cameras_paths_and_quality_overrides(tmp_path, cameras):
    site = _load(tmp_path, _site(cameras))
    assert list(site.cameras) == ["window-01", "window-02"]  # id taken from the calibration when not given
    one, two = site.cameras["window-01"], site.cameras["window-02"]
    assert one.hall_id == "hall-a" and one.standard == STANDARD.resolve() and one.model is None
    assert one.quality.min_luminance == 30 and one.quality.max_shift_px == 12  # defaults, then the camera's own
    assert two.quality.min_luminance == 30 and two.quality.max_shift_px == 20
    assert one.image_size == (640, 360) and one.reference_frame is None
    assert site.hall_of("window-02").hall_id == "hall-a"


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.pop("halls"), "halls: missing (required)"),
    (lambda d: d["halls"][0]["cameras"][0].update(snapshot="x"), "halls[0].cameras[0].snapshot: unknown field (did you mean 'snapshots'?)"),
    (lambda d: d["halls"][0]["cameras"][0].pop("snapshots"), "halls[0].cameras[0].snapshots: missing (required)"),
    (lambda d: d.update(timezone="Mars/Olympus"), "timezone: unknown time zone 'Mars/Olympus'"),
    (lambda d: d["defaults"].update(timestamp={"pattern": "(\\d{4"}), "defaults.timestamp.pattern: not a valid regular expression"),
    (lambda d: d["defaults"].update(timestamp={"format": "YYYY-MM-DD"}), "defaults.timestamp.format: a strftime format needs % directives"),
    (lambda d: d["halls"][0]["cameras"][0].update(calibration="nowhere.yaml"), "halls[0].cameras[0].calibration: "),
    (lambda d: d["halls"][0]["cameras"][1].update(id="window-01"), "halls[0].cameras[1].id: 'window-01' but"),
    (lambda d: d["halls"][0]["cameras"].append(dict(d["halls"][0]["cameras"][0])), "halls[0].cameras[2].id: duplicate camera id 'window-01'"),
    (lambda d: d["defaults"].update(quality={"min_luminance": 300}), "halls[0].cameras[0].quality: min_luminance: Input should be less than or equal to 255"),
    (lambda d: d["defaults"].update(standard="missing-standard.yaml"), "halls[0].cameras[0].standard: "),
    (lambda d: d["defaults"].pop("detections") and d["defaults"].update(model="no-such-model"),
     "halls[0].cameras[0].model: no-such-model: no such model"),
    (lambda d: d["defaults"].update(detections="not-a-folder"), "halls[0].cameras[0].detections: not a folder"),
    (lambda d: d["halls"].append(copy.deepcopy(d["halls"][0])), "halls[1].id: duplicate hall id 'hall-a'"),
    (lambda d: d.update(snapshot_roots=[{"folder": ".", "camera_pattern": "^(\\w+)_"}]), "snapshot_roots.0.camera_pattern: needs a named group"),
])
def test_a_bad_site_file_names_the_field_and_what_is_wrong(tmp_path, cameras, change, expected):
    data = _site(cameras)
    change(data)
    text = _error(tmp_path, data)
    assert expected.replace("snapshot_roots.0", "snapshot_roots[0]") in text


def test_a_file_that_is_not_a_mapping_or_not_yaml(tmp_path):
    (tmp_path / "site.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(SiteError, match="must hold a mapping"):
        load_site(tmp_path / "site.yaml")
    (tmp_path / "site.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(SiteError, match="not valid YAML"):
        load_site(tmp_path / "site.yaml")
    with pytest.raises(SiteError, match="file not found"):
        load_site(tmp_path / "none.yaml")


def test_the_batch_stops_with_exit_2_before_any_work(tmp_path, cameras, capsys):
    data = _site(cameras)
    data["halls"][0]["cameras"][0]["calibration"] = "nowhere.yaml"
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "out"
    assert batch_main(path, out, workers=1, progress=False) == 2
    err = capsys.readouterr().err
    assert "site.yaml" in err and "halls[0].cameras[0].calibration" in err
    assert not out.exists()  # nothing was started: no output folder, no database
