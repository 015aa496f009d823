"""One typed, immutable record per pipeline stage.

Frame -> Detection (image px) -> DeskItem (desk cm) -> Violation -> Report.
Stages return new records; nothing here is edited in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import Polygon


@dataclass(frozen=True)
class Frame:
    """A decoded image (BGR, uint8) and where it came from."""

    image: np.ndarray = field(repr=False)
    source: str  # file name or upload name, shown in messages and reports
    camera_id: str
    captured_at: datetime | None = None

    @property
    def size_px(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True)
class Detection:
    """One detected item in image space (SPEC detections format)."""

    class_name: str
    confidence: float
    bbox_px: tuple[float, float, float, float]  # x1, y1, x2, y2
    polygon_px: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True)
class DeskItem:
    """A detection placed on the desk plane, in centimetres (desk frame of the SPEC)."""

    id: int
    class_name: str
    confidence: float
    bbox_px: tuple[float, float, float, float]
    footprint_cm: Polygon  # where the item touches the desk, z = 0
    height_cm: float  # height used to place it (class prior, possibly rescaled)
    angle_deg: float  # rotation of the footprint to the desk x axis, in (-45, 45]
    # Standard uncertainty (k = 1) of the footprint's extent: its min x, min y, max x, max y in
    # desk cm (inspector.uncertainty); None where nothing was propagated (hand-made geometry).
    extent_sigma_cm: tuple[float, float, float, float] | None = None
    # Extent sides ("min_x", "min_y", "max_x", "max_y") toward which the item may reach further
    # than the image shows: its detection box is cut by the frame there.
    cut_extent_sides: tuple[str, ...] = ()
    # Whether the turn was seen (an outline gave it). A box alone does not show it: the placement
    # reports such an item's extent at angle 0, which must not pass an alignment rule.
    turn_seen: bool = True
    # Share of the item's image box covered by the boxes of items in front of it (0..1).
    hidden_share: float = 0.0

    @property
    def center_cm(self) -> tuple[float, float]:
        c = self.footprint_cm.centroid
        return float(c.x), float(c.y)


@dataclass(frozen=True)
class Desk:
    """The desk top of one camera: outline, which edge faces the customer, named zones."""

    outline_cm: Polygon  # simple polygon, counter-clockwise, desk cm
    front_edge: int  # index i of the outline edge (vertex i -> vertex i+1) facing the customer
    zones_cm: dict[str, Polygon] = field(default_factory=dict)

    @property
    def edge_names(self) -> dict[str, int]:
        """Name -> edge index. 'front' always; for 4-sided desks also right/back/left going round."""
        n = len(self.outline_cm.exterior.coords) - 1
        names = {"front": self.front_edge}
        if n == 4:
            for offset, name in ((1, "right"), (2, "back"), (3, "left")):
                names[name] = (self.front_edge + offset) % n
        return names

    def edge(self, index: int) -> tuple[tuple[float, float], tuple[float, float]]:
        coords = list(self.outline_cm.exterior.coords)[:-1]
        a = coords[index % len(coords)]
        b = coords[(index + 1) % len(coords)]
        return (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))


# ILAC-G8 decisions with a guard band (rules.decision): a sure fail, or a result that the
# measurement's uncertainty leaves on either side of the limit.
Decision = Literal["fail", "conditional_fail", "conditional_pass"]


class Violation(BaseModel):
    """One broken rule, explained with measured and required values (SPEC report schema).

    The same shape carries a conditional pass (`decision: conditional_pass`): measured on the
    right side of the limit, but by less than its uncertainty."""

    model_config = ConfigDict(frozen=True)

    rule: str
    kind: str
    severity: Literal["minor", "major"]
    item_ids: list[int] = Field(default_factory=list)
    measured: float | None = None
    required: float | None = None
    unit: Literal["cm", "deg", "count"] | None = None
    message_en: str
    message_zh: str
    uncertainty: float | None = None  # expanded (k = 2) uncertainty of `measured`, same unit
    decision: Decision = "fail"


class NotJudged(BaseModel):
    """A rule that could not be judged for some items, and why: never a silent pass."""

    model_config = ConfigDict(frozen=True)

    rule: str
    kind: str
    item_ids: list[int] = Field(default_factory=list)
    reason_en: str
    reason_zh: str


class ReportItem(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: int
    class_: str = Field(alias="class")
    label_zh: str
    confidence: float
    bbox_px: list[float]
    footprint_cm: list[list[float]]
    center_cm: list[float]
    angle_deg: float
    permitted: bool
    # beyond the SPEC's minimum: False for an item the rules did not judge (below the standard's
    # confidence threshold, or lying mostly off the desk top); its warning says which
    judged: bool = True
    # expanded (k = 2) uncertainty of the item's extent toward each desk edge, cm (SPEC
    # "Uncertainty and decisions"); None where it was not propagated
    uncertainty_cm: dict[str, float] | None = None


class StandardRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    version: str


class ModelRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    version: str
    sha256: str


class Report(BaseModel):
    """The per-image report, exactly the SPEC's JSON (serialise with `to_json`)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    image: str
    camera: str
    standard: StandardRef
    model: ModelRef | None
    inspected_at: str  # ISO-8601
    compliant: bool  # true only for verdict "pass" (kept for old clients)
    # "check": nothing surely failed but something is conditional; a person should look
    verdict: Literal["pass", "fail", "check"]
    score: float = Field(ge=0.0, le=1.0)
    items: list[ReportItem]
    violations: list[Violation]  # decision "fail" or "conditional_fail"
    conditional_passes: list[Violation] = Field(default_factory=list)
    not_judged: list[NotJudged] = Field(default_factory=list)
    warnings: list[str]
    timings_ms: dict[str, float]

    def to_dict(self) -> dict:
        return self.model_dump(by_alias=True, mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)
