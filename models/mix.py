"""One training set from everything we have: real labelled photos, rendered desks, and composites
(real item crops pasted onto rendered and real desk backgrounds), with honest partial labels.

    python -m models.mix --real ../shared/data/real-desk --synth data/synth-mix --out data/mix

Layout written (ultralytics format; every file name is `<source>__<name>`):
    OUT/images/{train,val}/, OUT/labels/{train,val}/   train: real train split + renders + composites;
                                                        val: the real validation split, untouched
    OUT/data.yaml      names, and `labelled_classes`: per source, the classes its labels are complete
                       for. Training ignores a missing box of any other class (models/training.py);
                       a pseudo-label or a pasted item still teaches its class where it is.
    OUT/mix.json       what went in: counts per source and class, pseudo-labels added, settings.

- Real photos: each public set labels only its own classes (SOURCES.md); their file names already
  start with their source. The COCO bridge may add pseudo-labels (confident detections of a class
  the photo's source does not label, not overlapping a labelled item): positives only.
- Renders (`python -m models.synth.dataset`) label every item: complete for all classes. A share of
  them gets CCTV finishing (burned-in timestamp and camera name, down- and up-scaling, sensor noise,
  hard JPEG), so that overlay text and compression are seen as background.
- Composites: an item cut from a real training photo (GrabCut inside its box, feathered; the
  rectangle when GrabCut finds no object) is scaled to a size the counter camera sees and pasted,
  its box exact, onto a render or onto a real photo from another source; boxes it hides are dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from inspector.classes import CANONICAL_CLASSES
from models.evaluation import (SOURCE_SEPARATOR, box_iou, find_images, labelled_classes_by_source,
                               read_labels, source_of)

SYNTH_SOURCE = "synth"
GRABCUT_PX = 96

# Long side (px, in a 640-wide frame) a pasted item gets: what the counter camera sees of it.
PASTE_SIZE_PX = {"pen": (18, 70), "bottle": (20, 90), "mobile_phone": (16, 70), "keyboard": (60, 220),
                 "monitor": (60, 260), "cup": (18, 70), "mouse": (14, 45)}


@dataclass(frozen=True)
class MixSettings:
    seed: int = 0
    renders: int | None = None  # the first N renders (sorted by name); None: all of them
    composites_on_renders: int = 800
    composites_on_photos: int = 300
    items_per_composite: tuple[int, int] = (1, 4)
    cctv_share: float = 0.35  # of renders and composites given CCTV finishing
    pseudo_label_confidence: float | None = 0.5  # None: no pseudo-labels
    bridge_model: str = "coco-yolov8n"


# -- image finishing ----------------------------------------------------------------------------
def cctv_finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a counter CCTV camera adds: a burned-in date/time and camera name, lost resolution,
    sensor noise and hard compression. The text never carries a label: it is background."""
    out = image.copy()
    h, w = out.shape[:2]
    if rng.random() < 0.8:
        stamp = (f"{rng.integers(2019, 2027)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d} "
                 f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:{rng.integers(0, 60):02d}")
        scale = float(rng.uniform(0.35, 0.7)) * w / 640
        colour = (255, 255, 255) if rng.random() < 0.8 else (0, 255, 255)
        x, y = int(rng.uniform(0.01, 0.4) * w), int(rng.choice([rng.uniform(0.04, 0.1), rng.uniform(0.92, 0.98)]) * h)
        cv2.putText(out, stamp, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, stamp, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
        if rng.random() < 0.6:
            name = f"CAM {rng.integers(1, 40):02d}" if rng.random() < 0.5 else f"WINDOW-{rng.integers(1, 30)}"
            cv2.putText(out, name, (int(rng.uniform(0.6, 0.8) * w), int(0.95 * h)), cv2.FONT_HERSHEY_SIMPLEX,
                        scale, colour, 1, cv2.LINE_AA)
    factor = float(rng.uniform(0.45, 0.85))  # a lower-resolution sensor or stream, scaled back up
    small = cv2.resize(out, (max(8, int(w * factor)), max(8, int(h * factor))), interpolation=cv2.INTER_AREA)
    out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    noise = rng.normal(0, rng.uniform(2, 7), out.shape)
    out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    ok, buffer = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 60))])
    return cv2.imdecode(buffer, cv2.IMREAD_COLOR)


# -- item cut-outs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cutout:
    class_id: int
    pixels: np.ndarray  # BGR, the item's box with a margin
    alpha: np.ndarray  # float32 0..1, same size
    box: tuple[float, float, float, float]  # the item's labelled box inside `pixels`
    source: str


