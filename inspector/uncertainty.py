"""Uncertainty of placed items: how far each item's extent on the desk may be off, per side.

The standard uncertainty (k = 1) of an item's footprint extent (min x, min y, max x, max y, desk
cm) combines, as independent terms added in quadrature (GUM):

- the calibration: the homography fit's covariance from its point pairs and their click noise,
  first order (Criminisi et al.), at the item's base (calibration.camera.Camera.desk_sigma_cm);
- the detection box: how far a detector's box sides fall from the true ones (`BoxError`, measured
  per class on held-out renders and real photos, models/box_error.py), carried through the
  placement by refitting the item with each box side moved by its sigma;
- the footprint model: the spread of the placement over the class's typical shapes, its other
  turn readings and the size prior (inspector.footprint's fits are samples of it).

Reported values are expanded, U = k * u with k = 2 (about 95 %).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

COVERAGE_FACTOR = 2.0  # k: about 95 % for a normal distribution


@dataclass(frozen=True)
class BoxError:
    """How far a detector's box sides fall from the true ones, as a standard uncertainty per side:
    sigma = hypot(floor_px, rel * size), size the box's width for the left/right sides and its
    height for the top/bottom ones. `rel` per class: (left/right, top/bottom); classes not listed
    take `default_rel`."""

    floor_px: float
    default_rel: tuple[float, float]
    rel: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    source: str = ""  # where the figures come from, shown in the model card and the README

    def __post_init__(self):
        values = [self.floor_px, *self.default_rel, *(v for pair in self.rel.values() for v in pair)]
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise ValueError(f"box error figures must be finite and >= 0: {values}")
        object.__setattr__(self, "rel", MappingProxyType(dict(self.rel)))

    def sigma_px(self, class_name: str, bbox_px) -> np.ndarray:
        """(4,) standard uncertainty of the x1, y1, x2, y2 sides of this box, px."""
        x1, y1, x2, y2 = (float(v) for v in bbox_px)
        rel_x, rel_y = self.rel.get(class_name, self.default_rel)
        sx = math.hypot(self.floor_px, rel_x * (x2 - x1))
        sy = math.hypot(self.floor_px, rel_y * (y2 - y1))
        return np.array([sx, sy, sx, sy])


# For detections that come from no model card (SPEC --detections files, a model measured before
# box errors were recorded): a middle-of-the-road detector, about 4 % of the box per side.
DEFAULT_BOX_ERROR = BoxError(floor_px=1.5, default_rel=(0.04, 0.04),
                             source="default (no measured box errors): 1.5 px + 4 % of the box per side")


_SIDE_SHARE = 0.38  # sin 22.5 deg: a direction this much along a desk axis reaches that extent side


def _sides_toward(direction) -> list[tuple[int, float]]:
    """(extent index, weight) of the extent sides [min x, min y, max x, max y] that bound an item
    in desk direction `direction` (unit vector), weights the direction's components."""
    dx, dy = (float(v) for v in direction)
    return [(2 if dx > 0 else 0, abs(dx)), (3 if dy > 0 else 1, abs(dy))]


def sigma_toward(item, direction) -> float | None:
    """Standard uncertainty of how far the item reaches in desk direction `direction` (unit
    vector), cm; None when it was not propagated."""
    if item.extent_sigma_cm is None:
        return None
    return math.sqrt(sum((weight * item.extent_sigma_cm[index]) ** 2 for index, weight in _sides_toward(direction)))


_SIDE_NAMES = ("min_x", "min_y", "max_x", "max_y")


def cut_toward(item, direction) -> bool:
    """Whether the item may reach further in `direction` than its image shows (box cut by the frame)."""
    return any(weight > _SIDE_SHARE and _SIDE_NAMES[index] in item.cut_extent_sides
               for index, weight in _sides_toward(direction))


def desk_directions(desk) -> dict[str, np.ndarray]:
    """Outward unit directions named after the desk's edges: front (across the front edge, toward
    the customer), back, and right / left as Desk.edge_names names them (right follows front
    going counter-clockwise round the outline)."""
    (ax, ay), (bx, by) = desk.edge(desk.front_edge)
    length = math.hypot(bx - ax, by - ay) or 1.0
    along = np.array([(bx - ax) / length, (by - ay) / length])
    # the outline is counter-clockwise: the inside is left of the edge, outward is right of it
    front = np.array([along[1], -along[0]])
    return {"front": front, "back": -front, "right": along, "left": -along}


def expanded_toward_edges(item, desk, coverage_factor: float = COVERAGE_FACTOR,
                          extra_cm: float = 0.0) -> dict[str, float] | None:
    """U (k = coverage_factor) of the item's extent toward each named desk edge, cm, for reports."""
    if item.extent_sigma_cm is None:
        return None
    return {name: round(coverage_factor * math.hypot(sigma_toward(item, direction), extra_cm), 2)
            for name, direction in desk_directions(desk).items()}
