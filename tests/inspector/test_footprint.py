import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.camera import CameraFile, fit_camera
from inspector.errors import DetectionsError
from inspector.footprint import (
    _expected_extent,
    _Hypothesis,
    _mirror_turns_deg,
    _turn_prior_cost,
    base_outline,
    fold_angle_deg,
    naive_footprint,
    place_detection,
    place_detections,
    solid_image_box,
    solids_for,
)
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


def _overhead(heading_deg, above_cm=(80.0, 40.0), height_cm=200.0):
    """A camera straight above a desk point, its image rows along the desk direction heading_deg."""
    h = math.radians(heading_deg)
    right, forward = np.array([math.cos(h), math.sin(h), 0.0]), np.array([0.0, 0.0, -1.0])
    R = np.stack([right, np.cross(forward, right), forward])
    K = np.array([[900.0, 0, IMAGE_SIZE[0] / 2], [0, 900.0, IMAGE_SIZE[1] / 2], [0, 0, 1.0]])
    rvec, tvec = cv2.Rodrigues(R)[0].ravel(), -R @ np.array([*above_cm, height_cm])
    spec = CameraFile(camera_id="top", image_size=IMAGE_SIZE, desk={"width_cm": 160, "depth_cm": 80},
                      points=desk_corner_pairs(K, rvec, tvec), intrinsics={"K": K.tolist()})
    return fit_camera(spec)


def test_the_mirrored_turn_is_twice_the_direction_of_the_image_rows():
    camera = _overhead(12.0)
    box = solid_image_box(camera, "mobile_phone", (60, 30), (7.5, 15.5, 0.9), 0.0)
    assert _mirror_turns_deg(camera, np.array([box]))[0] == pytest.approx(24.0, abs=0.01)


@pytest.mark.parametrize("turn", [0.0, 10.0, 35.0])
def test_a_flat_item_and_its_mirror_about_the_image_rows_have_one_box(turn):
    # why a box alone cannot tell a phone turned 24 deg from one kept square, under a camera turned 12
    camera = _overhead(12.0)
    size = (7.5, 15.5, 0.9)
    box = solid_image_box(camera, "mobile_phone", (80, 40), size, turn)
    mirrored = solid_image_box(camera, "mobile_phone", (80, 40), size, 24.0 - turn)
    np.testing.assert_allclose(box, mirrored, atol=1e-6)


def test_an_ambiguous_box_is_placed_between_its_readings_nearer_the_likelier():
    camera = _overhead(12.0)
    size = (7.5, 15.5, 0.9)
    box = solid_image_box(camera, "mobile_phone", (80, 40), size, 0.0)  # = the box of it turned 24 deg
    front = place_detection(camera, Detection("mobile_phone", 0.9, tuple(box)), size, 1).footprint_cm.bounds[1]
    square_front = 40 - size[1] / 2
    turned_front = 40 - (size[0] * math.sin(math.radians(24)) + size[1] * math.cos(math.radians(24))) / 2
    assert turned_front < front < square_front
    assert square_front - front < 0.25 * (square_front - turned_front)  # kept square is the likelier reading


def test_turn_prior_is_zero_square_symmetric_and_levels_off():
    angles = np.array([0.0, 90.0, -90.0, 4.0, -4.0, 20.0, 44.0, 45.0, -45.0])
    cost = _turn_prior_cost(angles)
    assert cost[:3] == pytest.approx(0.0, abs=1e-12)  # square to the edges, lengthwise or sideways
    assert cost[3] == pytest.approx(cost[4])
    assert 0 < cost[3] < cost[5] < cost[6] <= cost[7]
    square = 0.7 / (4.0 * math.sqrt(2 * math.pi))  # 70% kept square within 4 deg, the rest anyhow
    assert cost[7] == pytest.approx(math.log((square + 0.3 / 90) / (0.3 / 90)))
    assert cost[7] == pytest.approx(cost[8])


def _hypothesis(cost, front_cm, log_volume=0.0):
    return _Hypothesis(solids_for("telephone")[0], np.zeros(6), cost, log_volume, cost,
                       np.array([10.0, front_cm, 30.0, 28.0]), 9.0, np.zeros(4))