def cut_out(image: np.ndarray, box: np.ndarray, class_id: int, source: str, margin: float = 0.08) -> Cutout | None:
    """The labelled item with a small margin; alpha from GrabCut seeded with the box (the box's
    inside probably the item, the margin background), feathered. None for boxes too small to use."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    if max(bw, bh) < 16 or bw * bh > 0.8 * w * h:
        return None
    mx, my = margin * bw + 2, margin * bh + 2
    cx1, cy1 = int(max(0, x1 - mx)), int(max(0, y1 - my))
    cx2, cy2 = int(min(w, x2 + mx)), int(min(h, y2 + my))
    pixels = image[cy1:cy2, cx1:cx2].copy()
    inner = (int(x1 - cx1), int(y1 - cy1), max(1, int(bw)), max(1, int(bh)))
    alpha = np.zeros(pixels.shape[:2], np.float32)
    alpha[inner[1]:inner[1] + inner[3], inner[0]:inner[0] + inner[2]] = 1.0
    try:  # GrabCut on a copy at most GRABCUT_PX long: its cost grows with the pixels, the mask need not
        shrink = min(1.0, GRABCUT_PX / max(pixels.shape[:2]))
        small = cv2.resize(pixels, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) if shrink < 1 else pixels
        rect = tuple(max(1, int(v * shrink)) for v in inner)
        mask = np.zeros(small.shape[:2], np.uint8)
        background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.grabCut(small, mask, rect, background, foreground, 3, cv2.GC_INIT_WITH_RECT)
        found = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
        share = found.sum() / max(1.0, float(rect[2] * rect[3]))
        if 0.15 < share < 0.98:  # an object, not nothing and not the whole rectangle
            alpha = cv2.resize(found, (pixels.shape[1], pixels.shape[0]), interpolation=cv2.INTER_LINEAR)
    except cv2.error:
        pass  # degenerate crop: keep the rectangle
    feather = max(1, int(round(min(pixels.shape[:2]) * 0.04))) * 2 + 1
    alpha = cv2.GaussianBlur(alpha, (feather, feather), 0)
    return Cutout(class_id, pixels, alpha, (x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1), source)


def paste(background: np.ndarray, boxes: np.ndarray, classes: np.ndarray, cutout: Cutout, long_side_px: float,
          rng: np.random.Generator, tries: int = 20):
    """Paste `cutout` scaled so that its item's box has `long_side_px`, where it hides no labelled box
    by more than a third. Returns (image, boxes, classes) with the new box appended, or None."""
    h, w = background.shape[:2]
    bx1, by1, bx2, by2 = cutout.box
    scale = long_side_px / max(bx2 - bx1, by2 - by1)
    ph, pw = max(2, int(round(cutout.pixels.shape[0] * scale))), max(2, int(round(cutout.pixels.shape[1] * scale)))
    if ph >= h or pw >= w:
        return None
    pixels = cv2.resize(cutout.pixels, (pw, ph), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    alpha = cv2.resize(cutout.alpha, (pw, ph), interpolation=cv2.INTER_LINEAR)[..., None]
    for _ in range(tries):
        x, y = int(rng.integers(0, w - pw + 1)), int(rng.integers(0, h - ph + 1))
        new_box = np.array([x + bx1 * scale, y + by1 * scale, x + bx2 * scale, y + by2 * scale])
        if len(boxes):
            ix1 = np.maximum(boxes[:, 0], x); iy1 = np.maximum(boxes[:, 1], y)
            ix2 = np.minimum(boxes[:, 2], x + pw); iy2 = np.minimum(boxes[:, 3], y + ph)
            hidden = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
            areas = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-6)
            if (hidden / areas > 1 / 3).any():
                continue
        region = background[y:y + ph, x:x + pw].astype(np.float32)
        # match the item's brightness part-way to where it lands (one light for the scene)
        gain = np.clip((region.mean() + 1) / (pixels.mean() + 1), 0.6, 1.6) ** 0.5
        item = np.clip(pixels.astype(np.float32) * gain, 0, 255)
        out = background.copy()
        out[y:y + ph, x:x + pw] = (alpha * item + (1 - alpha) * region).astype(np.uint8)
        return out, np.vstack([boxes.reshape(-1, 4), new_box]), np.append(classes, cutout.class_id)
    return None


# -- writing ------------------------------------------------------------------------------------
def _yolo_lines(boxes: np.ndarray, classes: np.ndarray, width: int, height: int) -> str:
    lines = []
    for (x1, y1, x2, y2), c in zip(boxes, classes):
        x1, x2 = np.clip([x1, x2], 0, width)
        y1, y2 = np.clip([y1, y2], 0, height)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        lines.append(f"{int(c)} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
                     f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}\n")
    return "".join(lines)


def _write(out: Path, split: str, name: str, image: np.ndarray, boxes, classes, link_to: Path | None = None):
    """Image and YOLO labels; `link_to`: the unchanged photo `image` was read from, linked, not copied."""
    target = out / "images" / split / f"{name}.jpg"
    if link_to is not None:
        if target.exists() or target.is_symlink():
            target.unlink()
        os.symlink(link_to.resolve(), target)
    else:
        cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    height, width = image.shape[:2]
    (out / "labels" / split / f"{name}.txt").write_text(_yolo_lines(np.asarray(boxes).reshape(-1, 4),
                                                                    np.asarray(classes), width, height))


def pseudo_labels(detector, image: np.ndarray, truth, labelled: np.ndarray, min_confidence: float):
    """Confident bridge detections of classes the image's source does not label, away from its labels."""
    index = {name: i for i, name in enumerate(CANONICAL_CLASSES)}
    boxes, classes = [], []
    for detection in detector.detect(image):
        c = index.get(detection.class_name)
        if c is None or labelled[c] or detection.confidence < min_confidence:
            continue
        box = np.array(detection.bbox_px)
        if len(truth.boxes) and box_iou(box, truth.boxes).max() > 0.3:  # likely the labelled item, misnamed
            continue
        boxes.append(box)
        classes.append(c)
    return np.array(boxes).reshape(-1, 4), np.array(classes, dtype=int)


