import numpy as np
import pytest

from inspector.detections_io import parse_detections
from inspector.errors import ImageError
from inspector.pipeline import inspect
from inspector.records import Frame

from .conftest import COMPLIANT_DESK, scene_detections


def _inspect(camera, standard, scene, image_size=(1280, 720)):
    frame = Frame(np.zeros((image_size[1], image_size[0], 3), np.uint8), "desk.jpg", camera.camera_id)
    return inspect(frame, camera, standard, detections=parse_detections(scene_detections(camera, scene), "d.json"))


def test_compliant_desk_passes_with_full_report(camera, simple_standard):
    report = _inspect(camera, simple_standard, COMPLIANT_DESK)
    assert report.compliant and report.verdict == "pass" and report.score == 1.0 and report.violations == []
    data = report.to_dict()
    assert set(data) == {"image", "camera", "standard", "model", "inspected_at", "compliant", "verdict", "score",
                         "items", "violations", "conditional_passes", "not_judged", "warnings", "timings_ms"}
    cup = next(i for i in data["items"] if i["class"] == "cup")
    assert cup["label_zh"] == "水杯" and cup["permitted"] is True
    assert cup["center_cm"] == pytest.approx([149, 22], abs=0.1)
    assert {"detect", "place", "rules", "report", "total"} <= set(data["timings_ms"])


def test_compliant_desk_with_the_guard_band_is_a_check_not_a_pass(camera, standard):
    """The same desk under the default guarded decision: nothing surely fails, but the results
    within their U of a limit are conditional passes, so the verdict is "check", never "pass"."""
    report = _inspect(camera, standard, COMPLIANT_DESK)
    assert report.verdict == "check" and not report.compliant and report.violations == []
    assert report.conditional_passes, "a check names what to look at"
    for result in report.conditional_passes:
        assert result.decision == "conditional_pass" and result.uncertainty is not None
        room = abs(result.measured - result.required)
        assert room < result.uncertainty, f"{result.rule}: {room} from the limit is outside U {result.uncertainty}"
    assert "monitor-in-place" in {r.rule for r in report.conditional_passes}


def test_cup_near_the_front_edge_is_explained_with_measured_and_required(camera, standard):
    scene = [s for s in COMPLIANT_DESK if s[0] != "cup"] + [("cup", (149, 6), (8, 8, 10))]
    report = _inspect(camera, standard, scene)
    margin = [v for v in report.violations if v.rule == "front-margin"]
    assert len(margin) == 1
    assert margin[0].measured == pytest.approx(2.0, abs=0.1) and margin[0].required == 5.0 and margin[0].unit == "cm"
    assert "2.0" in margin[0].message_en and "水杯" in margin[0].message_zh
    assert not report.compliant and 0 < report.score < 1


def test_unlisted_item_missing_name_plate_and_pass_through(camera, standard):
    scene = [s for s in COMPLIANT_DESK if s[0] != "name_plate"] + [
        ("mobile_phone", (40, 20), (7.5, 15.5, 0.9)), ("brochure", (77, 12), (21, 15, 1))]
    rules = {v.rule for v in _inspect(camera, standard, scene).violations}
    assert {"only-listed-items", "name-plate-shown", "pass-through-clear"} <= rules


def test_unsure_detection_is_a_warning_not_a_verdict(camera, simple_standard):
    standard = simple_standard
    frame = Frame(np.zeros((720, 1280, 3), np.uint8), "desk.jpg", camera.camera_id)
    rows = scene_detections(camera, COMPLIANT_DESK) + scene_detections(camera, [("bag", (80, 50), (35, 15, 28))], 0.3)
    report = inspect(frame, camera, standard, detections=parse_detections(rows, "d.json"))
    assert report.compliant
    assert any("bag" in w and "not judged" in w for w in report.warnings)
    bag = [item for item in report.items if item.class_ == "bag"]
    assert len(bag) == 1 and not bag[0].judged and bag[0].model_dump(by_alias=True)["judged"] is False
    assert all(item.judged for item in report.items if item.class_ != "bag")


def test_image_of_another_size_is_refused(camera, standard):
    with pytest.raises(ImageError, match="1280x720"):
        _inspect(camera, standard, COMPLIANT_DESK, image_size=(640, 480))
