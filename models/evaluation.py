"""Judging a detector on labelled YOLO folders, through the product's own detector path (the card's
backend, input size, NMS and thresholds), so that every figure describes what `inspect` runs.

- mAP50 and mAP50-95 (COCO's 101-point AP, IoU 0.50:0.95) from detections down to a 0.001 floor;
- at the card's thresholds: per-class precision, recall and F1, false boxes per image, a confusion
  matrix and recall by item size;
- partial labels: a folder whose files are named `<source>__<name>` and whose sources label different
  classes (each public photo set labels only its own few) is judged source by source: a detection of
  a class its image's source does not label is neither right nor wrong, and a class's AP counts only
  the images of sources that label it. Otherwise an unlabelled mug in a pen photo would count
  against every model that sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from inspector.errors import ModelError
from inspector.frames import IMAGE_SUFFIXES
from models.registry import REGISTRY_DIR, read_card, resolve_card, write_card

SOURCE_SEPARATOR = "__"
AP_FLOOR = 0.001  # detections kept for AP: the whole precision-recall curve, as COCO evaluation does
IOU_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)


# -- labelled folders ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledImage:
    image: Path
    boxes: np.ndarray  # (N, 4) xyxy px
    classes: np.ndarray  # (N,) int


def find_images(root: Path, split: str | None) -> list[Path]:
    """Images of a YOLO folder: root/images/<split>/, root/images/, or root itself."""
    for candidate in ([root / "images" / split] if split else []) + [root / "images", root]:
        if candidate.is_dir():
            images = sorted(p for p in candidate.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if images:
                return images
    raise ModelError(f"no images found (looked in images/{split or ''}, images/, and the folder itself)", str(root))


def label_path(image: Path) -> Path:
    parts = list(image.parts)
    if "images" in parts:
        index = len(parts) - 1 - parts[::-1].index("images")
        parts[index] = "labels"
    return Path(*parts).with_suffix(".txt")


def _label_rows(path: Path) -> np.ndarray:
    rows = []
    if path.is_file():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 5:
                raise ModelError(f"line {number}: expected 'class cx cy w h' (normalised), got {line!r}", str(path))
            try:
                rows.append([float(v) for v in fields])
            except ValueError:
                raise ModelError(f"line {number}: not numbers: {line!r}", str(path)) from None
    return np.array(rows).reshape(-1, 5)


def read_labels(image: Path, width: int, height: int) -> LabelledImage:
    data = _label_rows(label_path(image))
    cx, cy, w, h = data[:, 1] * width, data[:, 2] * height, data[:, 3] * width, data[:, 4] * height
    boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return LabelledImage(image, boxes, data[:, 0].astype(int))


def dataset_class_names(root: Path) -> list[str] | None:
    """The class names of a folder's data.yaml (what its label indices mean), if it has one."""
    spec_path = root / "data.yaml"
    if not spec_path.is_file():
        return None
    names = (yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}).get("names")
    if isinstance(names, dict):
        return [names[k] for k in sorted(names, key=int)]
    return list(names) if names else None


def source_of(image: Path) -> str:
    """The photo set an image came from: its file name's prefix before `__` ('' when it has none)."""
    name = image.name
    return name.split(SOURCE_SEPARATOR, 1)[0] if SOURCE_SEPARATOR in name else ""


def labelled_classes_by_source(root: Path, n_classes: int) -> dict[str, np.ndarray] | None:
    """Which classes each source labels completely, or None when the folder is fully labelled.
    From the folder's data.yaml `labelled_classes` ({source: [class names]}; a source not named
    there labels everything) when it has one; else each source labels the classes occurring anywhere
    in its labels (every split), and a folder of one source, or of sources that all label the same
    classes, is fully labelled."""
    spec_path = root / "data.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8")) if spec_path.is_file() else None
    if isinstance(spec, dict) and spec.get("labelled_classes"):
        names = dataset_class_names(root) or []
        masks = {}
        for source, labelled in spec["labelled_classes"].items():
            unknown = sorted(set(labelled) - set(names))
            if unknown:
                raise ModelError(f"labelled_classes of {source!r} names unknown classes {unknown}", str(spec_path))
            masks[source] = np.array([name in labelled for name in names[:n_classes]])
        return masks
    labelled: dict[str, np.ndarray] = {}
    for image in find_images(root, None):
        classes = _label_rows(label_path(image))[:, 0].astype(int)
        mask = labelled.setdefault(source_of(image), np.zeros(n_classes, dtype=bool))
        mask[classes[(classes >= 0) & (classes < n_classes)]] = True
    masks = list(labelled.values())
    if len(masks) < 2 or all((mask == masks[0]).all() for mask in masks):
        return None
    return labelled


