"""How long `dataset export` takes per 1,000 corrected photos.

    python bench/export_dataset.py [--images 1000] [--work out/bench-export]

Builds a history of N batch inspections of the example photos (each snapshot file a copy with a few
bytes after the JPEG's end, so that every one is its own inspection), each with a supervisor's
correction whose verdict is confirmed, over N / 50 camera-days; then times `export` as the CLI runs
it, and prints the seconds per 1,000 images. The snapshots are on local disk; a network share adds
its own reading time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.history import History, add_correction, inspection_key  # noqa: E402
from models.corrections_dataset import export, seconds_per_thousand  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "front-counter"
PER_DAY = 50  # snapshots of one camera a night


def build_history(work: Path, count: int) -> History:
    """A history of `count` confirmed corrections of batch snapshots under work/snapshots."""
    from calibration.camera import load_camera
    from inspector.detections_io import load_detections
    from inspector.frames import load_frame
    from inspector.pipeline import inspect
    from rules.standard import load_standard

    camera = load_camera(REPO / "calibration" / "cameras" / "window-01.yaml")
    standard = load_standard(REPO / "rules" / "standards" / "front-counter.yaml")
    photos = sorted((EXAMPLE / "photos").glob("*.jpg"))
    reports = {}
    for photo in photos:  # one real report per example photo, reused for its copies
        frame = load_frame(photo, camera.camera_id)
        detections = load_detections(EXAMPLE / "detections" / f"{photo.stem}.json")
        reports[photo] = inspect(frame, camera, standard, detections=detections)
    history = History(f"sqlite:///{work / 'history.db'}")
    snapshots = work / "snapshots"
    snapshots.mkdir(parents=True)
    start = datetime(2026, 11, 1, 20, 0, tzinfo=timezone.utc)
    for n in range(count):
        photo = photos[n % len(photos)]
        data = photo.read_bytes() + n.to_bytes(8, "big")  # after the JPEG's end: the same picture, another file
        path = snapshots / f"window-01_{n:05d}.jpg"
        path.write_bytes(data)
        sha256 = hashlib.sha256(data).hexdigest()
        report = reports[photo]
        row = history.add(key=inspection_key(camera.camera_id, sha256, "batch"), camera_id=camera.camera_id,
                          image_name=str(path.resolve()), image_sha256=sha256,
                          captured_at=start + timedelta(days=n // PER_DAY, minutes=10 * (n % PER_DAY)),
                          status="ok", compliant=report.compliant, score=report.score,
                          violation_count=len(report.violations), report_json=report.to_json(indent=None),
                          origin="batch")
        items = [{"item_id": item.id, "class": item.class_, "bbox_px": list(item.bbox_px),
                  "confidence": item.confidence, "source": "model", "checked": True} for item in report.items]
        add_correction(history, inspection_id=row.id, revision=1, author="bench", model_name=None,
                       model_version=None, actions_json="[]", items_json=json.dumps(items),
                       next_item_id=len(items) + 1, verdict_confirmed=True, original_verdict=report.verdict,
                       corrected_verdict=report.verdict, report_json=report.to_json(indent=None))
    return history


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("out/bench-export"))
    args = parser.parse_args()
    if args.images < 2:
        parser.error("--images must be at least 2")
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    history = build_history(args.work, args.images)
    summary = export(history, args.work / "data", args.work / "dataset", REPO / "calibration" / "cameras",
                     REPO / "rules" / "standards")
    boxes = sum(sum(per_class.values()) for per_class in summary.boxes.values())
    print(f"exported {sum(summary.images.values())} images ({summary.images}), {boxes} boxes in {summary.seconds:.2f} s: "
          f"{seconds_per_thousand(summary):.1f} s per 1,000 images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
