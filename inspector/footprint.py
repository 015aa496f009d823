"""Detections (image px) -> desk-plane items (cm).

Method: fit a class-prior solid to the image box.
A box's top edge is not on the desk, so projecting the whole box onto the desk plane makes a
tall item seen obliquely reach tens of cm too far. Instead each item is modelled as an upright
solid (a cuboid, or a cylinder for round classes) with the class's nominal footprint and height
from the standard, standing on the desk at an unknown position (x, y) and with unknown size
factors (footprint scale, height scale). We project that solid through the calibrated camera
(pose + lens) and solve, by robust non-linear least squares, for the position and sizes whose
projected image box matches the detected box; weak log-normal priors keep the sizes near the
class's nominal ones when the view cannot tell them apart (near-overhead views cannot see height).
Box sides touching the image border are left out (the item is cut off there).

This uses every side of the box and the camera pose, works for overhead and oblique views alike,
and degrades gracefully to the class prior; a polygon (segmentation) gives the orientation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import least_squares
from shapely.geometry import Polygon

from calibration.camera import Camera
from inspector.errors import DetectionsError
from inspector.records import DeskItem, Detection

# classes whose plan view is round; their solid is a cylinder
ROUND_CLASSES = frozenset({"cup", "bottle"})
_CIRCLE_SEGMENTS = 24
_SIZE_PRIOR_SIGMA = 0.15  # log-scale std of real sizes around the standard's nominal size
# ...except heights that vary by nature: a stack of brochures is one leaflet or thirty
_HEIGHT_PRIOR_SIGMA = {"brochure": 0.6}

# Where the top of an item lies within its footprint, as fractions (x0, x1, y0, y1) of the width
# (left to right) and depth (customer side to staff side). Most items are boxes (the whole
# footprint); some are not, and the top is what the far side of an oblique image box shows:
# a tent name plate has a ridge, a monitor a thin panel, a document camera a head on an arm.
TOP_FACE: dict[str, tuple[float, float, float, float]] = {
    "name_plate": (0.0, 1.0, 0.45, 0.55),
    "monitor": (0.0, 1.0, 0.30, 0.45),
    "document_camera": (0.35, 0.65, 0.45, 1.0),
    "mouse": (0.25, 0.75, 0.3, 0.7),
}
_BORDER_PX = 2.0  # a box side this close to the image border is treated as cut off
_GOOD_FIT_COST = 2.0  # least-squares cost below which the unturned solid explains the box
_TURN_CANDIDATES_DEG = (-60.0, -30.0, 30.0, 60.0, 90.0)
_YAW_PRIOR_DEG = 30.0
# millimetre-level answers need no more: the default 1e-8 costs many more projections per item
_SOLVER_TOL = 1e-5

PriorLookup = Callable[[str], tuple[float, float, float]]  # class -> (width, depth, height) cm


def base_outline(class_name: str, width_cm: float, depth_cm: float, angle_deg: float = 0.0) -> np.ndarray:
    """Plan-view outline of the solid, centred on the origin, (N, 2) cm."""
    if class_name in ROUND_CLASSES:
        t = np.linspace(0, 2 * math.pi, _CIRCLE_SEGMENTS, endpoint=False)
        outline = np.stack([np.cos(t) * width_cm / 2, np.sin(t) * depth_cm / 2], axis=1)
    else:
        hw, hd = width_cm / 2, depth_cm / 2
        outline = np.array([[-hw, -hd], [hw, -hd], [hw, hd], [-hw, hd]])
    return _rotated(outline, angle_deg)


def _rotated(points: np.ndarray, angle_deg: float) -> np.ndarray:
    """Points turned counter-clockwise about the origin, as seen from above."""
    a = math.radians(angle_deg)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return points @ rotation.T


def solid_image_box(
    camera: Camera, class_name: str, center_cm, size_cm: tuple[float, float, float], angle_deg: float
) -> np.ndarray:
    """Image box [x1, y1, x2, y2] of the upright solid, as the camera sees it."""
    width, depth, height = size_cm
    center = np.asarray(center_cm, dtype=float)[None, :]
    bottom_xy = base_outline(class_name, width, depth, angle_deg) + center
    x0, x1, y0, y1 = TOP_FACE.get(class_name, (0.0, 1.0, 0.0, 1.0))
    if (x0, x1, y0, y1) == (0.0, 1.0, 0.0, 1.0):
        top_xy = bottom_xy
    else:
        local = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) - 0.5
        top_xy = _rotated(local * [width, depth], angle_deg) + center
    bottom = np.hstack([bottom_xy, np.zeros((len(bottom_xy), 1))])
    top = np.hstack([top_xy, np.full((len(top_xy), 1), height)])
    px = camera.project(np.vstack([bottom, top]))
    return np.array([px[:, 0].min(), px[:, 1].min(), px[:, 0].max(), px[:, 1].max()])


def naive_footprint(camera: Camera, bbox_px) -> Polygon:
    """The whole image box projected onto the desk plane (what we improve on; used in the benchmark)."""
    x1, y1, x2, y2 = bbox_px
    corners = camera.image_to_desk([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    return Polygon(corners).convex_hull


def orientation_from_polygon(camera: Camera, polygon_px, height_cm: float) -> float:
    """Footprint angle from a segmentation outline, mapped to the plane at mid-height."""
    try:
        plan = camera.image_to_desk(np.asarray(polygon_px, dtype=float), z_cm=height_cm / 2)
    except Exception:  # a ray missing the plane: orientation unknown rather than wrong
        return 0.0
    rectangle = Polygon(plan).minimum_rotated_rectangle
    coords = np.asarray(rectangle.exterior.coords)[:2]
    edge = coords[1] - coords[0]
    return fold_angle_deg(math.degrees(math.atan2(edge[1], edge[0])))


def fold_angle_deg(angle_deg: float) -> float:
    """A rectangle looks the same every 90 deg: fold any angle into (-45, 45]."""
    folded = (angle_deg + 45.0) % 90.0 - 45.0
    return 45.0 if folded == -45.0 else folded


def place_detection(
    camera: Camera, detection: Detection, prior_cm: tuple[float, float, float], item_id: int
) -> DeskItem:
    width0, depth0, height0 = prior_cm
    image_w, image_h = camera.image_size
    detected = np.asarray(detection.bbox_px, dtype=float)
    # sides cut off by the image border say nothing about the item's extent
    usable = np.array(
        [detected[0] > _BORDER_PX, detected[1] > _BORDER_PX,
         detected[2] < image_w - _BORDER_PX, detected[3] < image_h - _BORDER_PX]
    )
    if not usable.any():
        usable[:] = True
    round_item = detection.class_name in ROUND_CLASSES
    polygon_angle = None
    if detection.polygon_px and not round_item:
        polygon_angle = orientation_from_polygon(camera, detection.polygon_px, height0)
    size_sigma = np.array([_SIZE_PRIOR_SIGMA, _HEIGHT_PRIOR_SIGMA.get(detection.class_name, _SIZE_PRIOR_SIGMA),
                           _SIZE_PRIOR_SIGMA])  # width, height, depth factors
    box_scale_px = max(detected[2] - detected[0], detected[3] - detected[1], 1.0)
    sigma_px = 1.0 + 0.03 * box_scale_px  # box-edge noise and calibration error grow with box size

    def sizes(params) -> tuple[float, float, float]:
        if round_item:  # round things stay round: one scale for the diameter
            return width0 * math.exp(params[2]), depth0 * math.exp(params[2]), height0 * math.exp(params[3])
        return width0 * math.exp(params[2]), depth0 * math.exp(params[4]), height0 * math.exp(params[3])

    def residuals(params, angle_deg) -> np.ndarray:
        try:
            box = solid_image_box(camera, detection.class_name, params[:2], sizes(params), angle_deg)
        except Exception:  # solid behind the camera for this guess: push the solver away
            return np.full(int(usable.sum()) + 3, 1e3)
        image_terms = ((box - detected) / sigma_px)[usable]
        prior_terms = np.asarray(params[2:5]) / size_sigma
        return np.concatenate([image_terms, prior_terms])

    # start from the bottom-centre of the box on the desk: close for most views
    bottom_center = camera.image_to_desk([[(detected[0] + detected[2]) / 2, detected[3]]])[0]
    # unknowns: x, y (cm), log width, log height and log depth factors
    start = np.array([bottom_center[0], bottom_center[1], 0.0, 0.0, 0.0])
    scales = [10, 10, 0.1, 0.1, 0.1]

    def solve(angle_deg: float):
        return least_squares(residuals, start, args=(angle_deg,), method="trf", loss="soft_l1", x_scale=scales,
                             xtol=_SOLVER_TOL, ftol=_SOLVER_TOL)

    # Orientation: from the polygon when there is one. From a box alone, an elongated item
    # turned on the desk (a pen lying front-to-back) fits no unturned solid; then the turn that
    # fits the box best is taken. Its sign cannot be told from a box, its size can.
    if round_item:
        angle_deg, solution = 0.0, solve(0.0)
    elif polygon_angle is not None:
        angle_deg, solution = polygon_angle, solve(polygon_angle)
    else:
        # Items are mostly kept square (a yaw prior of _YAW_PRIOR_DEG), and a turn is taken only
        # when it explains the box clearly better: a thin item's box fits two mirrored turns.
        def with_prior(candidate, fit):  # a quarter turn is square to the desk too
            return fit.cost + 0.5 * (fold_angle_deg(candidate) / _YAW_PRIOR_DEG) ** 2

        angle_deg, solution = 0.0, solve(0.0)
        best_total = with_prior(0.0, solution)
        if solution.cost > _GOOD_FIT_COST and max(width0, depth0) > 1.3 * min(width0, depth0):
            for candidate in _TURN_CANDIDATES_DEG:
                trial = solve(candidate)
                if with_prior(candidate, trial) < best_total:
                    angle_deg, solution, best_total = candidate, trial, with_prior(candidate, trial)
            refined = least_squares(
                lambda p: np.append(residuals(p[:5], p[5]), fold_angle_deg(p[5]) / _YAW_PRIOR_DEG),
                np.append(solution.x, angle_deg), method="trf", loss="soft_l1", x_scale=scales + [10],
                xtol=_SOLVER_TOL, ftol=_SOLVER_TOL)
            if refined.cost < best_total:  # its cost already holds the turn prior
                angle_deg, solution = float(refined.x[5]), refined
    width, depth, height = sizes(solution.x)
    outline = base_outline(detection.class_name, width, depth, angle_deg) + solution.x[None, :2]
    if polygon_angle is None and angle_deg != 0.0:
        # A box tells how far a turned item reaches, not which way it is turned, and detector
        # boxes are too noisy to judge the turn by: report the extent (its axis-aligned rectangle,
        # which has the same distance to every desk edge) and leave alignment to polygons.
        x0, y0 = outline.min(axis=0)
        x1, y1 = outline.max(axis=0)
        outline, angle_deg = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), 0.0
    return DeskItem(
        id=item_id,
        class_name=detection.class_name,
        confidence=float(detection.confidence),
        bbox_px=tuple(float(v) for v in detection.bbox_px),
        footprint_cm=Polygon(outline),
        height_cm=float(height),
        angle_deg=fold_angle_deg(float(angle_deg)),
    )


def check_detection(detection: Detection, image_size: tuple[int, int], source: str) -> None:
    x1, y1, x2, y2 = detection.bbox_px
    width, height = image_size
    if not all(math.isfinite(v) for v in detection.bbox_px):
        raise DetectionsError(f"{detection.class_name} box {list(detection.bbox_px)} is not finite", source)
    if x2 <= x1 or y2 <= y1:
        raise DetectionsError(f"{detection.class_name} box {list(detection.bbox_px)} has no area (need x1<x2, y1<y2)", source)
    if x1 < -1 or y1 < -1 or x2 > width + 1 or y2 > height + 1:
        raise DetectionsError(
            f"{detection.class_name} box {list(detection.bbox_px)} lies outside the {width}x{height} image", source
        )


def place_detections(
    detections: Sequence[Detection], camera: Camera, prior_cm: PriorLookup, source: str = "<detections>"
) -> tuple[DeskItem, ...]:
    """Place every detection on the desk; ids are 1-based in the order given."""
    for detection in detections:
        check_detection(detection, camera.image_size, source)
    return tuple(
        place_detection(camera, detection, prior_cm(detection.class_name), item_id)
        for item_id, detection in enumerate(detections, start=1)
    )
