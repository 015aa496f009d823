"""Detector backends side by side: do they give the same detections, and how fast is each on this
CPU? Also: how fast is the synthetic training-data generator?

    python bench/detector_backends.py [--model MODEL] [--images 40] [--repeat 3]
                                      [--backends torch,onnx,onnx-int8,...] [--no-ultralytics]
                                      [--photos FOLDER] [--threads N]
                                      [--compare-imgsz 640] [--against OTHER_MODEL_OR_CARD]

Images are rendered synthetic desks at 1280x720 (a fixed seed, not the training seeds), or with
`--photos FOLDER` the first `--images` photos of that folder (e.g. the real validation split).
Backends: `torch`, `onnx` (the FP32 export, the reference) and every backend the card lists whose
engine is installed (`onnx-int8`: ONNX Runtime INT8; `openvino`...), or those `--backends` names;
plus `ultralytics`, ultralytics' own `YOLO(weights.pt).predict` at the card's input size and NMS
overlap, the anchor a user would otherwise pick (its detections filtered at the card's per-class
thresholds). Times are per image, end to end (`detect()`: letterbox, network, decode, NMS; for
`ultralytics`, its `predict` call), medians over all runs; the backends alternate image by image,
in turned order, so that machine noise hits all alike, each after a short pause (`--pause-ms`):
ONNX Runtime's and PyTorch's threads spin for a while after a call, and would slow whichever engine
runs next. Agreement: each backend's boxes matched to
the FP32 ONNX ones per class by IoU; torch must agree to IoU >= 0.99 with none unmatched, an INT8
backend is judged by its held-out mAP (`desk-inspector evaluate --backend NAME`), so only its
figures are printed. `--compare-imgsz N` also times ONNX Runtime with the same weights exported at
long side N (in a temporary copy of the model); `--against M` times model M's ONNX Runtime
backend (a new model against the one it replaces).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspector.frames import IMAGE_SUFFIXES  # noqa: E402
from inspector.records import Detection  # noqa: E402
from models.evaluation import box_iou as _iou  # noqa: E402
from models.inference import NMS_IOU  # noqa: E402
from models.registry import DEFAULT_MODEL, load_detector, read_card, resolve_card  # noqa: E402
from models.synth.render import render  # noqa: E402
from models.synth.scene import sample_scene  # noqa: E402
from models.training import export_onnx  # noqa: E402

ENGINE_MODULES = {"onnxruntime": "onnxruntime", "openvino": "openvino"}


def rendered_images(count: int, seed: int) -> tuple[list[np.ndarray], float]:
    rng = np.random.default_rng(seed)
    images, started = [], time.perf_counter()
    for _ in range(count):
        scene = sample_scene(rng)
        images.append(render(scene, rng).image)
    return images, count / (time.perf_counter() - started)


def folder_images(folder: Path, count: int) -> list[np.ndarray]:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:count]
    if not paths:
        raise SystemExit(f"no images in {folder}")
    return [cv2.imread(str(p)) for p in paths]


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


class UltralyticsPredict:
    """ultralytics' own `YOLO(weights.pt).predict`, at the card's input size (a frame-aspect card:
    long side imgsz, letterboxed to the frame's aspect, as predict does by itself) and NMS overlap;
    boxes kept at the card's per-class thresholds."""

    def __init__(self, model: str):
        from ultralytics import YOLO

        card_path = resolve_card(model)
        card = read_card(card_path)
        self._yolo = YOLO(str(card_path.parent / card.weights), task="detect")
        self._imgsz = card.imgsz if card.frame_aspect or not card.input_hw else list(card.input_hw)
        names = dict(self._yolo.names)
        self._ids = {i: card.class_map.get(n, n) for i, n in names.items()}
        self._thresholds = {i: card.class_confidence.get(self._ids[i], card.confidence) for i in names}
        self._floor = min(self._thresholds.values())

    def detect(self, image_bgr: np.ndarray) -> tuple[Detection, ...]:
        result = self._yolo.predict(image_bgr, imgsz=self._imgsz, conf=self._floor, iou=NMS_IOU, device="cpu",
                                    verbose=False)[0]
        boxes = result.boxes
        out = []
        for box, score, cls in zip(boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy().astype(int)):
            if score > self._thresholds[int(cls)]:
                out.append(Detection(self._ids[int(cls)], float(score), tuple(float(v) for v in box)))
        return tuple(out)


def card_backends(model: str) -> list[str]:
    """torch, onnx and every card backend whose engine is installed."""
    card = read_card(resolve_card(model))
    names = ["torch", "onnx"] if card.onnx else ["torch"]
    for name, spec in card.backends.items():
        if importlib.util.find_spec(ENGINE_MODULES[spec.engine]) is not None:
            names.append(name)
        else:
            print(f"  (backend {name} skipped: {spec.engine} is not installed)")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=424242)
    parser.add_argument("--photos", type=Path, default=None, help="time on this folder's images instead of renders")
    parser.add_argument("--backends", default=None,
                        help="comma-separated backends to time (default: torch, onnx and every card backend installed)")
    parser.add_argument("--no-ultralytics", action="store_true", help="leave out ultralytics' own predict")
    parser.add_argument("--threads", type=int, default=None, help="engine threads (default: every core)")
    parser.add_argument("--pause-ms", type=float, default=30.0,
                        help="idle time before each timed call, so that the previous engine's threads, still "
                             "spinning for work, do not slow the next one")
    parser.add_argument("--compare-imgsz", type=int, default=None,
                        help="also time ONNX Runtime with the weights exported at this long side")
    parser.add_argument("--against", default=None, help="also time this model's ONNX Runtime backend")
    args = parser.parse_args()

    if args.photos:
        images, render_rate = folder_images(args.photos, args.images), None
    else:
        images, render_rate = rendered_images(args.images, args.seed)
    names = args.backends.split(",") if args.backends else card_backends(args.model)
    if "onnx" not in names:
        names.insert(0, "onnx")  # the reference every other backend is matched against
    detectors = {name: load_detector(args.model, backend=name, threads=args.threads) for name in names}
    if not args.no_ultralytics and importlib.util.find_spec("ultralytics") is not None:
        detectors["ultralytics"] = UltralyticsPredict(args.model)
    reference = detectors["onnx"]
    sizes = sorted({f"{i.shape[1]}x{i.shape[0]}" for i in images})
    print(f"model {reference.ref.name} v{reference.ref.version}, imgsz {reference.imgsz}, confidence "
          f"{reference.confidence}, {len(images)} {'photos' if args.photos else 'renders'} ({', '.join(sizes[:3])}"
          f"{' ...' if len(sizes) > 3 else ''}), {args.threads or 'all'} threads")
    if args.compare_imgsz:
        scratch = tempfile.TemporaryDirectory()  # removed when the run ends: the copy is 18 MB
        copy = Path(scratch.name) / "model"
        shutil.copytree(resolve_card(args.model).parent, copy)
        export_onnx(str(copy / "card.yaml"), imgsz=args.compare_imgsz)
        detectors["onnx_other"] = load_detector(str(copy / "card.yaml"), backend="onnx", threads=args.threads)
    if args.against:
        detectors["against"] = load_detector(args.against, backend="onnx", threads=args.threads)
    for detector in detectors.values():  # warm-up: first calls allocate (and OpenVINO compiles per shape)
        for image in images[:2]:
            detector.detect(image)
    times = {name: [] for name in detectors}
    agreement = {name: ([], 0, 0) for name in detectors if name not in ("onnx", "onnx_other", "against")}
    for _ in range(args.repeat):
        for number, image in enumerate(images):
            outputs = {}
            # the order turns every image: a run straight after another engine's is slower (its
            # threads still hold the cores), so that no backend always pays for it
            order = list(detectors) if number % 2 == 0 else list(detectors)[::-1]
            for name in order:
                time.sleep(args.pause_ms / 1000)
                started = time.perf_counter()
                outputs[name] = detectors[name].detect(image)
                times[name].append(time.perf_counter() - started)
            for name, (ious, unmatched, total) in agreement.items():
                new_ious, missing = match(outputs["onnx"], outputs[name])
                agreement[name] = (ious + new_ious, unmatched + missing,
                                   total + max(len(outputs["onnx"]), len(outputs[name])))
    median = {k: statistics.median(v) for k, v in times.items()}
    base = median["onnx"]
    for name in [n for n in detectors if n not in ("onnx_other", "against")]:
        print(f"  {name:12}: median {median[name] * 1000:7.1f} ms/image = {1 / median[name]:6.1f} images/s, "
              f"{base / median[name]:5.2f}x the speed of onnx (FP32)")
    for name, (ious, unmatched, total) in agreement.items():
        if not ious:
            print(f"  agreement {name} vs onnx: no matched boxes, {unmatched} unmatched of {total}")
            continue
        worst, low = min(ious), float(np.percentile(ious, 5))
        verdict = ""
        if name == "torch":
            verdict = f" ({'OK' if worst >= 0.99 and unmatched == 0 else 'CHECK'})"
        print(f"  agreement {name} vs onnx: {len(ious)} matched boxes, IoU median {statistics.median(ious):.4f}, "
              f"5th percentile {low:.4f}, min {worst:.4f}; {unmatched} unmatched of {total}{verdict}")
    if "onnx_other" in detectors:
        other = detectors["onnx_other"]
        print(f"  onnx at {other.imgsz}: median {median['onnx_other'] * 1000:7.1f} ms/image; the card's "
              f"{reference.imgsz} input costs {median['onnx'] / median['onnx_other']:.2f}x that")
    if "against" in detectors:
        other = detectors["against"]
        print(f"  against {other.ref.name} v{other.ref.version} (onnx, input {other.imgsz}): median "
              f"{median['against'] * 1000:7.1f} ms/image; {reference.ref.name} takes "
              f"{median['onnx'] / median['against']:.2f}x its time")
    if render_rate:
        print(f"synthetic generator: {render_rate:.1f} images/s rendered at 1280x720 (one process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