# -- matching -----------------------------------------------------------------------------------
def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0]); y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2]); y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def _greedy_match(pred_boxes, true_boxes, iou_threshold: float) -> np.ndarray:
    """For each prediction (most confident first) the index of the true box it takes, or -1."""
    taken = np.full(len(pred_boxes), -1, dtype=int)
    used = np.zeros(len(true_boxes), dtype=bool)
    for k, box in enumerate(pred_boxes):
        if len(true_boxes):
            ious = box_iou(box, true_boxes)
            ious[used] = 0
            best = int(ious.argmax())
            if ious[best] >= iou_threshold:
                used[best] = True
                taken[k] = best
    return taken


def _confusion_from(taken: np.ndarray, pred_classes, true_classes, n_classes: int) -> np.ndarray:
    confusion = np.zeros((n_classes + 1, n_classes + 1), dtype=int)
    true_classes = np.asarray(true_classes, dtype=int)
    for cls, true_index in zip(pred_classes, taken):
        confusion[cls, n_classes if true_index < 0 else true_classes[true_index]] += 1  # -1: false positive
    missed = np.ones(len(true_classes), dtype=bool)
    missed[taken[taken >= 0]] = False
    np.add.at(confusion[n_classes], true_classes[missed], 1)
    return confusion


def _found_from(taken: np.ndarray, pred_classes, true_classes) -> np.ndarray:
    found = np.zeros(len(true_classes), dtype=bool)
    hit = taken >= 0  # each true box is taken at most once
    found[taken[hit]] = np.asarray(pred_classes)[hit] == np.asarray(true_classes)[taken[hit]]
    return found


def match_image(pred_boxes, pred_classes, true_boxes, true_classes, n_classes: int, iou_threshold: float = 0.5):
    """Greedy matching by score order (predictions already sorted). Returns the confusion increment
    (n+1)x(n+1): rows predicted class (last = background / missed), columns true class (last = none)."""
    return _confusion_from(_greedy_match(pred_boxes, true_boxes, iou_threshold), pred_classes, true_classes, n_classes)


def found_true(pred_boxes, pred_classes, true_boxes, true_classes, iou_threshold: float = 0.5) -> np.ndarray:
    """Per true box: taken by a prediction of its own class (the same greedy matching as match_image)."""
    return _found_from(_greedy_match(pred_boxes, true_boxes, iou_threshold), pred_classes, true_classes)


def true_positives(pred_boxes, pred_classes, true_boxes, true_classes) -> np.ndarray:
    """(n_predictions, len(IOU_THRESHOLDS)) bool: at each IoU threshold, whether the prediction
    (most confident first) takes an unused true box of its own class, the best-overlapping one."""
    hits = np.zeros((len(pred_boxes), len(IOU_THRESHOLDS)), dtype=bool)
    if not len(pred_boxes) or not len(true_boxes):
        return hits
    ious = np.stack([box_iou(box, true_boxes) for box in pred_boxes])  # (pred, true)
    ious[np.asarray(pred_classes)[:, None] != np.asarray(true_classes)[None, :]] = 0
    for t, threshold in enumerate(IOU_THRESHOLDS):
        used = np.zeros(len(true_boxes), dtype=bool)
        for k in range(len(pred_boxes)):
            row = np.where(used, 0, ious[k])
            best = int(row.argmax())
            if row[best] >= threshold:
                used[best] = True
                hits[k, t] = True
    return hits


