"""Uncertainty propagation: exact numbers on hand-made cameras, boxes and footprints."""

import math

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from calibration.camera import CameraFile, fit_camera, parse_camera
from inspector.records import Desk, DeskItem, Detection
from inspector.uncertainty import (
    DEFAULT_BOX_ERROR,
    BoxError,
    cut_toward,
    desk_directions,
    expanded_toward_edges,
    sigma_toward,
)

DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0)


def item(sigma=(0.3, 0.4, 0.5, 0.6), cut=()):
    return DeskItem(1, "cup", 0.9, (0, 0, 1, 1), box(10, 10, 20, 20), 10.0, 0.0,
                    extent_sigma_cm=sigma, cut_extent_sides=cut)


def test_sigma_toward_an_axis_is_that_extent_side():
    directions = desk_directions(DESK)
    assert sigma_toward(item(), directions["front"]) == pytest.approx(0.4)  # min y
    assert sigma_toward(item(), directions["back"]) == pytest.approx(0.6)  # max y
    assert sigma_toward(item(), directions["left"]) == pytest.approx(0.3)  # min x
    assert sigma_toward(item(), directions["right"]) == pytest.approx(0.5)  # max x


def test_sigma_toward_a_slanted_edge_combines_both_sides():
    assert sigma_toward(item(), (0.6, 0.8)) == pytest.approx(math.hypot(0.6 * 0.5, 0.8 * 0.6))
    assert sigma_toward(item(sigma=None), (1.0, 0.0)) is None


def test_expanded_toward_edges_is_k_times_sigma_with_the_extra_term():
    assert expanded_toward_edges(item(), DESK) == {"front": 0.8, "back": 1.2, "right": 1.0, "left": 0.6}
    with_extra = expanded_toward_edges(item(), DESK, coverage_factor=3.0, extra_cm=0.3)
    assert with_extra["front"] == pytest.approx(round(3.0 * 0.5, 2))  # hypot(0.4, 0.3) = 0.5


def test_directions_follow_the_front_edge_on_a_turned_desk():
    # the same desk described with its front edge as outline edge 2 (y = 80 side)
    directions = desk_directions(Desk(outline_cm=DESK.outline_cm, front_edge=2))
    assert directions["front"] == pytest.approx([0.0, 1.0])
    assert directions["right"] == pytest.approx([-1.0, 0.0])


def test_cut_toward_only_the_sides_the_frame_hides():
    cut = item(cut=("min_y",))
    assert cut_toward(cut, (0.0, -1.0)) and not cut_toward(cut, (0.0, 1.0)) and not cut_toward(cut, (1.0, 0.0))
    assert cut_toward(cut, (0.6, -0.8))  # a slanted edge the hidden side faces


def test_box_error_is_floor_and_share_of_the_box_in_quadrature():
    error = BoxError(floor_px=3.0, default_rel=(0.1, 0.1), rel={"cup": (0.04, 0.02)})
    assert error.sigma_px("cup", (0, 0, 100, 200)) == pytest.approx([5.0, 5.0, 5.0, 5.0])  # hypot(3, 4)
    assert error.sigma_px("pen", (0, 0, 40, 10)) == pytest.approx([5.0, math.hypot(3, 1), 5.0, math.hypot(3, 1)])
    with pytest.raises(ValueError, match="finite"):
        BoxError(floor_px=-1.0, default_rel=(0.1, 0.1))
    with pytest.raises(ValueError, match="finite"):
        BoxError(floor_px=1.0, default_rel=(math.nan, 0.1))


def _scaled_camera(click_noise_px=None, extra_points=()):
    """An image that is the desk at 10 px per cm (160 x 80 cm desk, 4 corners clicked exactly)."""
    corners = [(0, 0), (160, 0), (160, 80), (0, 80), *extra_points]
    spec = {"camera_id": "scaled", "image_size": [1800, 1000], "desk": {"width_cm": 160, "depth_cm": 80},
            "points": [{"image_px": (100 + 10 * x, 900 - 10 * y), "desk_cm": (x, y)} for x, y in corners]}
    if click_noise_px is not None:
        spec["click_noise_px"] = click_noise_px
    return fit_camera(CameraFile.model_validate(spec))


