"""Where an overnight snapshot's time goes: `inspect` on one camera's snapshots in capture order, as
one batch worker runs them (its OutlineMemory included), median milliseconds per stage, the
pictures (annotated photo and desk map) timed apart, and the stages around the detector (outlines,
placement, rules, report) as a share of the detector's time per image.

    python bench/inspect_stages.py [--night out/bench-night/night] [--camera window-01] [--snapshots 50]

Uses the night `bench/batch_night.py` generates (run that first) and the bundled model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.camera import load_camera  # noqa: E402
from inspector.frames import read_image_file  # noqa: E402
from inspector.outputs import render_pictures  # noqa: E402
from inspector.outlines import OutlineMemory  # noqa: E402
from inspector.pipeline import inspect  # noqa: E402
from inspector.records import Frame  # noqa: E402
from models.registry import DEFAULT_MODEL, load_detector  # noqa: E402
from rules.standard import load_standard  # noqa: E402


AROUND = ("outline", "place", "rules", "report")  # the stages around the detector (pictures apart)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--night", type=Path, default=Path("out/bench-night/night"))
    parser.add_argument("--camera", default="window-01")
    parser.add_argument("--snapshots", type=int, default=50)
    parser.add_argument("--standard", default="rules/standards/front-counter.yaml")
    args = parser.parse_args()
    files = sorted((args.night / "photos" / args.camera).glob("*.jpg"))[:args.snapshots]
    if not files:
        parser.error(f"no snapshots in {args.night / 'photos' / args.camera}: run bench/batch_night.py first")
    camera = load_camera(args.night / "cameras" / f"{args.camera}.yaml")
    standard = load_standard(args.standard)
    detector = load_detector(DEFAULT_MODEL, extra_ids=set(standard.permitted_classes))
    memory = OutlineMemory()
    timings = []
    for path in files:
        frame = Frame(image=read_image_file(path), source=str(path), camera_id=camera.camera_id)
        report = inspect(frame, camera, standard, detector=detector, outline_finder=memory)
        started = time.perf_counter()  # the pictures apart: the batch draws few, the service when asked
        render_pictures(frame, report, camera, standard)
        timings.append({**report.timings_ms, "pictures": round((time.perf_counter() - started) * 1000, 2)})
    print(f"{len(files)} snapshots of {args.camera}, model {detector.ref.name} v{detector.ref.version}")
    for stage in timings[0]:
        print(f"  {stage:<8} median {np.median([t[stage] for t in timings]):7.1f} ms")
    print(f"  outlines: {memory.reused} reused, {memory.found} found with GrabCut")
    around = [sum(t[s] for s in AROUND) for t in timings]
    share = [a / t["detect"] for a, t in zip(around, timings)]
    print(f"  {' + '.join(AROUND)}: median {np.median(around):.1f} ms per image = {np.median(share):.0%} of the "
          f"detector's time (median of the per-image shares; goal <= 25%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
