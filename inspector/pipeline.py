"""The one `inspect` function: frame -> detections -> desk items -> rule results -> report.

The CLI, the batch runner and the service all call this; none re-implements a step.
"""

from __future__ import annotations

import time
from dataclasses import replace
from collections.abc import Sequence
from datetime import datetime, timezone

from calibration.camera import Camera
from inspector.errors import ImageError
from inspector.footprint import check_detection, outline_helps, place_detections
from inspector.outlines import OutlineFinder, find_outlines
from inspector.records import DeskItem, Detection, Frame, ModelRef, Report, ReportItem, StandardRef, Violation
from inspector.uncertainty import DEFAULT_BOX_ERROR, expanded_toward_edges
from rules.engine import evaluate, score
from rules.standard import Standard

# An item whose footprint is mostly off the desk top (floor, a chair, a passer-by's bag) is not on
# the counter: it is listed and warned about, not judged.
_ON_DESK_MIN_SHARE = 0.5


def _round_points(points, digits: int = 2) -> list[list[float]]:
    return [[round(float(x), digits), round(float(y), digits)] for x, y in points]


def check_frame_size(frame: Frame, camera: Camera) -> None:
    """ImageError unless the frame has the size the camera was calibrated at."""
    if frame.size_px != camera.image_size:
        w, h = frame.size_px
        cw, ch = camera.image_size
        raise ImageError(
            f"image is {w}x{h} px but camera '{camera.camera_id}' was calibrated at {cw}x{ch} px", frame.source
        )


def _rounded(violation: Violation) -> Violation:
    """The uncertainty at 0.01 of its unit: the rules decide on full precision."""
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 2)
    return violation.model_copy(update={"uncertainty": r(violation.uncertainty)})


def _split_on_desk(items: Sequence[DeskItem], camera: Camera) -> tuple[list[DeskItem], list[DeskItem]]:
    outline = camera.desk.outline_cm
    on, off = [], []
    for item in items:
        area = item.footprint_cm.area
        share = item.footprint_cm.intersection(outline).area / area if area > 0 else 0.0
        (on if share >= _ON_DESK_MIN_SHARE else off).append(item)
    return on, off


def inspect(
    frame: Frame,
    camera: Camera,
    standard: Standard,
    *,
    detector=None,
    detections: Sequence[Detection] | None = None,
    detections_source: str = "<detections>",
    outline_finder: OutlineFinder | None = find_outlines,
    item_ids: Sequence[int] | None = None,
) -> Report:
    """Inspect one frame. Give either a detector or ready-made detections (SPEC --detections).

    `outline_finder` finds box-only items' outlines in the photo, which tell the placement which
    way a flat item is turned (inspector.outlines); None places them from their boxes alone.
    `item_ids` (one per detection) replace the 1-based ids: a corrected inspection keeps its items'
    ids (inspector.corrections)."""
    if (detector is None) == (detections is None):
        raise ValueError("give exactly one of detector= or detections=")
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round((now - clock) * 1000, 2)
        clock = now

    check_frame_size(frame, camera)
    model_ref: ModelRef | None = None
    if detections is None:
        detections = detector.detect(frame.image)
        model_ref = detector.ref
        detections_source = frame.source
    lap("detect")

    for detection in detections:  # before any work on them: a bad box is the input's fault
        check_detection(detection, camera.image_size, detections_source)
    outlines = None
    wanted = [i for i, d in enumerate(detections)
              if d.polygon_px is None and outline_helps(d.class_name, standard.prior_cm(d.class_name))]
    if outline_finder and wanted:
        found = dict(zip(wanted, outline_finder(frame.image, [detections[i] for i in wanted])))
        outlines = tuple(found.get(i) for i in range(len(detections)))
    lap("outline")

    box_error = getattr(detector, "box_error", None) or DEFAULT_BOX_ERROR
    items = place_detections(detections, camera, standard.prior_cm, detections_source, photo_outlines=outlines,
                             box_error=box_error)
    if item_ids is not None:
        if len(item_ids) != len(items):
            raise ValueError("give one item id per detection")
        items = tuple(replace(item, id=int(item_id)) for item, item_id in zip(items, item_ids))
    lap("place")

    on_desk, off_desk = _split_on_desk(items, camera)
    evaluation = evaluate(standard, on_desk, camera.desk)
    lap("rules")

    warnings = [
        f"item {item.id} ({item.class_name}) lies mostly off the desk top: not judged / 物品大部分不在桌面上，未判定"
        for item in off_desk
    ] + list(evaluation.warnings) + list(camera.warnings)
    permitted_classes = set(standard.permitted_classes)
    judged_ids = set(evaluation.judged_item_ids)
    report_items = [
        ReportItem(
            id=item.id,
            class_=item.class_name,
            label_zh=standard.labels(item.class_name)[0],
            confidence=round(item.confidence, 4),
            bbox_px=[round(v, 1) for v in item.bbox_px],
            footprint_cm=_round_points(item.footprint_cm.exterior.coords[:-1]),
            center_cm=[round(v, 2) for v in item.center_cm],
            angle_deg=round(item.angle_deg, 2),
            permitted=evaluation.permitted.get(item.id, item.class_name in permitted_classes),
            judged=item.id in judged_ids,
            uncertainty_cm=expanded_toward_edges(item, camera.desk, standard.uncertainty.coverage_factor,
                                                 standard.uncertainty.extra_cm),
        )
        for item in items
    ]
    report = Report(
        image=frame.source,
        camera=camera.camera_id,
        standard=StandardRef(id=standard.id, version=standard.version),
        model=model_ref,
        inspected_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        compliant=evaluation.compliant,
        verdict=evaluation.verdict,
        score=round(score(standard, evaluation), 4),
        items=report_items,
        violations=[_rounded(v) for v in evaluation.violations],
        conditional_passes=[_rounded(v) for v in evaluation.conditional_passes],
        not_judged=list(evaluation.not_judged),
        warnings=warnings,
        timings_ms={},
    )
    lap("report")
    return report.model_copy(update={"timings_ms": {**timings, "total": round(sum(timings.values()), 2)}})
