"""The SPEC detections file: a JSON list of {class, confidence, bbox_px[, polygon_px]}."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from inspector.errors import DetectionsError
from inspector.records import Detection


# More boxes than any desk photo holds: a file with thousands would tie up an inspection slot
MAX_DETECTIONS = 300


class DetectionIn(BaseModel):
    # NaN or infinite coordinates are errors, never dropped: a polygon with a NaN vertex would
    # silently place its item from the box alone
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    class_: str = Field(alias="class", min_length=1)
    confidence: float = Field(ge=0.0, le=1.0)
    bbox_px: tuple[float, float, float, float]
    polygon_px: list[tuple[float, float]] | None = Field(default=None, min_length=3)

    def to_record(self) -> Detection:
        polygon = tuple(tuple(p) for p in self.polygon_px) if self.polygon_px else None
        return Detection(self.class_, self.confidence, tuple(self.bbox_px), polygon)


_LIST = TypeAdapter(list[DetectionIn])


def parse_detections(data: object, source: str) -> tuple[Detection, ...]:
    if isinstance(data, list) and len(data) > MAX_DETECTIONS:
        raise DetectionsError(f"{len(data):,} detections, over the limit of {MAX_DETECTIONS} per image", source)
    try:
        parsed = _LIST.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DetectionsError(f"[{where}]: {first['msg']} ({error.error_count()} problem(s))", source) from None
    return tuple(d.to_record() for d in parsed)


def load_detections(path: str | Path) -> tuple[Detection, ...]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DetectionsError("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DetectionsError(f"cannot read file ({error})", str(path)) from None
    except json.JSONDecodeError as error:
        raise DetectionsError(f"not valid JSON: {error}", str(path)) from None
    except RecursionError:
        raise DetectionsError("not a detections list: nested too deeply", str(path)) from None
    return parse_detections(data, str(path))


def dump_detections(detections: tuple[Detection, ...]) -> list[dict]:
    rows = []
    for d in detections:
        row = {"class": d.class_name, "confidence": round(d.confidence, 4), "bbox_px": [round(v, 1) for v in d.bbox_px]}
        if d.polygon_px:
            row["polygon_px"] = [[round(x, 1), round(y, 1)] for x, y in d.polygon_px]
        rows.append(row)
    return rows