def average_precision(scores: np.ndarray, hits: np.ndarray, n_true: int) -> np.ndarray:
    """AP at each IoU threshold (COCO's 101-point interpolation) of one class's detections."""
    from ultralytics.utils.metrics import compute_ap

    if n_true == 0:
        return np.full(hits.shape[1], np.nan)
    if len(scores) == 0:  # never predicted (a class the model does not know): nothing found
        return np.zeros(hits.shape[1])
    order = np.argsort(-scores, kind="stable")
    true_cum = np.cumsum(hits[order], axis=0)
    false_cum = np.cumsum(~hits[order], axis=0)
    aps = []
    for t in range(hits.shape[1]):
        recall = true_cum[:, t] / n_true
        precision = true_cum[:, t] / np.maximum(true_cum[:, t] + false_cum[:, t], 1)
        aps.append(compute_ap(recall, precision)[0])
    return np.array(aps)


# -- item sizes ---------------------------------------------------------------------------------
# Box long side in image pixels; the last bin is open. Most held-out cups, pens and phones in a
# 640-wide frame are 12-48 px long, so these bins show how close a camera must be for them.
SIZE_BINS_PX = (0, 12, 24, 48)


def _size_bin_names(edges=SIZE_BINS_PX) -> list[str]:
    return [f"{low}-{high} px" for low, high in zip(edges, edges[1:])] + [f">={edges[-1]} px"]


def recall_by_size(found: np.ndarray, long_sides: np.ndarray, classes: np.ndarray, names: list[str],
                   edges=SIZE_BINS_PX) -> dict:
    """Per class and box-size bin: {"instances", "recall"} (recall None for an empty bin)."""
    bins = np.digitize(long_sides, edges[1:])  # 0 .. len(edges) - 1
    table = {}
    for i, name in enumerate(names):
        rows = {}
        for b, bin_name in enumerate(_size_bin_names(edges)):
            here = (classes == i) & (bins == b)
            count = int(here.sum())
            rows[bin_name] = {"instances": count, "recall": round(float(found[here].mean()), 4) if count else None}
        if any(row["instances"] for row in rows.values()):
            table[name] = rows
    return table


# -- running a detector over a folder -----------------------------------------------------------
@dataclass(frozen=True)
class ImageResult:
    """One image's detections (most confident first, class indices in the folder's class list) and
    labels; `labelled`: which classes its source labels (all, for a fully labelled folder)."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    truth: LabelledImage
    labelled: np.ndarray

    def kept(self, thresholds: np.ndarray) -> "ImageResult":
        """Only the detections over their class's threshold (strictly, as the detector keeps them)."""
        keep = self.scores > thresholds[self.classes]
        return ImageResult(self.boxes[keep], self.classes[keep], self.scores[keep], self.truth, self.labelled)


def folder_classes(card, folder: Path) -> list[str]:
    """The class list label indices refer to: the folder's data.yaml names, else the model's ids."""
    return dataset_class_names(folder) or card.item_ids


def detect_folder(detector, class_names: list[str], folder: Path, split: str | None,
                  partial: dict[str, np.ndarray] | None = None) -> list[ImageResult]:
    """Run the detector over a folder's images. Detections of classes the folder does not name, or
    that the image's source does not label, are left out: nobody could say whether they are right."""
    import cv2

    index = {name: i for i, name in enumerate(class_names)}
    results = []
    everything = np.ones(len(class_names), dtype=bool)
    for image_path in find_images(folder, split):
        image = cv2.imread(str(image_path))
        if image is None:
            raise ModelError("cannot read image", str(image_path))
        truth = read_labels(image_path, image.shape[1], image.shape[0])
        labelled = partial.get(source_of(image_path), everything) if partial else everything
        detections = sorted((d for d in detector.detect(image) if d.class_name in index), key=lambda d: -d.confidence)
        classes = np.array([index[d.class_name] for d in detections], dtype=int)
        keep = labelled[classes] if len(classes) else np.zeros(0, dtype=bool)
        results.append(ImageResult(np.array([d.bbox_px for d in detections]).reshape(-1, 4)[keep], classes[keep],
                                   np.array([d.confidence for d in detections])[keep], truth, labelled))
    return results


