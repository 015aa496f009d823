import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.camera import CameraFile, fit_camera
from inspector.errors import DetectionsError
from inspector.footprint import fold_angle_deg, naive_footprint, place_detection, place_detections, solid_image_box
from inspector.records import Detection

from ..calibration.conftest import IMAGE_SIZE, desk_corner_pairs, look_at


def _camera(position):
    K, rvec, tvec = look_at(position, [80, 40, 0], 900.0)
    spec = CameraFile(camera_id="c", image_size=IMAGE_SIZE, desk={"width_cm": 160, "depth_cm": 80},
                      points=desk_corner_pairs(K, rvec, tvec))
    return fit_camera(spec)


STAFF_SIDE = _camera([80, 200, 190])  # behind the chair: the front edge is the far side of every item
CUSTOMER_SIDE = _camera([80, -90, 180])


@pytest.mark.parametrize("camera", [STAFF_SIDE, CUSTOMER_SIDE], ids=["staff-side", "customer-side"])
@pytest.mark.parametrize(
    "class_name, prior, center",
    [("telephone", (20, 18, 9), (60, 20)), ("monitor", (55, 20, 42), (110, 55)), ("cup", (8, 8, 10), (150, 9))],
)
def test_box_of_a_known_item_is_placed_where_it_stands(camera, class_name, prior, center):
    box = solid_image_box(camera, class_name, center, prior, 0.0)
    item = place_detection(camera, Detection(class_name, 0.9, tuple(box)), prior, item_id=1)
    x0, y0, x1, y1 = item.footprint_cm.bounds
    assert (x0 + x1) / 2 == pytest.approx(center[0], abs=0.05)
    assert y0 == pytest.approx(center[1] - prior[1] / 2, abs=0.05)  # front-most point: what edge margins use
    assert item.height_cm == pytest.approx(prior[2], rel=0.01)


def test_naive_projection_overstates_a_tall_item_toward_the_far_edge():
    # seen from the staff side, the monitor's top edge lands far beyond its real front
    prior, center = (55, 20, 42), (110, 55)
    box = solid_image_box(STAFF_SIDE, "monitor", center, prior, 0.0)
    naive_front = naive_footprint(STAFF_SIDE, box).bounds[1]
    placed_front = place_detection(STAFF_SIDE, Detection("monitor", 0.9, tuple(box)), prior, 1).footprint_cm.bounds[1]
    assert center[1] - prior[1] / 2 - naive_front > 20  # tens of cm too far
    assert placed_front == pytest.approx(45.0, abs=0.05)


def test_a_larger_than_nominal_item_is_rescaled():
    truth = (10.0, 10.0, 12.5)  # a 25% larger cup than the standard's 8 x 8 x 10
    box = solid_image_box(STAFF_SIDE, "cup", (40, 30), truth, 0.0)
    item = place_detection(STAFF_SIDE, Detection("cup", 0.9, tuple(box)), (8, 8, 10), 1)
    assert item.footprint_cm.bounds[1] == pytest.approx(25.0, abs=0.5)


def test_box_sides_cut_by_the_image_border_are_ignored():
    box = solid_image_box(CUSTOMER_SIDE, "keyboard", (80, 30), (44, 14, 3), 0.0)
    clipped = (box[0], box[1], box[2], float(IMAGE_SIZE[1]))  # bottom side cut off by the frame
    item = place_detection(CUSTOMER_SIDE, Detection("keyboard", 0.9, clipped), (44, 14, 3), 1)
    assert item.center_cm[0] == pytest.approx(80, abs=0.5)


@pytest.mark.parametrize("bbox", [(10, 10, 5, 50), (0, 0, 0, 0), (-50, 10, 20, 30), (10, 10, 2000, 30)])
def test_impossible_boxes_are_rejected(bbox):
    with pytest.raises(DetectionsError, match="cup box"):
        place_detections([Detection("cup", 0.9, bbox)], CUSTOMER_SIDE, lambda c: (8, 8, 10), "dets.json")


@pytest.mark.parametrize("angle, folded", [(0, 0), (90, 0), (100, 10), (-50, 40), (45, 45), (-45, 45), (135, 45)])
def test_fold_angle(angle, folded):
    assert fold_angle_deg(angle) == pytest.approx(folded)


@settings(max_examples=30, deadline=None)
@given(x=st.floats(15, 145), y=st.floats(8, 70), height=st.floats(1, 12))
def test_placement_recovers_position_of_items_up_to_12cm(x, y, height):
    prior = (12.0, 10.0, height)
    box = solid_image_box(STAFF_SIDE, "ink_pad", (x, y), prior, 0.0)
    item = place_detection(STAFF_SIDE, Detection("ink_pad", 0.9, tuple(box)), prior, 1)
    assert item.footprint_cm.bounds[1] == pytest.approx(y - 5.0, abs=0.1)
