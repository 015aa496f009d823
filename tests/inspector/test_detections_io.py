import json

import pytest

from inspector.detections_io import dump_detections, load_detections
from inspector.errors import DetectionsError


def test_round_trip(tmp_path):
    rows = [{"class": "cup", "confidence": 0.9, "bbox_px": [1.0, 2.0, 30.0, 40.0]},
            {"class": "pen", "confidence": 0.5, "bbox_px": [5, 5, 9, 9], "polygon_px": [[5, 5], [9, 5], [9, 9]]}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(rows))
    detections = load_detections(path)
    assert detections[0].class_name == "cup" and detections[1].polygon_px == ((5, 5), (9, 5), (9, 9))
    assert dump_detections(detections)[0] == rows[0]


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"class": "cup"}), "list"),
        (json.dumps([{"class": "cup", "confidence": 1.5, "bbox_px": [0, 0, 1, 1]}]), "0.confidence"),
        (json.dumps([{"class": "cup", "confidence": 0.5, "bbox_px": [0, 0, 1]}]), "0.bbox_px"),
        (json.dumps([{"confidence": 0.5, "bbox_px": [0, 0, 1, 1]}]), "class"),
    ],
)
def test_bad_files_name_file_and_field(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DetectionsError, match=message) as error:
        load_detections(path)
    assert str(path) in str(error.value)