def _map_table(results: list[ImageResult], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(AP per class and IoU threshold (n, 10), true items per class) over the images that label each class."""
    hits, scores, classes = [], [], []
    true_totals = np.zeros(n, dtype=int)
    for result in results:
        truth_classes = result.truth.classes
        hits.append(true_positives(result.boxes, result.classes, result.truth.boxes, truth_classes))
        scores.append(result.scores)
        classes.append(result.classes)
        true_totals += np.bincount(truth_classes[truth_classes < n], minlength=n)
    hits, scores, classes = np.concatenate(hits), np.concatenate(scores), np.concatenate(classes)
    table = np.array([average_precision(scores[classes == c], hits[classes == c], int(true_totals[c]))
                      for c in range(n)])
    return table, true_totals


def evaluate(model: str, folder: Path, split: str | None = "val", out_dir: Path = Path("out/evaluate"),
             backend: str = "auto", registry: Path = REGISTRY_DIR, record: str | None = None,
             confidence: float | None = None) -> dict:
    """mAP50 / mAP50-95 over the classes the folder labels, and per-class precision / recall / F1,
    false boxes per image, a confusion matrix and recall by size at the model's own thresholds (or
    at one `confidence` for every class), all through the product's detector path.
    `record`: keep the figures in the card under this set name (e.g. 'real-val')."""
    from models.registry import load_detector
    from models.train_extra import require_training_extra

    require_training_extra("evaluate (its mAP is ultralytics' compute_ap)", str(model))
    if record and confidence is not None:  # the card's metrics describe the card's own thresholds
        raise ModelError("record keeps metrics at the card's own thresholds: leave out the confidence", str(model))
    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    names = folder_classes(card, folder)
    partial = labelled_classes_by_source(folder, len(names))
    default, own = (confidence, {}) if confidence is not None else (card.confidence, dict(card.class_confidence))
    thresholds = np.array([own.get(name, default) for name in names])
    # one pass at the AP floor; the thresholds are applied to the same detections afterwards
    detector = load_detector(str(card_path), backend=backend, confidence=AP_FLOOR)
    results = detect_folder(detector, names, folder, split, partial)
    n = len(names)
    ap_table, true_totals = _map_table(results, n)
    judged = ~np.isnan(ap_table[:, 0])  # classes with labelled items in this set
    kept = [result.kept(thresholds) for result in results]
    confusion = np.zeros((n + 1, n + 1), dtype=int)
    found, true_boxes, true_classes = [], [], []
    for result in kept:
        taken = _greedy_match(result.boxes, result.truth.boxes, 0.5)  # one matching for both
        confusion += _confusion_from(taken, result.classes, result.truth.classes, n)
        found.append(_found_from(taken, result.classes, result.truth.classes))
        true_boxes.append(result.truth.boxes)
        true_classes.append(result.truth.classes)
    true_boxes = np.concatenate(true_boxes)  # find_images never returns an empty list
    long_sides = np.maximum(true_boxes[:, 2] - true_boxes[:, 0], true_boxes[:, 3] - true_boxes[:, 1])
    per_class = {}
    for i, name in enumerate(names):
        true_total, pred_total = confusion[:, i].sum(), confusion[i, :].sum()
        if true_total == 0 and pred_total == 0:
            continue
        per_class[name] = {
            "instances": int(true_total),
            "precision": round(float(confusion[i, i] / pred_total), 4) if pred_total else None,
            "recall": round(float(confusion[i, i] / true_total), 4) if true_total else None,
            "f1": round(float(2 * confusion[i, i] / (true_total + pred_total)), 4),
            "ap50": round(float(ap_table[i, 0]), 4) if judged[i] else None,
            "ap50-95": round(float(ap_table[i].mean()), 4) if judged[i] else None,
        }
    with_items = [row for row in per_class.values() if row["instances"]]
    metrics = {
        "images": len(results),
        "classes_judged": [name for name, is_judged in zip(names, judged) if is_judged],
        "partial_labels": {source: [names[i] for i in np.nonzero(mask)[0]] for source, mask in partial.items()}
        if partial else None,
        "mAP50": round(float(ap_table[judged, 0].mean()), 4) if judged.any() else None,
        "mAP50-95": round(float(ap_table[judged].mean()), 4) if judged.any() else None,
        "confidence": default,
        **({"class_confidence": own} if own else {}),
        "mean_f1": round(float(np.mean([row["f1"] for row in with_items])), 4) if with_items else None,
        "false_boxes_per_image": round(float(confusion[:n, n].sum() / len(results)), 3),
        "per_class": per_class,
        "recall_by_size": recall_by_size(np.concatenate(found), long_sides, np.concatenate(true_classes), names),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plot_confusion(confusion, names, out_dir / "confusion_matrix.png")
    plot_recall_by_size(metrics["recall_by_size"], out_dir / "recall_by_size.png")
    if record:  # the card keeps the figures of each set it was judged on, by set name
        card = read_card(card_path)
        sets = {key: value for key, value in card.metrics.items() if isinstance(value, dict) and "mAP50" in value}
        sets[record] = {**metrics, "dataset": str(folder), "split": split}
        write_card(card.model_copy(update={"metrics": sets}), card_path)
    return metrics


# -- choosing thresholds ------------------------------------------------------------------------
_SWEEP_FLOOR = 0.05  # detections are collected down to this confidence, then thresholds are swept
_PER_CLASS_MIN_INSTANCES = 20  # fewer true items than this and a class's own F1 curve is noise


def _scores_at(results: list[ImageResult], n: int, thresholds_by_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class (F1, recall) when each class keeps its detections over its threshold."""
    confusion = np.zeros((n + 1, n + 1), dtype=int)
    for result in results:
        kept = result.kept(thresholds_by_class)
        confusion += match_image(kept.boxes, kept.classes, kept.truth.boxes, kept.truth.classes, n)
    hits = np.diag(confusion)[:n]
    true_totals, predicted_totals = confusion[:, :n].sum(axis=0), confusion[:n, :].sum(axis=1)
    return 2 * hits / np.maximum(true_totals + predicted_totals, 1), hits / np.maximum(true_totals, 1)


