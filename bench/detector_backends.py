"""Detector backends side by side: do PyTorch and ONNX Runtime give the same detections, and how
fast is each on this CPU? Also: how fast is the synthetic training-data generator?

    python bench/detector_backends.py [--model MODEL] [--images 40] [--repeat 3] [--compare-imgsz 640]
                                      [--against OTHER_MODEL_OR_CARD]

Images are rendered synthetic desks at 1280x720 (a fixed seed, not the training seeds). Boxes are
matched per class by IoU; the check is IoU >= 0.99 for every matched pair. Times are per image,
end to end through `detect()` (letterbox, network, decode, NMS), medians over all runs; the
backends alternate image by image, in turned order, so that machine noise hits both alike. `--compare-imgsz N` also
times ONNX Runtime with the same weights exported at long side N (in a temporary copy of the model),
in the same alternation: what the card's own input size costs against N. `--against M` times model
M's ONNX Runtime backend in the same alternation (a new model against the one it replaces, e.g. the
previous bundled model checked out of git into a folder of its own).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.registry import load_detector, resolve_card  # noqa: E402
from models.synth.render import render  # noqa: E402
from models.synth.scene import sample_scene  # noqa: E402
from models.evaluation import box_iou as _iou  # noqa: E402
from models.registry import DEFAULT_MODEL  # noqa: E402
from models.training import export_onnx  # noqa: E402


def rendered_images(count: int, seed: int) -> tuple[list[np.ndarray], float]:
    rng = np.random.default_rng(seed)
    images, started = [], time.perf_counter()
    for _ in range(count):
        scene = sample_scene(rng)
        images.append(render(scene, rng).image)
    return images, count / (time.perf_counter() - started)


def match(a, b) -> tuple[list[float], int]:
    """IoUs of matched same-class pairs (greedy by confidence), and how many stayed unmatched."""
    used, ious = set(), []
    for det in sorted(a, key=lambda d: -d.confidence):
        candidates = [(j, d) for j, d in enumerate(b) if j not in used and d.class_name == det.class_name]
        if not candidates:
            continue
        boxes = np.array([d.bbox_px for _, d in candidates])
        overlaps = _iou(np.array(det.bbox_px), boxes)
        k = int(overlaps.argmax())
        if overlaps[k] > 0.5:
            used.add(candidates[k][0])
            ious.append(float(overlaps[k]))
    return ious, (len(a) - len(ious)) + (len(b) - len(ious))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=424242)
    parser.add_argument("--compare-imgsz", type=int, default=None,
                        help="also time ONNX Runtime with the weights exported at this long side")
    parser.add_argument("--against", default=None, help="also time this model's ONNX Runtime backend")
    args = parser.parse_args()

    images, render_rate = rendered_images(args.images, args.seed)
    torch_detector = load_detector(args.model, backend="torch")
    onnx_detector = load_detector(args.model, backend="onnx")
    print(f"model {torch_detector.ref.name} v{torch_detector.ref.version}, imgsz {torch_detector.imgsz}, "
          f"confidence {torch_detector.confidence}, {len(images)} images 1280x720")
    detectors = {"torch": torch_detector, "onnx": onnx_detector}
    if args.compare_imgsz:
        scratch = tempfile.TemporaryDirectory()  # removed when the run ends: the copy is 18 MB
        copy = Path(scratch.name) / "model"
        shutil.copytree(resolve_card(args.model).parent, copy)
        export_onnx(str(copy / "card.yaml"), imgsz=args.compare_imgsz)
        detectors["onnx_other"] = load_detector(str(copy / "card.yaml"), backend="onnx")
    if args.against:
        detectors["against"] = load_detector(args.against, backend="onnx")
    for detector in detectors.values():  # warm-up: first calls allocate
        detector.detect(images[0])
    times = {name: [] for name in detectors}
    all_ious, unmatched, total = [], 0, 0
    for _ in range(args.repeat):
        for number, image in enumerate(images):
            outputs = {}
            # the order turns every image: a run straight after another ONNX Runtime session's is
            # slower (its threads still hold the cores), so neither size always pays for it
            order = list(detectors) if number % 2 == 0 else list(detectors)[::-1]
            for name in order:
                started = time.perf_counter()
                outputs[name] = detectors[name].detect(image)
                times[name].append(time.perf_counter() - started)
            torch_out, onnx_out = outputs["torch"], outputs["onnx"]
            ious, missing = match(torch_out, onnx_out)
            all_ious += ious
            unmatched += missing
            total += max(len(torch_out), len(onnx_out))
    median = {k: statistics.median(v) for k, v in times.items()}
    for name in ("torch", "onnx"):
        print(f"  {name:5}: median {median[name] * 1000:7.1f} ms/image = {1 / median[name]:6.1f} images/s")
    print(f"  ONNX Runtime / PyTorch speed ratio: {median['torch'] / median['onnx']:.2f}x")
    if "onnx_other" in detectors:
        other = detectors["onnx_other"]
        print(f"  onnx at {other.imgsz}: median {median['onnx_other'] * 1000:7.1f} ms/image; the card's "
              f"{onnx_detector.imgsz} input costs {median['onnx'] / median['onnx_other']:.2f}x that")
    if "against" in detectors:
        other = detectors["against"]
        print(f"  against {other.ref.name} v{other.ref.version} (onnx, input {other.imgsz}): median "
              f"{median['against'] * 1000:7.1f} ms/image; {onnx_detector.ref.name} takes "
              f"{median['onnx'] / median['against']:.2f}x its time")
    worst = min(all_ious) if all_ious else float("nan")
    print(f"  agreement: {len(all_ious)} matched boxes, min IoU {worst:.4f}, "
          f"{unmatched} unmatched of {total} ({'OK' if all_ious and worst >= 0.99 and unmatched == 0 else 'CHECK'})")
    print(f"synthetic generator: {render_rate:.1f} images/s rendered at 1280x720 (one process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
