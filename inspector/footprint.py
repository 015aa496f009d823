"""Detections (image px) -> desk-plane items (cm).

Method: fit a class-typical solid to the image box.
A box's top edge is not on the desk, so projecting the whole box onto the desk plane makes a
tall item seen obliquely reach tens of cm too far. Instead each item is modelled as an upright
solid of its class's typical shape (`SOLIDS`: a keyboard is a wedge, a desk phone a sloped body
with the handset along one side, a name plate a tent or a leaning panel, a mug a cylinder with a
handle...) with the class's nominal footprint and height from the standard, standing on the desk
at an unknown position (x, y), with unknown size factors and a small unknown turn. We project
that solid through the calibrated camera (pose + lens) and solve, by robust non-linear least
squares, for the position, sizes and turn whose projected image box matches the detected box;
weak log-normal priors keep the sizes near the class's nominal ones when the view cannot tell
them apart (near-overhead views cannot see height), and a turn prior (most items kept square
within a few degrees, the rest at any angle) keeps items square unless the box shows otherwise.
Box sides touching the image border are left out (the item is cut off there).

Where a class has several typical shapes, the one that explains the box best is kept. But a box
alone often fits one shape at more than one turn: a flat item turned by some angle has nearly the
box of the same item mirrored about the image's rows (see `_mirror_turns_deg`), and a squarish one
turned 20 deg that of a larger one kept square. So a flat item's solids are fitted from several
starting turns and, seen by a box alone, the reported extent (the axis-aligned rectangle that has
the item's distance to every desk edge) is the average over the best shape's distinct fits, each
weighted by its posterior mass (exp(-cost), times the width of its optimum: Laplace's
approximation). A margin then moves part of the way toward a turned reading that is nearly as
likely as the square one, instead of all the way to whichever is likelier. A tall item's box is
mostly its height: its best fit is taken.

This uses every side of the box and the camera pose, works for overhead and oblique views alike,
and degrades gracefully to the class prior; a polygon (segmentation) gives the orientation, and
then the best fit is taken.
All of an image's fits are solved together (one vectorised Levenberg-Marquardt), which keeps
placement at a few milliseconds per image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from shapely.geometry import MultiPoint, Polygon

from calibration.camera import Camera
from inspector.errors import DetectionsError
from inspector.records import DeskItem, Detection
from inspector.uncertainty import BoxError

_SIZE_PRIOR_SIGMA = 0.15  # log-scale std of real sizes around the standard's nominal size
# ...except heights that vary by nature: a stack of brochures is one leaflet or thirty
_HEIGHT_PRIOR_SIGMA = {"brochure": 0.6}
_CIRCLE_SEGMENTS = 16
_BORDER_PX = 2.0  # a box side this close to the image border is treated as cut off
_CUT_DIRECTION_SHARE = 0.38  # sin 22.5 deg: a cut side pointing this much along a desk axis hides that side
_GOOD_FIT_COST = 2.0  # cost (less the turn prior) below which a solid explains the box
_TURN_CANDIDATES_DEG = (-60.0, -30.0, -15.0, 15.0, 30.0, 60.0, 90.0)
_MODERATE_TURNS_DEG = (-20.0, 20.0)  # extra starts for a flat item's typical solid, see _flat_starts_deg
_SAME_START_DEG = 8.0  # a start this close to square ends where the square start does
# Turn prior, a mixture: most items are kept square (lengthwise or sideways) within a few degrees,
# the rest lie at any angle
# (the shares our synthetic scenes are drawn with, models/synth/scene.py sample_yaw; real desks
# look alike: most things are squared up to the edge, a few are put down anyhow)
_SQUARE_SHARE = 0.7
_YAW_PRIOR_DEG = 4.0  # spread of "kept square"
_ANY_TURN_DENSITY = (1.0 - _SQUARE_SHARE) / 90.0  # per degree of a turn folded into (-45, 45]
# fits of one solid this close in cost and in extent are one hypothesis, reached from two starts
_DUPLICATE_COST = 0.01
_DUPLICATE_CM = 0.1
# the mirrored reading of a box needs an item whose box is mostly its footprint, not its height
_FLAT_HEIGHT_SHARE = 0.5
_PHOTO_OUTLINE_SLACK = 2.0  # nats of box cost an outline-given turn may cost over the box-only fit
# Solver: Levenberg-Marquardt on all of an image's fits at once (numpy, forward differences).
# Unknowns per fit: x, y (cm), log width, log height and log depth factors, turn (deg).
_PARAM_SCALE = np.array([10.0, 10.0, 0.1, 0.1, 0.1, 10.0])
_DIFF_STEP = np.array([1e-3, 1e-3, 1e-5, 1e-5, 1e-5, 1e-3])
_MAX_ITERATIONS = 40
# millimetre-level answers need no more
_STEP_TOL = 1e-4
_COST_TOL = 1e-3
_BEHIND_CAMERA_RESIDUAL = 1e3  # a guess that puts the solid behind the camera: push the solver away

PriorLookup = Callable[[str], tuple[float, float, float]]  # class -> (width, depth, height) cm


# -- solids --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Solid:
    """The shape of a typical item of a class, in its own unit frame: x and y in [-0.5, 0.5] of the
    width (left to right) and depth (customer side to staff side), z in [0, 1] of the height.
    Only the points that can bound its image matter: the corners and rims of its convex hull.
    `round` ties depth to width (a cup stays round when it is rescaled)."""

    name: str
    points: np.ndarray  # (K, 3)
    round: bool = False

    @cached_property
    def outline(self) -> np.ndarray:
        """Plan view (M, 2), counter-clockwise: the convex hull of the points seen from above."""
        hull = MultiPoint(self.points[:, :2]).convex_hull
        coords = np.asarray(hull.exterior.coords)[:-1]
        area = np.sum(coords[:, 0] * np.roll(coords[:, 1], -1) - np.roll(coords[:, 0], -1) * coords[:, 1])
        return coords if area > 0 else coords[::-1]


def _rect(x0: float, x1: float, y0: float, y1: float, z: float) -> np.ndarray:
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]])


def _ring(rx: float, ry: float, z: float, cx: float = 0.0, cy: float = 0.0, n: int = _CIRCLE_SEGMENTS) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t), np.full(n, z)], axis=1)


def _mirrored(solid: Solid, name: str) -> Solid:
    """The same item turned half round (a handset on the other side, a plate leaning the other way)."""
    return Solid(name, solid.points * [-1.0, -1.0, 1.0], solid.round)


def _solid(name: str, *parts: np.ndarray, round: bool = False) -> Solid:
    return Solid(name, np.unique(np.vstack(parts), axis=0), round)  # each corner once: fewer points to project


_CUBOID = _solid("cuboid", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.5, 0.5, -0.5, 0.5, 1.0))
_CYLINDER = _solid("cylinder", _ring(0.5, 0.5, 0.0), _ring(0.5, 0.5, 1.0), round=True)
# A mug: body 1/1.28 of the width across, the handle at one side, at 25-72% of the height.
_MUG_BODY = 0.5 / 1.28
_MUG = _solid("mug", _ring(0.9 * _MUG_BODY, 0.9 * _MUG_BODY, 0.0, cx=-0.5 + _MUG_BODY),
              _ring(_MUG_BODY, _MUG_BODY, 1.0, cx=-0.5 + _MUG_BODY),
              _rect(-0.5 + 1.85 * _MUG_BODY, 0.5, -0.05, 0.05, 0.25), _rect(-0.5 + 1.85 * _MUG_BODY, 0.5, -0.05, 0.05, 0.72),
              round=True)
# Keyboards rise toward the far (customer) side; desk phones have a sloped keypad and the handset
# lying along one side; tent name plates have a ridge down the middle, acrylic stands a panel
# leaning back; a mouse is a rounded hump toward the palm; monitors and document cameras are a
# low base with a panel / a head on an arm.
_KEYBOARD = _solid("wedge", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.5, 0.5, -0.5, -0.5, 1.0),
                   _rect(-0.5, 0.5, 0.5, 0.5, 0.55))
_TELEPHONE = _solid("desk phone", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.5, 0.5, -0.5, -0.5, 0.7),
                    _rect(-0.5, 0.5, 0.5, 0.5, 0.35), _rect(-0.5, -0.2, -0.5, -0.24, 1.0),
                    _rect(-0.5, -0.2, 0.24, 0.5, 0.95))
_TENT = _solid("tent", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.5, 0.5, 0.0, 0.0, 1.0))
_LEANING = _solid("leaning panel", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.5, 0.5, -0.5, 0.5, 0.05),
                  _rect(-0.5, 0.5, 0.37, 0.5, 1.0))
_MOUSE = _solid("hump", _ring(0.5, 0.5, 0.0), _ring(0.485, 0.485, 0.45), _ring(0.24, 0.24, 1.0, cy=0.1))
_MONITOR = _solid("panel on a stand", _rect(-0.2, 0.2, -0.5, 0.5, 0.0), _rect(-0.2, 0.2, -0.5, 0.5, 0.03),
                  _rect(-0.5, 0.5, -0.15, -0.05, 0.19), _rect(-0.5, 0.5, -0.15, -0.05, 1.0))
_DOCUMENT_CAMERA = _solid("base, arm and head", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.5, 0.5, -0.5, 0.5, 0.05),
                          _rect(-0.15, 0.15, -0.48, 0.47, 1.0))
_BAG = _solid("bag with handles", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.43, 0.43, -0.43, 0.43, 0.72),
              _rect(-0.25, 0.25, -0.12, 0.12, 1.0))
_PACKET = _solid("packet", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.425, 0.425, -0.425, 0.425, 1.0))
_BUN = _solid("bun", _ring(0.425, 0.425, 0.0), _ring(0.5, 0.5, 0.35), _ring(0.375, 0.375, 0.75), _ring(0.15, 0.15, 1.0))

# Builds a class also comes in that the placement does not assume (a box-shaped mouse or phone, a
# flat scanner-like document camera, a monitor whose panel stands on the desk without a stand). They
# never place an item; they are fitted too, and how far their placement lies from the typical one,
# weighted by how well they explain the box and by ATYPICAL_SHARE, is part of the item's
# uncertainty (inspector.uncertainty): the footprint model's own doubt.
ATYPICAL_SOLIDS: dict[str, tuple[Solid, ...]] = {
    "mouse": (_CUBOID,),
    "telephone": (_CUBOID,),
    "document_camera": (_solid("flat slab", _rect(-0.5, 0.5, -0.5, 0.5, 0.0), _rect(-0.5, 0.5, -0.5, 0.5, 0.15)),),
    "monitor": (_solid("panel on the desk", _rect(-0.5, 0.5, -0.15, -0.05, 0.0), _rect(-0.5, 0.5, -0.15, -0.05, 1.0)),),
}
ATYPICAL_SHARE = 0.15  # prior share of a class's items built like one of its atypical solids

# Alternatives per class, the most typical first; the one that explains the box best is taken.
SOLIDS: dict[str, tuple[Solid, ...]] = {
    "cup": (_CYLINDER, _MUG, _mirrored(_MUG, "mug, handle left")),
    "bottle": (_CYLINDER,),
    "ink_pad": (_CUBOID, _CYLINDER),
    "keyboard": (_KEYBOARD,),
    "telephone": (_TELEPHONE, _mirrored(_TELEPHONE, "desk phone, handset right")),
    "name_plate": (_TENT, _LEANING, _mirrored(_LEANING, "panel leaning forward")),
    "mouse": (_MOUSE,),
    "monitor": (_MONITOR,),
    "document_camera": (_DOCUMENT_CAMERA,),
    "bag": (_BAG,),
    "food": (_PACKET, _CUBOID, _BUN),
}


def solids_for(class_name: str) -> tuple[Solid, ...]:
    return SOLIDS.get(class_name, (_CUBOID,))


def _rotated(points: np.ndarray, angle_deg) -> np.ndarray:
    """Points turned counter-clockwise about the origin, as seen from above (angle per leading row)."""
    a = np.radians(angle_deg)
    cos, sin = np.cos(a), np.sin(a)
    x, y = points[..., 0], points[..., 1]
    if np.ndim(a):
        cos, sin = cos[..., None], sin[..., None]
    return np.stack([x * cos - y * sin, x * sin + y * cos], axis=-1)


def base_outline(class_name: str, width_cm: float, depth_cm: float, angle_deg: float = 0.0,
                 solid: Solid | None = None) -> np.ndarray:
    """Plan-view outline of the class's (or the given) solid, centred on the origin, (N, 2) cm."""
    solid = solid or solids_for(class_name)[0]
    return _rotated(solid.outline * [width_cm, depth_cm], angle_deg)