def _summary(f1: np.ndarray, recall: np.ndarray, true_totals: np.ndarray) -> dict:
    present = true_totals > 0
    return {"mean_f1": round(float(f1[present].mean()), 4), "min_recall": round(float(recall[present].min()), 4),
            "mean_recall": round(float(recall[present].mean()), 4)}


def tune_confidence(model: str, folder: Path, split: str | None = "val", registry: Path = REGISTRY_DIR,
                    backend: str = "auto", record: bool = False, per_class: bool = False,
                    min_recall: float | None = None, keep_others: bool = False,
                    thresholds: np.ndarray = np.round(np.arange(0.05, 0.80, 0.025), 3)) -> dict:
    """The default confidence that maximises the mean per-class F1 (IoU 0.5) on a labelled folder,
    through the product's detector path. Choose it on a validation split, never on the held-out set
    the card's metrics come from. `record` writes it into the card.

    `per_class` then gives each class with enough items the threshold that maximises its own F1 in
    the same sweep (a small round cup scores lower than a monitor, so one threshold drops cups the
    model did find), and keeps them only if all of them together beat the single threshold.

    `min_recall` (implies `per_class`) lowers a class's threshold, where its best-F1 one finds fewer
    than that share of its items, to the strictest one that still finds them (the lowest swept if
    none does): an operating point for users who would rather check a false item than miss a real
    one. Those thresholds are kept whatever they cost in F1; the result says what they cost.

    `keep_others` (implies `per_class`): a set that labels only some classes (real photos of five
    classes) tunes those; every other class keeps the threshold it has in the card (chosen on a set
    that has it), and the card's default confidence stays."""
    if min_recall is not None and not 0.0 < min_recall <= 1.0:
        raise ValueError(f"min_recall must be in (0, 1], got {min_recall}")
    per_class = per_class or min_recall is not None or keep_others
    from models.registry import load_detector

    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    names = folder_classes(card, folder)
    n = len(names)
    detector = load_detector(str(card_path), backend=backend, confidence=_SWEEP_FLOOR)
    results = detect_folder(detector, names, folder, split, labelled_classes_by_source(folder, n))
    true_totals = np.bincount(np.concatenate([r.truth.classes for r in results] or [[]]).astype(int), minlength=n)
    rows, f1_by_threshold, recall_by_threshold = [], [], []
    for threshold in thresholds:
        f1, recall = _scores_at(results, n, np.full(n, threshold))
        f1_by_threshold.append(f1)
        recall_by_threshold.append(recall)
        rows.append({"confidence": float(threshold), **_summary(f1, recall, true_totals)})
    best = max(rows, key=lambda row: (row["mean_f1"], row["confidence"]))  # on a tie, the stricter threshold
    default = card.confidence if keep_others else best["confidence"]
    own_ids = set(card.item_ids)
    class_confidence = dict(card.class_confidence) if keep_others else {}
    combined = None
    if per_class:
        f1_by_threshold = np.array(f1_by_threshold)  # (thresholds, classes)
        recall_by_threshold = np.array(recall_by_threshold)
        for i, item_id in enumerate(names):
            if true_totals[i] < _PER_CLASS_MIN_INSTANCES or item_id not in own_ids:
                continue
            # the last maximum along the sweep: on a tie, the stricter threshold
            own_index = len(thresholds) - 1 - int(np.argmax(f1_by_threshold[::-1, i]))
            if min_recall is not None and recall_by_threshold[own_index, i] < min_recall:
                reaching = np.nonzero(recall_by_threshold[:own_index + 1, i] >= min_recall)[0]
                own_index = int(reaching.max()) if reaching.size else 0
            class_confidence[item_id] = float(thresholds[own_index])
        class_confidence = {name: value for name, value in class_confidence.items() if value != default}
        vector = np.array([class_confidence.get(item_id, default) for item_id in names])
        combined = _summary(*_scores_at(results, n, vector), true_totals)
        # classes interact through matching: check the whole (a recall floor is kept whatever it costs)
        if min_recall is None and not keep_others and combined["mean_f1"] <= best["mean_f1"]:
            class_confidence = {}
    if record:
        write_card(card.model_copy(update={"confidence": default, "class_confidence": class_confidence}), card_path)
    return {"chosen": best, "previous": card.confidence, "images": len(results), "sweep": rows,
            "class_confidence": class_confidence, "combined": combined, "min_recall": min_recall,
            "default": default}