def test_expected_extent_weighs_each_reading_by_its_posterior_mass():
    extent, height = _expected_extent([_hypothesis(1.0, 10.0), _hypothesis(1.0, 4.0)])
    assert extent[1] == pytest.approx(7.0)  # equally likely: half way
    extent, _ = _expected_extent([_hypothesis(1.0, 10.0), _hypothesis(1.0 + math.log(3.0), 4.0)])
    assert extent[1] == pytest.approx(8.5)  # a third as likely: a quarter of the way
    extent, _ = _expected_extent([_hypothesis(1.0, 10.0), _hypothesis(1.0, 4.0, log_volume=math.log(3.0))])
    assert extent[1] == pytest.approx(5.5)  # as costly, but three times as wide an optimum
    assert height == pytest.approx(9.0)


def test_an_images_items_placed_together_are_placed_as_one_by_one():
    # solids of very different point counts (a pen's 8 corners, a mug's rims, a bun's rings) share one solve
    items = [("pen", (14, 1.2, 1.2), (30, 20)), ("cup", (8, 8, 10), (60, 15)), ("food", (15, 10, 5), (90, 30)),
             ("telephone", (20, 18, 9), (130, 25)), ("monitor", (55, 20, 42), (110, 60))]
    prior = {name: size for name, size, _ in items}
    detections = [Detection(name, 0.9, tuple(solid_image_box(STAFF_SIDE, name, center, size, 7.0)))
                  for name, size, center in items]
    together = place_detections(detections, STAFF_SIDE, prior.__getitem__)
    for detection, placed in zip(detections, together):
        alone = place_detection(STAFF_SIDE, detection, prior[detection.class_name], 1)
        np.testing.assert_allclose(placed.footprint_cm.bounds, alone.footprint_cm.bounds, atol=1e-6)
        assert placed.height_cm == pytest.approx(alone.height_cm)


@pytest.mark.parametrize("camera", [STAFF_SIDE, CUSTOMER_SIDE], ids=["staff-side", "customer-side"])
@pytest.mark.parametrize("turn", [10.0, 35.0, 80.0, -75.0])
def test_an_outline_tells_which_way_an_elongated_item_lies(camera, turn):
    # a pen (14 x 1.2 cm) turned 80 deg lies front to back: a 90-deg fold of its outline's rectangle
    # would lay it crosswise at -10 deg and put its front end 6 cm off
    prior, center = (14.0, 1.2, 1.1), (70.0, 30.0)
    base = base_outline("pen", prior[0], prior[1], turn) + center
    prism = np.vstack([np.c_[base, np.zeros(len(base))], np.c_[base, np.full(len(base), prior[2])]])
    outline_px = cv2.convexHull(camera.project(prism).astype(np.float32)).reshape(-1, 2)
    box = (*outline_px.min(axis=0), *outline_px.max(axis=0))
    detection = Detection("pen", 0.9, tuple(float(v) for v in box), polygon_px=tuple(map(tuple, outline_px.tolist())))
    item = place_detection(camera, detection, prior, 1)
    assert fold_angle_deg(item.angle_deg - turn) == pytest.approx(0.0, abs=2.0)
    true_front = base[:, 1].min()
    assert item.footprint_cm.bounds[1] == pytest.approx(true_front, abs=0.3)


def test_hidden_shares_count_only_boxes_in_front_and_their_overlaps_once():
    from inspector.footprint import hidden_shares

    boxes = [(0.0, 0.0, 10.0, 10.0),    # at the back
             (5.0, 5.0, 15.0, 20.0),    # in front of the first (lower bottom): hides 5 x 5 of it
             (0.0, 8.0, 6.0, 30.0),     # in front of both; its overlap with the second counts once
             (50.0, 0.0, 60.0, 10.0)]   # alone, same bottom as the first: hides nothing of it
    shares = hidden_shares(boxes)
    # first: union of [5,10]x[5,10] (25) and [0,6]x[8,10] (12), overlapping in [5,6]x[8,10] (2): 35 of 100
    assert shares[0] == pytest.approx(0.35, abs=1e-12)
    # second: the third covers [5,6]x[8,20] of it: 12 of 150
    assert shares[1] == pytest.approx(12 / 150, abs=1e-12)
    assert shares[2] == 0.0 and shares[3] == 0.0
    assert hidden_shares([]).shape == (0,) and list(hidden_shares([(0, 0, 1, 1)])) == [0.0]
