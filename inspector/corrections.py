"""A person's corrections of one inspection, and the report they give.

A supervisor deletes a wrong box, changes an item's class, draws a box the detector missed, and
confirms or rejects the verdict. The corrected items are detections like any other (a person's
box has confidence 1: a person saw it), so the corrected report comes from the same `inspect`
as the original, with the same camera and standard; the original report is kept beside it.

Item ids are stable across corrections: an item keeps the id it had in the original report, a
drawn box gets the next id never used on this inspection, and a deleted id is never reused. So
"item 3" means the same object to two supervisors correcting one photo at the same time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from calibration.camera import Camera
from inspector.errors import InspectorError
from inspector.pipeline import inspect
from inspector.records import Detection, Frame, ModelRef, Report
from rules.standard import Standard

Action = Literal["delete", "relabel", "add", "confirm"]
Source = Literal["model", "person"]
PERSON_CONFIDENCE = 1.0
MAX_ACTIONS = 300  # as many as an image may have detections (the pipeline's cap)


class CorrectionError(InspectorError):
    """A correction that cannot apply: a box outside the image, an unknown class or item, ..."""


class CorrectionConflict(InspectorError):
    """Someone else corrected the same inspection since the version this correction was made on."""


@dataclass(frozen=True)
class CorrectedItem:
    """One item of an inspection as it stands after the corrections so far."""

    item_id: int
    class_name: str
    bbox_px: tuple[float, float, float, float]
    confidence: float
    source: Source  # who put it there: the detector, or a person who drew it
    checked: bool = False  # a person confirmed or relabelled it


@dataclass(frozen=True)
class CorrectionAction:
    action: Action
    item_id: int | None = None
    class_name: str | None = None
    bbox_px: tuple[float, float, float, float] | None = None


def items_of_report(report: dict) -> tuple[CorrectedItem, ...]:
    """The items of a stored report (SPEC JSON) as the starting point of corrections."""
    return tuple(
        CorrectedItem(item_id=int(item["id"]), class_name=str(item["class"]),
                      bbox_px=tuple(float(v) for v in item["bbox_px"]), confidence=float(item["confidence"]),
                      source="model")
        for item in report.get("items", [])
    )


def _check_box(box, image_size: tuple[int, int], where: str) -> tuple[float, float, float, float]:
    if box is None:
        raise CorrectionError("an 'add' needs bbox_px [x1, y1, x2, y2]", where)
    values = tuple(float(v) for v in box)
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise CorrectionError(f"bbox_px must be 4 finite numbers, got {list(box)}", where)
    x1, y1, x2, y2 = values
    width, height = image_size
    if not (x2 > x1 and y2 > y1):
        raise CorrectionError(f"bbox_px {list(values)} is empty: x2 must exceed x1 and y2 exceed y1", where)
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise CorrectionError(f"bbox_px {list(values)} lies outside the {width}x{height} px image", where)
    return values


def _check_class(class_name: str | None, known: set[str], where: str) -> str:
    if not class_name:
        raise CorrectionError("needs a class", where)
    if class_name not in known:
        raise CorrectionError(f"unknown class {class_name!r} (known: {', '.join(sorted(known))})", where)
    return class_name


def apply_actions(
    items: Sequence[CorrectedItem], actions: Sequence[CorrectionAction], image_size: tuple[int, int],
    known_classes: Iterable[str], next_id: int,
) -> tuple[tuple[CorrectedItem, ...], int]:
    """The items after the actions, in order, and the next unused id. Raises CorrectionError on the
    first action that cannot apply; nothing is applied then (the input is never changed)."""
    if len(actions) > MAX_ACTIONS:
        raise CorrectionError(f"{len(actions)} actions in one correction; at most {MAX_ACTIONS}", "items")
    known = set(known_classes)
    current = {item.item_id: item for item in items}
    order = [item.item_id for item in items]
    for index, action in enumerate(actions):
        where = f"items[{index}] ({action.action})"
        if action.action == "add":
            box = _check_box(action.bbox_px, image_size, where)
            name = _check_class(action.class_name, known, where)
            current[next_id] = CorrectedItem(next_id, name, box, PERSON_CONFIDENCE, "person", checked=True)
            order.append(next_id)
            next_id += 1
            continue
        if action.item_id is None:
            raise CorrectionError("needs item_id", where)
        if action.item_id not in current:
            raise CorrectionError(f"no item {action.item_id} in this inspection (items: "
                                  f"{', '.join(map(str, order)) or 'none'})", where)
        item = current[action.item_id]
        if action.action == "delete":
            del current[action.item_id]
            order.remove(action.item_id)
        elif action.action == "relabel":
            name = _check_class(action.class_name, known, where)
            box = _check_box(action.bbox_px, image_size, where) if action.bbox_px is not None else item.bbox_px
            current[action.item_id] = replace(item, class_name=name, bbox_px=box, confidence=PERSON_CONFIDENCE,
                                              checked=True)
        elif action.action == "confirm":
            current[action.item_id] = replace(item, checked=True)
        else:
            raise CorrectionError(f"unknown action {action.action!r} (delete, relabel, add, confirm)", where)
    return tuple(current[i] for i in order), next_id


def corrected_report(frame: Frame, camera: Camera, standard: Standard, items: Sequence[CorrectedItem],
                     model: ModelRef | None) -> Report:
    """The report the corrected items give: the same inspect, the items' stable ids, and the model
    that produced the original boxes."""
    detections = [Detection(item.class_name, item.confidence, item.bbox_px) for item in items]
    report = inspect(frame, camera, standard, detections=detections, detections_source=f"corrections of {frame.source}",
                     item_ids=[item.item_id for item in items])
    return report.model_copy(update={"model": model})
