"""Four clicked desk corners, in the one order the product uses, whatever order was clicked.

The convention (README "Set up your counter", CLI, web page): **as the customer sees the desk**,
standing in front of it — 1 front-left, 2 front-right, 3 back-right, 4 back-left, the front edge
being the customer's side. Desk x runs along the front edge to the customer's right, y from the
front edge toward the staff: (0, 0), (w, 0), (w, d), (0, d).

People also click from the staff chair (left and right swapped) or go round the other way. A
mirrored order puts the fitted camera under the desk top, which no real camera is; then the
left-right swapped reading is tried, then every other start and direction, and the first one
that gives a camera above the desk is used, with a note saying how the clicks were read. Which
edge is the front cannot be told from geometry (a desk turned half round fits as well): the first
two clicks stay on the front edge in every reading tried first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from inspector.errors import CalibrationError

CORNER_NAMES = ("front-left", "front-right", "back-right", "back-left")
CONVENTION = ("1 front-left, 2 front-right, 3 back-right, 4 back-left, as the customer sees the desk "
              "(the front edge is the customer's side)")

Point = tuple[float, float]
T = TypeVar("T")

# clicked index for each desk corner, tried in this order: as given; left and right swapped (the
# staff chair's view); then the other starts and directions
_READINGS: tuple[tuple[tuple[int, int, int, int], str], ...] = (
    ((0, 1, 2, 3), ""),
    ((1, 0, 3, 2), "left and right were swapped (clicked as seen from the staff chair)"),
    ((0, 3, 2, 1), "clicked the other way round (front-left, back-left, back-right, front-right)"),
    ((3, 2, 1, 0), "clicked back edge first, left and right swapped"),
    ((2, 3, 0, 1), "clicked back edge first"),
    ((1, 2, 3, 0), "started from front-right"),
    ((3, 0, 1, 2), "started from back-left"),
    ((2, 1, 0, 3), "started from back-right, the other way round"),
)


@dataclass(frozen=True)
class CornerReading:
    corners_px: tuple[Point, Point, Point, Point]  # front-left, front-right, back-right, back-left
    note: str  # empty when the clicks were in the convention's order

    def described(self) -> str:
        points = ", ".join(f"{name} ({x:.0f}, {y:.0f})" for name, (x, y) in zip(CORNER_NAMES, self.corners_px))
        return f"corners read as: {points}" + (f" — {self.note}" if self.note else "")


def _lens_oddness(camera) -> float:
    """How far the fitted focal length is from a 60 degree CCTV lens, in log units: a desk read a
    quarter turn wrong (its long edge taken as the short one) also fits 4 points, but only with a
    telephoto lens seen from the side (measured: 7,800 px for a 1,280 px frame, against 1,400)."""
    import math

    pose = camera.spec.fit.pose
    if pose is None:  # no pose (only the homography): nothing to compare
        return 0.0
    width = camera.image_size[0]
    return abs(math.log(pose.K[0][0] / (width / (2 * math.tan(math.radians(30.0))))))


def read_corners(clicked: Sequence[Point], fit: Callable[[tuple[Point, ...]], T]) -> tuple[CornerReading, T]:
    """The reading of the 4 clicked points whose fit (`fit(corners in the convention's order)`,
    raising CalibrationError when the camera would lie under the desk) succeeds with the most
    ordinary lens; ties (a desk read half round fits as well) go to the reading listed first."""
    if len(clicked) != 4:
        raise CalibrationError(f"give exactly 4 desk corners ({CONVENTION}), got {len(clicked)}")
    first_error: CalibrationError | None = None
    fitted: list[tuple[float, int, CornerReading, T]] = []
    for rank, (order, note) in enumerate(_READINGS):
        corners = tuple(tuple(map(float, clicked[i])) for i in order)
        try:
            result = fit(corners)
        except CalibrationError as error:
            if "below the desk" not in error.message:  # any other problem is the same in every order
                raise
            first_error = first_error or error
            continue
        fitted.append((round(_lens_oddness(result), 3), rank, CornerReading(corners, note), result))
    if not fitted:
        raise CalibrationError(f"no order of these 4 points gives a camera above the desk; click the desk's corners "
                               f"{CONVENTION} ({first_error.message if first_error else ''})")
    _, _, reading, result = min(fitted, key=lambda f: (f[0], f[1]))
    return reading, result