# -- pictures -----------------------------------------------------------------------------------
def plot_confusion(confusion: np.ndarray, names: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(names) + ["background"]
    fig, ax = plt.subplots(figsize=(9, 8), dpi=110)
    normalised = confusion / np.maximum(confusion.sum(axis=0, keepdims=True), 1)
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("true class")
    ax.set_ylabel("predicted class")
    ax.set_title("Confusion matrix (columns normalised; counts shown)")
    for (row, col), count in np.ndenumerate(confusion):
        if count:
            ax.text(col, row, str(count), ha="center", va="center", fontsize=6,
                    color="white" if normalised[row, col] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_recall_by_size(table: dict, path: Path) -> Path:
    """Classes x box-size bins, each cell the recall and its count (blank: no items that size)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, bins = list(table), _size_bin_names()
    recall = np.array([[np.nan if table[name][b]["recall"] is None else table[name][b]["recall"] for b in bins]
                       for name in names]).reshape(len(names), len(bins))
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(names) + 1.6), dpi=110)
    ax.imshow(np.ma.masked_invalid(recall), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(bins)), bins, fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("box long side in the image")
    ax.set_title("Recall by item size (count in brackets)", fontsize=10)
    for (r, c), value in np.ndenumerate(recall):
        if not np.isnan(value):
            dark = value < 0.15 or value > 0.85  # the colour map's dark ends
            ax.text(c, r, f"{value:.2f} ({table[names[r]][bins[c]]['instances']})", ha="center", va="center",
                    fontsize=7, color="white" if dark else "black")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
