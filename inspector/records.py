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


class Violation(BaseModel):
    """One broken rule, explained with measured and required values (SPEC report schema)."""

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
    compliant: bool
    score: float = Field(ge=0.0, le=1.0)
    items: list[ReportItem]
    violations: list[Violation]
    warnings: list[str]
    timings_ms: dict[str, float]

    def to_dict(self) -> dict:
        return self.model_dump(by_alias=True, mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)