def build_mix(real: Path, synth: Path, out: Path, settings: MixSettings = MixSettings(), progress: bool = False) -> dict:
    rng = np.random.default_rng(settings.seed)
    n = len(CANONICAL_CLASSES)
    for kind in ("images", "labels"):
        for split in ("train", "val"):
            (out / kind / split).mkdir(parents=True, exist_ok=True)
    partial = labelled_classes_by_source(real, n) or {}
    counts: dict[str, dict[str, int]] = {}

    def count(source: str, classes) -> None:
        row = counts.setdefault(source, {})
        for c in classes:
            row[CANONICAL_CLASSES[int(c)]] = row.get(CANONICAL_CLASSES[int(c)], 0) + 1

    detector = None
    if settings.pseudo_label_confidence is not None:
        from models.registry import load_detector

        detector = load_detector(settings.bridge_model, confidence=settings.pseudo_label_confidence)
    pseudo: dict[str, int] = {}
    cutouts: list[Cutout] = []
    photo_backgrounds = []  # (path, source, boxes, classes)
    real_train = find_images(real, "train")
    for k, path in enumerate(real_train, 1):
        image = cv2.imread(str(path))
        truth = read_labels(path, image.shape[1], image.shape[0])
        source = source_of(path)
        labelled = partial.get(source, np.ones(n, dtype=bool))
        boxes, classes = truth.boxes, truth.classes
        if detector is not None:
            extra_boxes, extra_classes = pseudo_labels(detector, image, truth, labelled, settings.pseudo_label_confidence)
            for c in extra_classes:
                pseudo[CANONICAL_CLASSES[c]] = pseudo.get(CANONICAL_CLASSES[c], 0) + 1
            boxes, classes = np.vstack([boxes, extra_boxes]), np.concatenate([classes, extra_classes])
        _write(out, "train", path.stem, image, boxes, classes, link_to=path)
        count(source, classes)
        for box, c in zip(truth.boxes, truth.classes):
            if CANONICAL_CLASSES[c] in PASTE_SIZE_PX:
                cutout = cut_out(image, box, int(c), source)
                if cutout is not None:
                    cutouts.append(cutout)
        photo_backgrounds.append((path, source, boxes, classes))
        if progress:
            print(f"\rreal photos {k}/{len(real_train)}, {len(cutouts)} cut-outs", end="", file=sys.stderr)
    for path in find_images(real, "val"):
        image = cv2.imread(str(path))
        truth = read_labels(path, image.shape[1], image.shape[0])
        _write(out, "val", path.stem, image, truth.boxes, truth.classes, link_to=path)
    if progress:
        print(file=sys.stderr)

    renders = find_images(synth, "train")[:settings.renders]
    for k, path in enumerate(renders, 1):
        image = cv2.imread(str(path))
        truth = read_labels(path, image.shape[1], image.shape[0])
        if rng.random() < settings.cctv_share:
            image = cctv_finish(image, rng)
        _write(out, "train", f"{SYNTH_SOURCE}{SOURCE_SEPARATOR}{path.stem}", image, truth.boxes, truth.classes)
        count(SYNTH_SOURCE, truth.classes)
        if progress and k % 50 == 0:
            print(f"\rrenders {k}/{len(renders)}", end="", file=sys.stderr)

    by_class: dict[int, list[Cutout]] = {}
    for cutout in cutouts:
        by_class.setdefault(cutout.class_id, []).append(cutout)
    pasted_classes = sorted(by_class)
    labelled_sets: dict[str, set[int]] = {}

    def composite(background, boxes, classes, width):
        placed = 0
        for _ in range(int(rng.integers(settings.items_per_composite[0], settings.items_per_composite[1] + 1))):
            c = pasted_classes[int(rng.integers(len(pasted_classes)))]  # classes evenly, not by crop count
            cutout = by_class[c][int(rng.integers(len(by_class[c])))]
            low, high = PASTE_SIZE_PX[CANONICAL_CLASSES[c]]
            result = paste(background, boxes, classes, cutout, rng.uniform(low, high) * width / 640, rng)
            if result is not None:
                background, boxes, classes = result
                placed += 1
        return background, boxes, classes, placed

    for k in range(settings.composites_on_renders if cutouts else 0):
        path = renders[int(rng.integers(len(renders)))]
        image = cv2.imread(str(path))
        truth = read_labels(path, image.shape[1], image.shape[0])
        image, boxes, classes, placed = composite(image, truth.boxes, truth.classes, image.shape[1])
        if not placed:
            continue
        if rng.random() < settings.cctv_share:
            image = cctv_finish(image, rng)
        source = f"paste-{SYNTH_SOURCE}"  # a render labels everything, and so do its pasted items
        _write(out, "train", f"{source}{SOURCE_SEPARATOR}{k:05d}", image, boxes, classes)
        count(source, classes)
    for k in range(settings.composites_on_photos if cutouts else 0):
        path, background_source, boxes, classes = photo_backgrounds[int(rng.integers(len(photo_backgrounds)))]
        image = cv2.imread(str(path))
        image, boxes, classes, placed = composite(image, boxes, classes, image.shape[1])
        if not placed:
            continue
        source = f"paste-{background_source}"
        labelled_sets.setdefault(source, set(np.nonzero(partial.get(background_source, np.ones(n, bool)))[0]))
        labelled_sets[source] |= set(pasted_classes)
        _write(out, "train", f"{source}{SOURCE_SEPARATOR}{k:05d}", image, boxes, classes)
        count(source, classes)
    if progress:
        print(file=sys.stderr)

    labelled_classes = {source: [CANONICAL_CLASSES[i] for i in np.nonzero(mask)[0]] for source, mask in partial.items()}
    labelled_classes.update({source: [CANONICAL_CLASSES[i] for i in sorted(ids)] for source, ids in labelled_sets.items()
                             if len(ids) < n})
    spec = {"path": str(out.resolve()), "train": "images/train", "val": "images/val", "nc": n,
            "names": dict(enumerate(CANONICAL_CLASSES)), "labelled_classes": labelled_classes}
    (out / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    summary = {"settings": asdict(settings), "real": str(real), "synth": str(synth), "cutouts": len(cutouts),
               "pseudo_labels": pseudo, "boxes_per_source": counts,
               "images": {split: len(list((out / "images" / split).iterdir())) for split in ("train", "val")}}
    (out / "mix.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.mix", description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True, type=Path, help="real labelled photos (YOLO, train/val splits)")
    ap.add_argument("--synth", required=True, type=Path, help="rendered desks (python -m models.synth.dataset)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--renders", type=int, default=None, help="use the first N renders (default: all)")
    ap.add_argument("--on-renders", type=int, default=MixSettings.composites_on_renders, help="composites on renders")
    ap.add_argument("--on-photos", type=int, default=MixSettings.composites_on_photos, help="composites on real photos")
    ap.add_argument("--cctv-share", type=float, default=MixSettings.cctv_share)
    ap.add_argument("--pseudo-confidence", type=float, default=MixSettings.pseudo_label_confidence,
                    help="COCO bridge pseudo-labels at or over this confidence; 0 for none")
    args = ap.parse_args(argv)
    for folder in (args.real, args.synth):
        if not folder.is_dir():
            ap.error(f"{folder}: not a folder")
    if not 0.0 <= args.cctv_share <= 1.0 or min(args.on_renders, args.on_photos) < 0:
        ap.error("--cctv-share must be in [0, 1] and composite counts >= 0")
    settings = MixSettings(seed=args.seed, renders=args.renders, composites_on_renders=args.on_renders, composites_on_photos=args.on_photos,
                           cctv_share=args.cctv_share, pseudo_label_confidence=args.pseudo_confidence or None)
    summary = build_mix(args.real, args.synth, args.out, settings, progress=sys.stderr.isatty())
    print(json.dumps({k: summary[k] for k in ("images", "cutouts", "pseudo_labels")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