def _solid_points(points: np.ndarray, solid_of_point: np.ndarray, params: np.ndarray, nominal: np.ndarray,
                  round_: np.ndarray) -> np.ndarray:
    """(T, 3) desk-frame points of S solids, all their unit points (T, 3) in one array, each point's
    solid given by solid_of_point (T,): params (S, 6), nominal (S, 3) w, d, h."""
    log_depth = np.where(round_, params[:, 2], params[:, 4])
    scale = nominal * np.exp(np.stack([params[:, 2], log_depth, params[:, 3]], axis=1))
    angle = np.radians(params[:, 5])
    cos, sin = np.cos(angle), np.sin(angle)
    # each solid's scale-turn-shift as one row of coefficients: one gather per point instead of several
    coef = np.stack([cos * scale[:, 0], -sin * scale[:, 1], params[:, 0],
                     sin * scale[:, 0], cos * scale[:, 1], params[:, 1], scale[:, 2]], axis=1)[solid_of_point]
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    return np.stack([x * coef[:, 0] + y * coef[:, 1] + coef[:, 2], x * coef[:, 3] + y * coef[:, 4] + coef[:, 5],
                     z * coef[:, 6]], axis=1)


def _image_boxes(camera: Camera, points: np.ndarray, first_point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image boxes (S, 4) of point sets given as one (T, 3) array, set s starting at first_point[s],
    and whether each set lies wholly in front of the camera."""
    px, in_front = camera.project_points(points)
    boxes = np.concatenate([np.minimum.reduceat(px, first_point, axis=0),
                            np.maximum.reduceat(px, first_point, axis=0)], axis=1)
    return boxes, np.logical_and.reduceat(in_front, first_point)


def solid_image_box(
    camera: Camera, class_name: str, center_cm, size_cm: tuple[float, float, float], angle_deg: float,
    solid: Solid | None = None,
) -> np.ndarray:
    """Image box [x1, y1, x2, y2] of the upright solid, as the camera sees it."""
    solid = solid or solids_for(class_name)[0]
    width, depth, height = size_cm
    points = solid.points * [width, depth, height]
    xy = _rotated(points[:, :2], angle_deg) + np.asarray(center_cm, dtype=float)
    px = camera.project(np.hstack([xy, points[:, 2:]]))
    return np.array([px[:, 0].min(), px[:, 1].min(), px[:, 0].max(), px[:, 1].max()])


def naive_footprint(camera: Camera, bbox_px) -> Polygon:
    """The whole image box projected onto the desk plane (what we improve on; used in the benchmark)."""
    x1, y1, x2, y2 = bbox_px
    corners = camera.image_to_desk([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    return Polygon(corners).convex_hull


def orientation_from_polygon(camera: Camera, polygon_px, height_cm: float, width_cm: float = 1.0,
                             depth_cm: float = 1.0) -> float:
    """Footprint angle from a segmentation outline. The outline holds the item's base and its top;
    mapped onto the desk plane it covers the footprint and the base's "shadow" away from the camera,
    mapped onto the plane at the item's height the footprint and its shadow toward the camera: where
    both overlap is the footprint, nearly, whatever the view."""
    try:
        outline = np.asarray(polygon_px, dtype=float)
        plan = Polygon(camera.image_to_desk(outline, z_cm=0.0)).buffer(0)
        if height_cm > 0:
            plan = plan.intersection(Polygon(camera.image_to_desk(outline, z_cm=height_cm)).buffer(0))
    except Exception:  # a ray missing the plane: orientation unknown rather than wrong
        return 0.0
    if plan.is_empty or plan.area <= 0:
        return 0.0
    corners = np.asarray(plan.minimum_rotated_rectangle.exterior.coords)[:3]
    edges = [corners[1] - corners[0], corners[2] - corners[1]]
    if abs(width_cm - depth_cm) < 0.15 * max(width_cm, depth_cm):  # squarish: any side will do
        return fold_angle_deg(math.degrees(math.atan2(edges[0][1], edges[0][0])))
    # an elongated item: the turn that lays its long side (width or depth) along the outline's
    long_edge = max(edges, key=np.linalg.norm)
    angle = math.degrees(math.atan2(long_edge[1], long_edge[0])) - (0.0 if width_cm >= depth_cm else 90.0)
    return float(_fold(angle, 180.0))


def _fold(angles_deg, period_deg: float = 90.0) -> np.ndarray:
    """Turns into (-period/2, period/2]: a rectangle looks the same every 90 deg; a solid turned half
    round (period 180) has the same box, a quarter turn has not."""
    half = period_deg / 2.0
    folded = (np.asarray(angles_deg, dtype=float) + half) % period_deg - half
    return np.where(folded == -half, half, folded)


def fold_angle_deg(angle_deg: float) -> float:
    """A rectangle looks the same every 90 deg: fold any angle into (-45, 45]."""
    return float(_fold(angle_deg))


@dataclass(frozen=True)
class _Fits:
    """A batch of solid fits, one row each: which detection, which solid, and its fixed data."""

    detection: np.ndarray  # (S,) index into the detections
    solids: tuple[Solid, ...]
    points: np.ndarray  # (T, 3) unit points of all the fits' solids, one after the other
    first_point: np.ndarray  # (S,) where each fit's points start
    point_count: np.ndarray  # (S,)
    round: np.ndarray  # (S,)
    nominal: np.ndarray  # (S, 3) width, depth, height cm
    detected: np.ndarray  # (S, 4) px
    usable: np.ndarray  # (S, 4) box sides not cut by the image border
    sigma_px: np.ndarray  # (S,)
    size_sigma: np.ndarray  # (S, 3) log width, height, depth
    free: np.ndarray  # (S, 6) unknowns being solved (the others stay as started)
    box_sigma_px: np.ndarray  # (S, 4) measured box-side noise, for the fit's covariance

    @staticmethod
    def build(rows: list[tuple[int, Solid, bool]], data: "_DetectionData") -> "_Fits":
        """rows: (detection index, solid, turn free)."""
        points = np.vstack([solid.points for _, solid, _ in rows])
        count = np.array([len(solid.points) for _, solid, _ in rows])
        index = np.array([i for i, _, _ in rows])
        round_ = np.array([solid.round for _, solid, _ in rows])
        free = np.ones((len(rows), 6), dtype=bool)
        free[:, 4] = ~round_  # a round solid's depth follows its width
        free[:, 5] = [turn for _, _, turn in rows]
        return _Fits(index, tuple(solid for _, solid, _ in rows), points, np.cumsum(count) - count, count, round_,
                     data.nominal[index], data.detected[index], data.usable[index], data.sigma_px[index],
                     data.size_sigma[index], free, data.box_sigma_px[index])

    @cached_property
    def _outline_layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All fits' plan-outline points (P, 3), each point's fit (P,), where each fit's start (S,)."""
        outlines = [solid.outline for solid in self.solids]
        count = np.array([len(o) for o in outlines])
        flat = np.hstack([np.vstack(outlines), np.zeros((count.sum(), 1))])
        return flat, np.repeat(np.arange(len(outlines)), count), np.cumsum(count) - count

    def extents(self, params: np.ndarray, copies: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Every fit's plan-outline extent [x0, y0, x1, y1] (S, 4) cm and height (S,) cm; with
        `copies`, params holds that many sets of every fit's unknowns, one set after the other, and
        the answers come in the same order (one call for all: see _extent_variance)."""
        flat, solid_of_point, first = self._outline_layout
        nominal, round_ = self.nominal, self.round
        if copies > 1:
            shift = np.arange(copies)[:, None]
            solid_of_point = (solid_of_point[None, :] + len(self.solids) * shift).ravel()
            first = (first[None, :] + len(flat) * shift).ravel()
            flat, nominal, round_ = np.tile(flat, (copies, 1)), np.tile(nominal, (copies, 1)), np.tile(round_, copies)
        plan = _solid_points(flat, solid_of_point, params, nominal, round_)[:, :2]
        extent = np.concatenate([np.minimum.reduceat(plan, first, axis=0),
                                 np.maximum.reduceat(plan, first, axis=0)], axis=1)
        return extent, nominal[:, 2] * np.exp(params[:, 3])

    def residuals(self, camera: Camera, params: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """(N, 8): 4 box sides in units of the box noise, 3 size priors, 1 turn prior (0 when fixed)."""
        rows = np.arange(len(params)) if rows is None else rows
        count = self.point_count[rows]
        first = np.cumsum(count) - count
        solid_of_point = np.repeat(np.arange(len(rows)), count)  # the points of the rows asked for, in order
        points = self.points[self.first_point[rows][solid_of_point] + np.arange(count.sum()) - first[solid_of_point]]
        boxes, in_front = _image_boxes(camera, _solid_points(points, solid_of_point, params, self.nominal[rows],
                                                             self.round[rows]), first)
        image_terms = np.where(self.usable[rows], (boxes - self.detected[rows]) / self.sigma_px[rows, None], 0.0)
        image_terms[~in_front] = _BEHIND_CAMERA_RESIDUAL
        size_terms = params[:, 2:5] / self.size_sigma[rows]
        size_terms[:, 2] = np.where(self.round[rows], 0.0, size_terms[:, 2])
        turn_terms = np.where(self.free[rows, 5], _turn_residual(params[:, 5]), 0.0)
        return np.concatenate([image_terms, size_terms, turn_terms[:, None]], axis=1)


def _turn_prior_cost(angles_deg: np.ndarray) -> np.ndarray:
    """-log of the turn prior, 0 when square: a share _SQUARE_SHARE kept square (normal, spread
    _YAW_PRIOR_DEG), the rest at any angle (uniform), so a box that clearly shows a turn gets it."""
    r = _fold(angles_deg) / _YAW_PRIOR_DEG
    square = _SQUARE_SHARE / (_YAW_PRIOR_DEG * math.sqrt(2 * math.pi))
    return np.log(square + _ANY_TURN_DENSITY) - np.log(square * np.exp(-0.5 * r**2) + _ANY_TURN_DENSITY)


def _turn_residual(angles_deg: np.ndarray) -> np.ndarray:
    """Turn prior as a residual whose soft-L1 cost (see _cost) is the prior's -log."""
    cost = _turn_prior_cost(angles_deg)
    return np.sign(_fold(angles_deg)) * np.sqrt((cost + 1.0) ** 2 - 1.0)


def _cost(residuals: np.ndarray) -> np.ndarray:
    """Robust (soft L1) cost per fit: quadratic for small residuals, linear for outlying box sides."""
    return np.sum(np.sqrt(1.0 + residuals**2) - 1.0, axis=1)


def _solve(camera: Camera, fits: _Fits, start: np.ndarray) -> tuple[np.ndarray, ...]:
    """Levenberg-Marquardt with robust reweighting, on every fit at once. Returns (params, cost,
    log volume, Jacobian, residuals) per fit.

    One projection call per iteration serves all fits: each trial step is evaluated together with
    the finite differences its Jacobian needs, so an accepted step costs no second call. That is
    what makes an image's placement take milliseconds instead of a solver call per item."""
    n, p = start.shape
    eye = np.eye(p)

    def evaluate(points: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residuals (m, r) at the points and their forward-difference Jacobians (m, p, r), the
        differences taken for the free unknowns only (a round solid's turn changes nothing)."""
        m = len(rows)
        fit, unknown = np.nonzero(fits.free[rows])
        shifted = points[fit] + eye[unknown] * _DIFF_STEP[unknown, None]
        values = fits.residuals(camera, np.concatenate([points, shifted]), np.concatenate([rows, rows[fit]]))
        jacobian = np.zeros((m, p, values.shape[1]))
        jacobian[fit, unknown] = (values[m:] - values[fit]) / _DIFF_STEP[unknown, None]
        return values[:m], jacobian

    params = start.copy()
    residuals, jacobian = evaluate(params, np.arange(n))
    cost = _cost(residuals)
    damping = np.full(n, 1e-3)
    active = np.ones(n, dtype=bool)
    for _ in range(_MAX_ITERATIONS):
        rows = np.flatnonzero(active)
        if len(rows) == 0:
            break
        weight = 1.0 / np.sqrt(1.0 + residuals[rows] ** 2)  # soft-L1 reweighting
        normal = np.einsum("mpr,mr,mqr->mpq", jacobian[rows], weight, jacobian[rows])
        gradient = np.einsum("mpr,mr,mr->mp", jacobian[rows], weight, residuals[rows])
        diagonal = np.einsum("mpp->mp", normal)
        normal = normal + (damping[rows, None] * np.maximum(diagonal, 1e-9))[:, :, None] * eye
        frozen = ~fits.free[rows]
        normal[frozen] = 0.0
        normal.transpose(0, 2, 1)[frozen] = 0.0
        normal[frozen[:, :, None] & eye.astype(bool)[None]] = 1.0
        gradient[frozen] = 0.0
        step = -np.linalg.solve(normal, gradient[:, :, None])[:, :, 0]
        trial = params[rows] + step
        trial_res, trial_jac = evaluate(trial, rows)
        trial_cost = _cost(trial_res)
        better = trial_cost < cost[rows]
        settled = better & (cost[rows] - trial_cost <= _COST_TOL * cost[rows])
        accepted = rows[better]
        params[accepted], residuals[accepted], cost[accepted] = trial[better], trial_res[better], trial_cost[better]
        jacobian[accepted] = trial_jac[better]
        damping[rows] = np.where(better, np.maximum(damping[rows] / 3.0, 1e-7), damping[rows] * 4.0)
        small_step = np.max(np.abs(step) / _PARAM_SCALE, axis=1) < _STEP_TOL
        active[rows] = ~(small_step | settled | (damping[rows] > 1e6))
    return params, cost, _log_volume(jacobian, residuals, fits.free), jacobian, residuals


def _log_volume(jacobian: np.ndarray, residuals: np.ndarray, free: np.ndarray) -> np.ndarray:
    """-0.5 log det of the cost's curvature (Gauss-Newton) over the free unknowns, per fit: how
    wide the range of answers explaining the box is (Laplace's approximation of the posterior mass
    next to its peak): a turn held only by the prior's narrow peak is worth less than its cost says."""
    weight = 1.0 / np.sqrt(1.0 + residuals**2)
    normal = np.einsum("mpr,mr,mqr->mpq", jacobian, weight, jacobian) / (_PARAM_SCALE[:, None] * _PARAM_SCALE)
    normal[~free] = 0.0
    normal.transpose(0, 2, 1)[~free] = 0.0
    normal[~free[:, :, None] & np.eye(free.shape[1], dtype=bool)[None]] = 1.0
    sign, logdet = np.linalg.slogdet(normal)
    return np.where(sign > 0, -0.5 * logdet, 0.0)  # a degenerate curvature: leave the cost to judge


@dataclass(frozen=True)
class _DetectionData:
    nominal: np.ndarray  # (N, 3)
    detected: np.ndarray  # (N, 4)
    usable: np.ndarray  # (N, 4)
    sigma_px: np.ndarray  # (N,)
    size_sigma: np.ndarray  # (N, 3)
    start: np.ndarray  # (N, 6)
    box_sigma_px: np.ndarray  # (N, 4) measured uncertainty of each box side (for the item's uncertainty)


def _detection_data(camera: Camera, detections: Sequence[Detection], priors: Sequence[tuple[float, float, float]],
                    box_sigma_px: np.ndarray | None = None) -> _DetectionData:
    image_w, image_h = camera.image_size
    detected = np.array([d.bbox_px for d in detections], dtype=float).reshape(-1, 4)
    # sides cut off by the image border say nothing about the item's extent
    usable = np.stack([detected[:, 0] > _BORDER_PX, detected[:, 1] > _BORDER_PX,
                       detected[:, 2] < image_w - _BORDER_PX, detected[:, 3] < image_h - _BORDER_PX], axis=1)
    usable[~usable.any(axis=1)] = True
    box_scale_px = np.maximum(np.maximum(detected[:, 2] - detected[:, 0], detected[:, 3] - detected[:, 1]), 1.0)
    # start from the bottom-centre of the box on the desk: close for most views
    bottom_centers = camera.image_to_desk(np.stack([(detected[:, 0] + detected[:, 2]) / 2, detected[:, 3]], axis=1))
    start = np.zeros((len(detections), 6))
    start[:, :2] = bottom_centers
    return _DetectionData(
        nominal=np.array(priors, dtype=float).reshape(-1, 3),
        detected=detected,
        usable=usable,
        sigma_px=1.0 + 0.03 * box_scale_px,  # box-edge noise and calibration error grow with box size
        size_sigma=np.array([[_SIZE_PRIOR_SIGMA, _HEIGHT_PRIOR_SIGMA.get(d.class_name, _SIZE_PRIOR_SIGMA),
                              _SIZE_PRIOR_SIGMA] for d in detections]).reshape(-1, 3),
        start=start,
        box_sigma_px=(np.asarray(box_sigma_px, dtype=float).reshape(-1, 4) if box_sigma_px is not None
                      else np.repeat((1.0 + 0.03 * box_scale_px)[:, None], 4, axis=1)),
    )


@dataclass(frozen=True)
class _Hypothesis:
    """One way a solid explains a box: its fitted unknowns and the fit's cost (-log posterior)."""

    solid: Solid
    params: np.ndarray
    cost: float
    log_volume: float  # see _log_volume
    box_cost: float  # the cost less the turn prior: how well the solid explains the box and sizes
    extent_cm: np.ndarray  # [x0, y0, x1, y1] of its plan outline on the desk
    height_cm: float
    extent_var: np.ndarray  # (4,) variance of extent_cm from the box's measured noise and the priors (Laplace)


def _mirror_turns_deg(camera: Camera, detected: np.ndarray) -> np.ndarray:
    """Per box, the turn 2*psi, psi being the direction of the image's rows on the desk there: a
    flat, symmetric item seen from above has the same box square and turned by 2*psi (mirrored
    about that direction), so this is where the other explanation of a square-looking box lies."""
    center = np.stack([(detected[:, 0] + detected[:, 2]) / 2, detected[:, 3]], axis=1)
    half_width = np.maximum((detected[:, 2] - detected[:, 0]) / 2, 1.0)[:, None]
    left = camera.image_to_desk(center - [1.0, 0.0] * half_width)
    right = camera.image_to_desk(center + [1.0, 0.0] * half_width)
    row = right - left
    return _fold(2.0 * np.degrees(np.arctan2(row[:, 1], row[:, 0])), 180.0)


def _flat_starts_deg(most_typical: bool, mirror_deg: float) -> tuple[float, ...]:
    """Turns to start a flat, box-only item's solid from: square; the mirrored turn, unless it is
    square too; and for the class's most typical solid a moderate turn either way (a squarish item
    turned 20 deg has much the box of a larger one kept square)."""
    mirror = (mirror_deg,) if abs(mirror_deg) > _SAME_START_DEG else ()
    return (0.0, *mirror, *(_MODERATE_TURNS_DEG if most_typical else ()))


def _extent_variance(fits: _Fits, params: np.ndarray, jacobian: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """(S, 4) variance of each fit's extent, first order (Laplace): the parameters' covariance is
    the inverse curvature of the cost with the box sides weighted by their MEASURED noise (the fit
    itself uses a generic noise), the size and turn priors as they are; then carried to the extent
    through its Jacobian. This is the box's and the priors' share of an item's uncertainty."""
    n, p = params.shape
    scale = np.ones_like(residuals)
    scale[:, :4] = fits.sigma_px[:, None] / np.maximum(fits.box_sigma_px, 1e-6)
    scaled_residuals, scaled_jacobian = residuals * scale, jacobian * scale[:, None, :]
    weight = 1.0 / np.sqrt(1.0 + scaled_residuals**2)
    normal = np.einsum("mpr,mr,mqr->mpq", scaled_jacobian, weight, scaled_jacobian)
    free = fits.free
    normal[~free] = 0.0
    normal.transpose(0, 2, 1)[~free] = 0.0
    normal[~free[:, :, None] & np.eye(p, dtype=bool)[None]] = 1.0
    covariance = np.linalg.pinv(normal)
    covariance[~free] = 0.0
    covariance.transpose(0, 2, 1)[~free] = 0.0
    base, _ = fits.extents(params)
    steps = np.eye(p) * _DIFF_STEP
    shifted = fits.extents(np.concatenate([params + step for step in steps]), copies=p)[0]
    shifted = shifted.reshape(p, n, 4).transpose(1, 0, 2)  # (S, p, 4)
    d_extent = (shifted - base[:, None, :]) / _DIFF_STEP[None, :, None]
    return np.maximum(np.einsum("mpk,mpq,mqk->mk", d_extent, covariance, d_extent), 0.0)


def _hypotheses(fits: _Fits, params: np.ndarray, cost: np.ndarray, log_volume: np.ndarray, jacobian: np.ndarray,
                residuals: np.ndarray) -> list[_Hypothesis]:
    """One hypothesis per solved fit, with the extent and height it puts on the desk."""
    extent, height = fits.extents(params)
    variance = _extent_variance(fits, params, jacobian, residuals)
    box_cost = cost - np.where(fits.free[:, 5], _turn_prior_cost(params[:, 5]), 0.0)
    return [_Hypothesis(fits.solids[j], params[j], float(cost[j]), float(log_volume[j]), float(box_cost[j]),
                        extent[j], float(height[j]), variance[j]) for j in range(len(params))]


def _distinct(hypotheses: list[_Hypothesis]) -> list[_Hypothesis]:
    """Cheapest first, without repeats: starts that end in the same fit count once in the average."""
    kept: list[_Hypothesis] = []
    for h in sorted(hypotheses, key=lambda h: h.cost):
        if not any(k.solid is h.solid and abs(k.cost - h.cost) < _DUPLICATE_COST
                   and np.max(np.abs(k.extent_cm - h.extent_cm)) < _DUPLICATE_CM for k in kept):
            kept.append(h)
    return kept


def has_turn(class_name: str) -> bool:
    """Whether the class's items can be turned in a way that matters (not round in every shape)."""
    return not all(s.round for s in solids_for(class_name))


def _is_flat(prior_cm) -> bool:
    return prior_cm[2] <= _FLAT_HEIGHT_SHARE * max(prior_cm[0], prior_cm[1])


def outline_helps(class_name: str, prior_cm: tuple[float, float, float]) -> bool:
    """Whether an outline found in the photo can improve a box-only item's placement: a flat item
    that is not round, whose box reads two ways (see _mirror_turns_deg). A tall item's box is
    mostly its height, and GrabCut's outline of a thin stand or arm is less sure than the box
    (measured: bench/geometry_accuracy.py --photo-outlines, monitors and document cameras)."""
    return has_turn(class_name) and _is_flat(prior_cm)


def _fit_all(camera: Camera, detections: Sequence[Detection], priors,
             photo_outlines: Sequence[tuple | None] | None = None,
             box_sigma_px: np.ndarray | None = None) -> tuple[list[list[_Hypothesis]], list[list[_Hypothesis]]]:
    """The distinct (solid, params, cost) fits of every detection, cheapest first.

    Orientation: from the detector's polygon when there is one. From a box alone, a flat item's
    solids are fitted from square, from the mirrored turn (see _mirror_turns_deg: the two readings
    of one box) and from moderate turns; an elongated item turned on the desk (a pen lying
    front-to-back) that fits none of them well is also started from large turns. For flat items the
    best solid's distinct fits are kept (see _expected_extent), for tall ones the best fit only.

    An outline found in the photo (`photo_outlines`, see inspector.outlines) adds fits at the turn
    it shows, solved together with the others; it has its say only when that turn explains the box
    about as well as the box alone does (within _PHOTO_OUTLINE_SLACK): a flat item whose box reads
    two ways gets the reading its outline shows, while an outline that GrabCut got wrong (a shadow
    taken in) is outvoted by its own box.

    Also returns, per detection, the fits of the class's ATYPICAL_SOLIDS (turn as the box-only
    square start): never placed by, part of the item's uncertainty."""
    data = _detection_data(camera, detections, priors, box_sigma_px)
    polygon_angles = [
        orientation_from_polygon(camera, d.polygon_px, data.nominal[i, 2], data.nominal[i, 0], data.nominal[i, 1])
        if d.polygon_px and has_turn(d.class_name) else None
        for i, d in enumerate(detections)
    ]
    photo_angles = [
        orientation_from_polygon(camera, photo_outlines[i], data.nominal[i, 2], data.nominal[i, 0], data.nominal[i, 1])
        if photo_outlines and photo_outlines[i] and not d.polygon_px and outline_helps(d.class_name, priors[i]) else None
        for i, d in enumerate(detections)
    ]
    mirror_deg = _mirror_turns_deg(camera, data.detected)
    flat = np.array([_is_flat(prior) for prior in data.nominal], dtype=bool)
    # 1. every solid of the class, from unturned (or turned as the polygon says) and, box-only and
    # flat, from the other turns of _flat_starts_deg. A box-only item may turn a little: a keyboard
    # turned 8 deg reaches 6 cm deeper, which a size change would explain only against its size prior
    rows, turns, from_photo, atypical = [], [], [], []
    for i, d in enumerate(detections):
        for solid in ATYPICAL_SOLIDS.get(d.class_name, ()):
            rows.append((i, solid, False))
            turns.append(polygon_angles[i] or 0.0)
            from_photo.append(False)
            atypical.append(True)
        for solid in solids_for(d.class_name):
            box_only = polygon_angles[i] is None and not solid.round
            starts = (_flat_starts_deg(solid is solids_for(d.class_name)[0], mirror_deg[i]) if box_only and flat[i]
                      else (polygon_angles[i] or 0.0,))
            for turn in starts:
                rows.append((i, solid, box_only))
                turns.append(turn)
                from_photo.append(False)
                atypical.append(False)
            if photo_angles[i] is not None:  # the turn the photo shows, held (every solid, as the box rows)
                rows.append((i, solid, False))
                turns.append(photo_angles[i])
                from_photo.append(True)
                atypical.append(False)
    fits = _Fits.build(rows, data)
    start = data.start[fits.detection].copy()
    start[:, 5] = turns
    found: list[list[_Hypothesis]] = [[] for _ in detections]
    photo_found: list[list[_Hypothesis]] = [[] for _ in detections]
    alternatives: list[list[_Hypothesis]] = [[] for _ in detections]
    for i, h, photo, odd in zip(fits.detection, _hypotheses(fits, *_solve(camera, fits, start)), from_photo, atypical):
        (alternatives if odd else photo_found if photo else found)[i].append(h)
    # ties go to the most typical solid (listed first: the sort is stable)
    found = [_distinct(h) for h in found]
    # 2. large turns for elongated box-only items that a small turn does not explain (a pen lying
    # front-to-back), each start refined with the turn free. (A squarish item turned far looks much
    # like a larger one: the starts add nothing measurable there.)
    turning = [i for i in range(len(detections))
               if polygon_angles[i] is None and not found[i][0].solid.round and found[i][0].box_cost > _GOOD_FIT_COST
               and max(data.nominal[i, :2]) > 1.3 * min(data.nominal[i, :2])]
    if turning:
        rows = [(i, found[i][0].solid, True) for i in turning for _ in _TURN_CANDIDATES_DEG]
        fits = _Fits.build(rows, data)
        start = data.start[fits.detection].copy()
        start[:, 5] = np.tile(_TURN_CANDIDATES_DEG, len(turning))
        for i, h in zip(fits.detection, _hypotheses(fits, *_solve(camera, fits, start))):
            found[i].append(h)
        for i in turning:
            found[i] = _distinct(found[i])
    fitted = []
    for i, h in enumerate(found):
        best_photo = min(photo_found[i], key=lambda k: k.cost, default=None)
        if best_photo is not None and best_photo.box_cost <= min(k.box_cost for k in h) + _PHOTO_OUTLINE_SLACK:
            fitted.append([best_photo])
        # a flat item's box reads two ways (see _mirror_turns_deg): keep the best solid's distinct
        # turns; a tall item's other fits are other turns its box hardly tells apart: take its best
        elif flat[i]:
            fitted.append([k for k in h if k.solid is h[0].solid])
        else:
            fitted.append(h[:1])
    return fitted, alternatives


def _outline(detection: Detection, h: _Hypothesis, nominal) -> tuple[np.ndarray, float]:
    """A hypothesis's plan outline (N, 2) cm on the desk and its height cm."""
    width0, depth0, height0 = nominal
    width = width0 * math.exp(h.params[2])
    depth = depth0 * math.exp(h.params[2] if h.solid.round else h.params[4])
    outline = base_outline(detection.class_name, width, depth, float(h.params[5]), h.solid) + h.params[None, :2]
    return outline, height0 * math.exp(h.params[3])


def _expected_extent(hypotheses: list[_Hypothesis]) -> tuple[np.ndarray, float]:
    """The extent [x0, y0, x1, y1] cm and height averaged over the hypotheses, weighted by their
    posterior mass (exp(log volume - cost)): where a box fits a square item and a turned one
    alike, the margins are the ones expected over both rather than all-or-nothing on the likelier."""
    log_mass = np.array([h.log_volume - h.cost for h in hypotheses])
    weights = np.exp(log_mass - log_mass.max())
    weights /= weights.sum()
    return weights @ np.array([h.extent_cm for h in hypotheses]), float(weights @ [h.height_cm for h in hypotheses])


def _mass(hypotheses: Sequence[_Hypothesis]) -> np.ndarray:
    """Each hypothesis's posterior mass, exp(log volume - cost), relative to the largest."""
    log_mass = np.array([h.log_volume - h.cost for h in hypotheses])
    return np.exp(log_mass - log_mass.max())


def _model_variance(hypotheses: list[_Hypothesis], alternatives: list[_Hypothesis], extent: np.ndarray,
                    averaged: bool) -> np.ndarray:
    """(4,) variance of the reported extent from the footprint model: over the hypotheses it was
    placed from (their own Laplace variance and their spread about the reported extent), and over
    the class's atypical builds, each weighted by its posterior mass and by ATYPICAL_SHARE."""
    typical = hypotheses if averaged else hypotheses[:1]
    everything = typical + alternatives
    mass = _mass(everything)
    atypical_share = ATYPICAL_SHARE if alternatives else 0.0
    prior = np.array([1.0 - atypical_share] * len(typical)
                     + [atypical_share / max(len(alternatives), 1)] * len(alternatives))
    weights = mass * prior
    weights /= weights.sum()
    means = np.array([h.extent_cm for h in everything])
    variances = np.array([h.extent_var for h in everything])
    return weights @ (variances + (means - extent) ** 2)


def _desk_item(detection: Detection, item_id: int, hypotheses: list[_Hypothesis], nominal, box_only: bool,
               alternatives: list[_Hypothesis] = ()) -> DeskItem:
    best = hypotheses[0]
    outline, height = _outline(detection, best, nominal)
    angle_deg = float(best.params[5])
    averaged = box_only and (len(hypotheses) > 1 or fold_angle_deg(angle_deg) != 0.0)
    if averaged:
        # A box tells how far a turned item reaches, not which way it is turned, and detector
        # boxes are too noisy to judge the turn by: report the extent (its axis-aligned rectangle,
        # which has the same distance to every desk edge) and leave alignment to polygons.
        (x0, y0, x1, y1), height = _expected_extent(hypotheses)
        outline, angle_deg = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), 0.0
    footprint = Polygon(outline)
    model_var = _model_variance(list(hypotheses), list(alternatives), np.asarray(footprint.bounds), averaged)
    return DeskItem(
        id=item_id,
        class_name=detection.class_name,
        confidence=float(detection.confidence),
        bbox_px=tuple(float(v) for v in detection.bbox_px),
        footprint_cm=footprint,
        height_cm=float(height),
        angle_deg=fold_angle_deg(angle_deg),
        extent_sigma_cm=tuple(float(v) for v in np.sqrt(model_var)),
        # a box does not show the turn: only a polygon does (a round item's turn does not matter)
        turn_seen=bool(detection.polygon_px) or not has_turn(detection.class_name),
    )


def place_detection(
    camera: Camera, detection: Detection, prior_cm: tuple[float, float, float], item_id: int,
    photo_outline: tuple | None = None,
) -> DeskItem:
    """One detection on the desk (see place_detections, which fits an image's items together)."""
    (hypotheses,), _ = _fit_all(camera, [detection], [prior_cm], [photo_outline])
    return _desk_item(detection, item_id, hypotheses, prior_cm, box_only=not detection.polygon_px)


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


def _cut_extent_sides(camera: Camera, bbox_px, usable: np.ndarray) -> tuple[str, ...]:
    """The extent sides ("min_x", "min_y", "max_x", "max_y") toward which an item may reach beyond
    what the image shows: those the cut box sides point to on the desk."""
    x1, y1, x2, y2 = bbox_px
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    sides = []
    for (mx, my), (ox, oy), cut in zip(((x1, cy), (cx, y1), (x2, cy), (cx, y2)),
                                       ((-1, 0), (0, -1), (1, 0), (0, 1)), ~usable):
        if not cut:
            continue
        try:
            inside, beyond = camera.image_to_desk([[mx - 20 * ox, my - 20 * oy], [mx, my]])
        except Exception:  # past the desk plane's horizon: no telling which way, so any way
            return ("min_x", "min_y", "max_x", "max_y")
        dx, dy = (beyond - inside) / max(float(np.hypot(*(beyond - inside))), 1e-9)
        sides += [name for name, component in (("min_x", -dx), ("max_x", dx), ("min_y", -dy), ("max_y", dy))
                  if component > _CUT_DIRECTION_SHARE]
    return tuple(name for name in ("min_x", "min_y", "max_x", "max_y") if name in sides)


def hidden_shares(boxes_px: np.ndarray) -> np.ndarray:
    """Per box, the share of its area covered by boxes whose bottom is lower in the image: items
    nearer the camera, which hide what stands behind them.

    Exact area of a union of rectangles on the grid of their own edges, all boxes at once in numpy
    (a shapely union per box cost a placement more than its solver on a busy desk)."""
    boxes = np.asarray(boxes_px, dtype=float).reshape(-1, 4)
    n = len(boxes)
    shares = np.zeros(n)
    if n < 2:
        return shares
    # clipped[i, j]: box j cut to box i, where j stands in front of i (its bottom lower)
    clipped = np.stack([np.maximum(boxes[None, :, 0], boxes[:, None, 0]), np.maximum(boxes[None, :, 1], boxes[:, None, 1]),
                        np.minimum(boxes[None, :, 2], boxes[:, None, 2]), np.minimum(boxes[None, :, 3], boxes[:, None, 3])],
                       axis=2)
    front = (boxes[None, :, 3] > boxes[:, None, 3]) & (clipped[..., 2] > clipped[..., 0]) & (clipped[..., 3] > clipped[..., 1])
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in np.flatnonzero(front.any(axis=1) & (area > 0)):
        cut = clipped[i, front[i]]
        xs, ys = np.unique(cut[:, [0, 2]]), np.unique(cut[:, [1, 3]])
        mid_x, mid_y = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
        covered = ((cut[:, 0, None] < mid_x) & (mid_x < cut[:, 2, None]))[:, None, :] & \
                  ((cut[:, 1, None] < mid_y) & (mid_y < cut[:, 3, None]))[:, :, None]
        shares[i] = float(np.sum(covered.any(axis=0) * np.outer(np.diff(ys), np.diff(xs)))) / area[i]
    return shares


def place_detections(
    detections: Sequence[Detection], camera: Camera, prior_cm: PriorLookup, source: str = "<detections>",
    photo_outlines: Sequence[tuple | None] | None = None, box_error: BoxError | None = None,
) -> tuple[DeskItem, ...]:
    """Place every detection on the desk; ids are 1-based in the order given.

    `photo_outlines` (per detection, or None) are outlines found in the photo for box-only
    detections (inspector.outlines). They give the fit the item's turn; the item is still reported
    as a box-only one (its extent, turn 0): such an outline is good enough to place an item, not
    to judge its alignment to a few degrees (round-ish items have no clear turn in it).

    With `box_error` (how far the detector's box sides fall from the true ones) each item carries
    the standard uncertainty of its extent (`extent_sigma_cm`: calibration, box and footprint
    model, see inspector.uncertainty); without it, the footprint model's share alone."""
    for detection in detections:
        check_detection(detection, camera.image_size, source)
    if not detections:
        return ()
    priors = [prior_cm(detection.class_name) for detection in detections]
    box_sigma = (np.array([box_error.sigma_px(d.class_name, d.bbox_px) for d in detections])
                 if box_error is not None else None)
    fitted, alternatives = _fit_all(camera, detections, priors, photo_outlines, box_sigma)
    items = [
        _desk_item(detection, item_id, hypotheses, prior, box_only=not detection.polygon_px, alternatives=others)
        for item_id, (detection, hypotheses, prior, others) in enumerate(
            zip(detections, fitted, priors, alternatives), start=1)
    ]
    boxes = np.array([d.bbox_px for d in detections], dtype=float)
    usable = _detection_data(camera, detections, priors).usable
    calibration_sigma = camera.desk_sigma_cm(np.array([[item.center_cm[0], item.center_cm[1]] for item in items]))
    hidden = hidden_shares(boxes)
    return tuple(
        replace(
            item,
            extent_sigma_cm=(tuple(float(v) for v in np.hypot(item.extent_sigma_cm, np.tile(calibration_sigma[i], 2)))
                             if box_error is not None else item.extent_sigma_cm),
            cut_extent_sides=_cut_extent_sides(camera, boxes[i], usable[i]),
            hidden_share=float(hidden[i]),
        )
        for i, item in enumerate(items)
    )