def test_calibration_sigma_at_a_clicked_corner_is_the_click_noise_in_cm():
    # four pairs fix the homography exactly: at a corner the fit follows that click one to one, so a
    # desk point there is as uncertain as the click, 0.1 cm per px
    camera = _scaled_camera(click_noise_px=2.0)
    sigma = camera.desk_sigma_cm([[0, 0], [160, 80]])
    assert sigma == pytest.approx(np.full((2, 2), 0.2), rel=1e-2)
    # the default click noise is 1 px
    assert _scaled_camera().desk_sigma_cm([[160, 0]]) == pytest.approx(np.full((1, 2), 0.1), rel=1e-2)


def test_calibration_sigma_shrinks_with_more_points():
    middle = _scaled_camera().desk_sigma_cm([[80, 40]])[0]
    more = _scaled_camera(extra_points=[(80, 0), (80, 80), (0, 40), (160, 40)])
    assert (more.desk_sigma_cm([[80, 40]])[0] < middle).all()


def test_camera_file_without_error_figures_recomputes_them_with_a_warning():
    fitted = _scaled_camera().spec.model_dump(mode="json", exclude_none=True)
    for field in ("reprojection_error_px", "max_error_px", "position_error_cm"):
        del fitted["fit"][field]
    camera = parse_camera(fitted, "old.yaml")
    assert camera.reprojection_error_px == pytest.approx(0.0, abs=1e-6)
    assert camera.position_error_cm["median"] > 0
    assert len(camera.warnings) == 1 and "old.yaml" in camera.warnings[0] and "older version" in camera.warnings[0]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_click_noise_is_a_calibration_error_naming_the_field(bad):
    from inspector.errors import CalibrationError

    data = _scaled_camera().spec.model_dump(mode="json", exclude_none=True)
    data["click_noise_px"] = bad
    with pytest.raises(CalibrationError, match="click_noise_px"):
        parse_camera(data, "cam.yaml")


def test_box_noise_carries_to_the_extent_of_a_flat_item_seen_from_above():
    """Straight down at 2.5 px per cm, a flat item's box sides are its extent. Each extent side is
    seen directly (sigma s) and again as the other side less the width, whose size prior (15 % of
    8 cm) adds its own spread: fused, 1 / (1/s^2 + 1/(s^2 + 1.2^2)), about 0.84 cm for s = 1 cm."""
    from calibration.camera import Intrinsics  # noqa: F401  (the pose comes from the fit)
    from inspector.footprint import place_detections
    from tests.calibration.conftest import desk_corner_pairs, look_at

    K, rvec, tvec = look_at([80, 40, 400], [80, 40, 0], 1000.0)  # 400 cm up, 2.5 px per cm
    camera = fit_camera(CameraFile.model_validate({
        "camera_id": "down", "image_size": [1280, 720], "desk": {"width_cm": 160, "depth_cm": 80},
        "points": desk_corner_pairs(K, rvec, tvec), "intrinsics": {"K": K.tolist()}, "click_noise_px": 0.0}))
    center = camera.desk_to_image([[80, 40]])[0]
    # an ink pad 8 x 8 x 2.5 cm at the centre: its box is about 20 px a side
    half = 10.0
    detection = Detection("ink_pad", 0.9, (center[0] - half, center[1] - half, center[0] + half, center[1] + half))
    noise = BoxError(floor_px=2.5, default_rel=(0.0, 0.0))  # 1 cm at 2.5 px per cm
    [placed] = place_detections([detection], camera, lambda c: (8.0, 8.0, 2.5), box_error=noise)
    fused = 1.0 / math.sqrt(1.0 + 1.0 / (1.0 + 1.2**2))
    assert placed.extent_sigma_cm == pytest.approx([fused] * 4, rel=0.1)
    quieter = BoxError(floor_px=1.25, default_rel=(0.0, 0.0))
    [placed_quieter] = place_detections([detection], camera, lambda c: (8.0, 8.0, 2.5), box_error=quieter)
    assert np.array(placed_quieter.extent_sigma_cm) == pytest.approx(np.array(placed.extent_sigma_cm) / 2, rel=0.1)


def test_default_box_error_is_stated():
    assert "default" in DEFAULT_BOX_ERROR.source and DEFAULT_BOX_ERROR.floor_px > 0
