"""A supervisor's correction of a stored inspection, through inspector.corrections into the history.

Everything that can refuse the correction runs before anything is written (the inspection exists
and was judged, its photo is still here, every action applies); the corrected report then comes
from the same `inspect` with the camera and standard loaded on this server, and one correction row
is committed. Two people correcting one revision at once: the second gets a conflict with the first
one's correction (the revision is unique per inspection), never a silent overwrite.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from inspector.corrections import CorrectedItem, CorrectionAction, CorrectionConflict, CorrectionError, apply_actions, \
    corrected_report, items_of_report
from inspector.classes import CANONICAL_CLASSES
from inspector.errors import InspectorError
from inspector.frames import read_image_file
from inspector.history import CorrectionRow, History, InspectionRow, RevisionTaken, add_correction, corrections, \
    original_photo
from inspector.records import Frame, ModelRef
from service.state import ServiceState


class PhotoGoneError(InspectorError):
    """The inspection's photo is no longer on this server: it cannot be re-inspected."""


class NotCorrectableError(InspectorError):
    """The inspection has no report to correct (the photo was not judged), or its camera is not loaded."""


class Conflict(CorrectionConflict):
    def __init__(self, message: str, latest: CorrectionRow):
        self.latest = latest
        super().__init__(message, "base_revision")


def _items_from_json(rows: list[dict]) -> tuple[CorrectedItem, ...]:
    return tuple(CorrectedItem(item_id=int(r["item_id"]), class_name=str(r["class"]), bbox_px=tuple(r["bbox_px"]),
                               confidence=float(r["confidence"]), source=r["source"], checked=bool(r["checked"]))
                 for r in rows)


def items_to_json(items) -> list[dict]:
    out = []
    for item in items:
        data = asdict(item)
        data["class"] = data.pop("class_name")
        data["bbox_px"] = [round(float(v), 1) for v in data["bbox_px"]]
        out.append(data)
    return out


def correct(state: ServiceState, history: History, row: InspectionRow, actions: list[dict],
            verdict_confirmed: bool | None, base_revision: int | None, author: str) -> CorrectionRow:
    """Runs in a worker thread. Raises InspectorError subclasses on anything that cannot apply."""
    original = row.report()
    if original is None:
        raise NotCorrectableError(f"inspection {row.id} was not judged (status {row.status}: {row.message}); "
                                  "there is no result to correct", "inspection")
    entry = state.camera(row.camera_id)
    if entry is None:
        raise NotCorrectableError(f"camera {row.camera_id!r} is not loaded on this server: inspection {row.id} cannot "
                                  "be re-inspected here", "camera_id")
    earlier = corrections(history, row.id)
    latest = earlier[-1] if earlier else None
    revision = latest.revision if latest else 0
    if base_revision is not None and base_revision != revision:
        if latest is None or base_revision > revision:
            raise CorrectionError(f"base_revision {base_revision} does not exist (latest: {revision})", "base_revision")
        raise Conflict(f"inspection {row.id} was corrected by {latest.author} at "
                       f"{latest.created_at:%Y-%m-%d %H:%M:%S} (revision {latest.revision}) after revision "
                       f"{base_revision}, which this correction was made on: look at it and correct again", latest)
    photo = original_photo(state.settings.data_dir, row)
    if photo is None:
        raise PhotoGoneError(f"the photo of inspection {row.id} is no longer on this server; it cannot be corrected",
                             "inspection")
    if latest is not None:
        items, next_id = _items_from_json(latest.items()), latest.next_item_id
    else:
        items = items_of_report(original)
        next_id = max((item.item_id for item in items), default=0) + 1
    parsed = [CorrectionAction(action=a["action"], item_id=a.get("item_id"), class_name=a.get("class"),
                               bbox_px=tuple(a["bbox_px"]) if a.get("bbox_px") is not None else None) for a in actions]
    # any canonical class may be drawn (a bag is not permitted, and that is what the rules then say)
    known = set(CANONICAL_CLASSES) | set(entry.standard.permitted_classes) | {item.class_name for item in items}
    corrected, next_id = apply_actions(items, parsed, entry.camera.image_size, known, next_id)
    frame = Frame(image=read_image_file(Path(photo)), source=row.image_name, camera_id=row.camera_id,
                  captured_at=row.captured_at)
    model = ModelRef.model_validate(original["model"]) if original.get("model") else None
    report = corrected_report(frame, entry.camera, entry.standard, corrected, model)
    try:
        return add_correction(
            history, inspection_id=row.id, revision=revision + 1, author=author,
            model_name=model.name if model else None, model_version=model.version if model else None,
            actions_json=json.dumps(actions, ensure_ascii=False), items_json=json.dumps(items_to_json(corrected)),
            next_item_id=next_id, verdict_confirmed=verdict_confirmed, original_verdict=original.get("verdict"),
            corrected_verdict=report.verdict, report_json=report.to_json(indent=None),
        )
    except RevisionTaken as taken:  # stored by someone else between our read and our write
        raise Conflict(f"inspection {row.id} was corrected by {taken.latest.author} at the same time "
                       f"(revision {taken.latest.revision}): look at it and correct again", taken.latest) from None
