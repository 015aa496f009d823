"""Model work: train (from a model yaml or by fine-tuning a registry model), evaluate on any
YOLO-format labelled folder, export to ONNX. Thin wrappers over ultralytics that keep everything
offline and write each trained model into the registry with its card.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from inspector.errors import ModelError  # noqa: E402
from inspector.frames import IMAGE_SUFFIXES  # noqa: E402
from models.inference import NMS_IOU  # noqa: E402
from models.registry import REGISTRY_DIR, ModelCard, read_card, resolve_card, sha256_of, write_card  # noqa: E402



def _offline_ultralytics():
    """Import ultralytics with its online features off (hub sync, update checks)."""
    from ultralytics import YOLO
    from ultralytics.utils import SETTINGS

    SETTINGS.update({"sync": False})
    return YOLO


# -- datasets -----------------------------------------------------------------------------------
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


def read_labels(image: Path, width: int, height: int) -> LabelledImage:
    path = label_path(image)
    rows = []
    if path.is_file():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 5:
                raise ModelError(f"line {number}: expected 'class cx cy w h' (normalised), got {line!r}", str(path))
            rows.append([float(v) for v in fields])
    data = np.array(rows).reshape(-1, 5)
    cx, cy, w, h = data[:, 1] * width, data[:, 2] * height, data[:, 3] * width, data[:, 4] * height
    boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return LabelledImage(image, boxes, data[:, 0].astype(int))


def dataset_yaml_for(root: Path, class_names: list[str], split: str | None) -> Path:
    """A data.yaml ultralytics can read; the folder's own when it has one."""
    own = root / "data.yaml"
    if own.is_file():
        return own
    images = find_images(root, split)[0].parent
    data = {"path": str(root.resolve()), "train": str(images.resolve()), "val": str(images.resolve()),
            "names": dict(enumerate(class_names))}
    target = root / ".desk-inspector-data.yaml"
    target.write_text(yaml.safe_dump(data))
    return target


# -- train --------------------------------------------------------------------------------------
def train(
    data: Path,
    name: str,
    base: str = "yolov8n.yaml",
    imgsz: int = 320,
    epochs: int = 30,
    batch: int = 16,
    workers: int = 2,
    seed: int = 0,
    resume: bool = False,
    runs_dir: Path = Path("runs"),
    registry: Path = REGISTRY_DIR,
    version: str = "0.1.0",
    recipe: dict | None = None,
    device: str = "cpu",
    cache: str | bool = "ram",
    hours: float | None = None,
    rect: bool = False,
    threads: int | None = None,
) -> Path:
    """Train or fine-tune; resumable from the run's last checkpoint. Returns the new card path.

    `threads`: PyTorch's CPU threads (default: every core). Ultralytics would set cores - 1,
    which on a 2-core machine is one: half the machine idle (7.2 s against 3.7 s per batch of 16
    at 640x384 in the bundled model's training logs).

    `rect` trains on the images' own aspect (a 16:9 frame at imgsz 640 is 640x384, not 640x640
    with 40 % grey): 1.7x fewer pixels per image at the same scale, so small items can be learnt at
    a higher resolution for the same cost. Ultralytics then skips mosaic and keeps batches in order.
    """
    YOLO = _offline_ultralytics()
    from ultralytics.utils import torch_utils

    # select_device() resets torch's thread count to this module constant for CPU training
    torch_utils.NUM_THREADS = threads or os.cpu_count() or 1
    run_dir = runs_dir / name
    last = run_dir / "weights" / "last.pt"
    if resume:
        if not last.is_file():
            raise ModelError("nothing to resume: no last.pt in the run folder", str(run_dir))
        model = YOLO(str(last))
        model.train(resume=True)
    else:
        from_scratch = base.endswith((".yaml", ".yml")) and not Path(base).is_file()
        if from_scratch:
            model = YOLO(base)  # an architecture from the ultralytics package, random init
        else:
            card_path = resolve_card(base, registry)
            model = YOLO(str(card_path.parent / read_card(card_path).weights))
        model.train(data=str(data), imgsz=imgsz, epochs=epochs, batch=batch, workers=workers, seed=seed,
                    device=device, project=str(runs_dir.resolve()), name=name, exist_ok=True, plots=False,
                    amp=False, deterministic=True, verbose=True, val=True, patience=max(epochs, 50), cache=cache,
                    close_mosaic=max(2, epochs // 5), rect=rect,
                    # a fine-tuned model is trained already: the default 3 warm-up epochs would spend a
                    # short CPU run's best part at a crawling learning rate
                    warmup_epochs=3.0 if from_scratch else 0.5,
                    # A time budget makes ultralytics refit the epoch count and LR schedule after epoch 1,
                    # so a CPU session can plan a run that ends before the session does.
                    **({"time": hours} if hours else {}))
    best = run_dir / "weights" / "best.pt"
    if not best.is_file():
        raise ModelError("training ended without a best.pt", str(run_dir))
    return register(best, name=name, version=version, data=data, imgsz=imgsz,
                    input_hw=rect_input_hw(data, imgsz) if rect else None, recipe={
        **(recipe or {}), "base": base, "epochs": epochs, **({"hours": hours} if hours else {}), "batch": batch, "seed": seed, "imgsz": imgsz,
        **({"rect": True} if rect else {}), "data": str(data), "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }, registry=registry)


def rect_input_hw(data: Path, imgsz: int, stride: int = 32) -> tuple[int, int]:
    """The (height, width) input a model trained with rect=True at `imgsz` sees: the training
    images' aspect (their first image's), long side imgsz, rounded up to the network stride."""
    import cv2

    spec = yaml.safe_load(Path(data).read_text(encoding="utf-8"))
    train = spec["train"] if isinstance(spec["train"], str) else spec["train"][0]
    image = find_images(Path(spec.get("path") or Path(data).parent) / train, None)[0]  # an absolute train path stays
    return scaled_input_hw(cv2.imread(str(image)).shape[:2], imgsz, stride)


def register(weights: Path, name: str, version: str, data: Path, imgsz: int, recipe: dict,
             registry: Path = REGISTRY_DIR, input_hw: tuple[int, int] | None = None) -> Path:
    YOLO = _offline_ultralytics()
    target_dir = registry / name
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(weights, target_dir / "weights.pt")
    names = list(dict(YOLO(str(target_dir / "weights.pt")).names).values())
    card = ModelCard(name=name, version=version, weights="weights.pt", sha256=sha256_of(target_dir / "weights.pt"),
                     imgsz=imgsz, input_hw=input_hw, classes=names, default_backend="torch", training=recipe)
    return write_card(card, target_dir / "card.yaml")


# -- evaluate -----------------------------------------------------------------------------------
def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
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
            ious = _iou(box, true_boxes)
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


def detected_and_true(detector, class_ids: list[str], images: list[Path]):
    """Per image, through the product's detector path: (boxes (N, 4), class indices, confidences),
    most confident first, and the image's labels. `class_ids`: ModelCard.item_ids."""
    import cv2

    index = {item_id: i for i, item_id in enumerate(class_ids)}
    for image_path in images:
        image = cv2.imread(str(image_path))
        if image is None:
            raise ModelError("cannot read image", str(image_path))
        truth = read_labels(image_path, image.shape[1], image.shape[0])
        detections = sorted(detector.detect(image), key=lambda d: -d.confidence)
        yield (np.array([d.bbox_px for d in detections]).reshape(-1, 4),
               np.array([index[d.class_name] for d in detections], dtype=int),
               np.array([d.confidence for d in detections]), truth)


def evaluate(model: str, folder: Path, split: str | None = "val", out_dir: Path = Path("out/evaluate"),
             backend: str = "auto", registry: Path = REGISTRY_DIR, record: bool = False,
             confidence: float | None = None) -> dict:
    """mAP50 / mAP50-95 (ultralytics val), and per-class precision/recall/F1 and a confusion matrix
    at the model's own thresholds (or at one `confidence` for every class) through the product's
    own detector path."""
    from models.registry import load_detector

    if record and confidence is not None:  # the card's metrics describe the card's own thresholds
        raise ModelError("record keeps metrics at the card's own thresholds: leave out the confidence", str(model))
    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    YOLO = _offline_ultralytics()
    data_yaml = dataset_yaml_for(folder, card.classes, split)
    # mAP at the product's NMS overlap, so that it and the per-class figures describe one detector
    val = YOLO(str(card_path.parent / card.weights)).val(
        data=str(data_yaml), split=split or "val", imgsz=card.imgsz, batch=8, plots=False, device="cpu",
        iou=NMS_IOU, verbose=False, workers=0, project=str(out_dir.resolve()), name="ultralytics", exist_ok=True)
    detector = load_detector(str(card_path), backend=backend, confidence=confidence)
    n = len(card.classes)
    confusion = np.zeros((n + 1, n + 1), dtype=int)
    images = find_images(folder, split)
    found, true_boxes, true_classes = [], [], []
    for boxes, classes, _, truth in detected_and_true(detector, card.item_ids, images):
        taken = _greedy_match(boxes, truth.boxes, 0.5)  # one matching for the confusion and the found flags
        confusion += _confusion_from(taken, classes, truth.classes, n)
        found.append(_found_from(taken, classes, truth.classes))
        true_boxes.append(truth.boxes)
        true_classes.append(truth.classes)
    true_boxes = np.concatenate(true_boxes)  # find_images never returns an empty list
    long_sides = np.maximum(true_boxes[:, 2] - true_boxes[:, 0], true_boxes[:, 3] - true_boxes[:, 1])
    per_class = {}
    for i, name in enumerate(card.classes):
        true_total = confusion[:, i].sum()
        pred_total = confusion[i, :].sum()
        if true_total == 0 and pred_total == 0:
            continue
        per_class[name] = {
            "instances": int(true_total),
            "precision": round(float(confusion[i, i] / pred_total), 4) if pred_total else None,
            "recall": round(float(confusion[i, i] / true_total), 4) if true_total else None,
            "f1": round(float(2 * confusion[i, i] / (true_total + pred_total)), 4),
            "ap50": round(float(val.box.ap50[list(val.box.ap_class_index).index(i)]), 4) if i in val.box.ap_class_index else None,
        }
    metrics = {
        "images": len(images),
        "mAP50": round(float(val.box.map50), 4),
        "mAP50-95": round(float(val.box.map), 4),
        "confidence": detector.confidence,
        **({"class_confidence": detector.class_confidence} if detector.class_confidence else {}),
        "mean_f1": round(float(np.mean([row["f1"] for row in per_class.values() if row["instances"]])), 4)
        if any(row["instances"] for row in per_class.values()) else None,
        "per_class": per_class,
        "recall_by_size": recall_by_size(np.concatenate(found), long_sides, np.concatenate(true_classes), card.classes),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plot_confusion(confusion, card.classes, out_dir / "confusion_matrix.png")
    plot_recall_by_size(metrics["recall_by_size"], out_dir / "recall_by_size.png")
    if record:  # the card keeps the figures of the set it was judged on
        write_card(card.model_copy(update={"metrics": {**metrics, "dataset": str(folder), "split": split}}), card_path)
    return metrics


_SWEEP_FLOOR = 0.05  # detections are collected down to this confidence, then thresholds are swept
_PER_CLASS_MIN_INSTANCES = 20  # fewer true items than this and a class's own F1 curve is noise


def _scores_at(per_image, n: int, thresholds_by_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class (F1, recall) when each class keeps its detections over its threshold."""
    confusion = np.zeros((n + 1, n + 1), dtype=int)
    for boxes, classes, scores, truth in per_image:
        keep = scores > thresholds_by_class[classes]  # strictly over, as the detector keeps them
        confusion += match_image(boxes[keep], classes[keep], truth.boxes, truth.classes, n)
    hits = np.diag(confusion)[:n]
    true_totals, predicted_totals = confusion[:, :n].sum(axis=0), confusion[:n, :].sum(axis=1)
    return 2 * hits / np.maximum(true_totals + predicted_totals, 1), hits / np.maximum(true_totals, 1)


def _summary(f1: np.ndarray, recall: np.ndarray, true_totals: np.ndarray) -> dict:
    present = true_totals > 0
    return {"mean_f1": round(float(f1[present].mean()), 4), "min_recall": round(float(recall[present].min()), 4),
            "mean_recall": round(float(recall[present].mean()), 4)}


def tune_confidence(model: str, folder: Path, split: str | None = "val", registry: Path = REGISTRY_DIR,
                    backend: str = "auto", record: bool = False, per_class: bool = False,
                    min_recall: float | None = None,
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
    one. Those thresholds are kept whatever they cost in F1; the result says what they cost."""
    if min_recall is not None and not 0.0 < min_recall <= 1.0:
        raise ValueError(f"min_recall must be in (0, 1], got {min_recall}")
    per_class = per_class or min_recall is not None
    from models.registry import load_detector

    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    detector = load_detector(str(card_path), backend=backend, confidence=_SWEEP_FLOOR)
    n = len(card.classes)
    ids = card.item_ids
    per_image = list(detected_and_true(detector, ids, find_images(folder, split)))
    true_totals = np.bincount(np.concatenate([truth.classes for *_, truth in per_image] or [[]]).astype(int),
                              minlength=n)
    rows, f1_by_threshold, recall_by_threshold = [], [], []
    for threshold in thresholds:
        f1, recall = _scores_at(per_image, n, np.full(n, threshold))
        f1_by_threshold.append(f1)
        recall_by_threshold.append(recall)
        rows.append({"confidence": float(threshold), **_summary(f1, recall, true_totals)})
    best = max(rows, key=lambda row: (row["mean_f1"], row["confidence"]))  # on a tie, the stricter threshold
    class_confidence: dict[str, float] = {}
    combined = None
    if per_class:
        f1_by_threshold = np.array(f1_by_threshold)  # (thresholds, classes)
        recall_by_threshold = np.array(recall_by_threshold)
        for i, item_id in enumerate(ids):
            if true_totals[i] < _PER_CLASS_MIN_INSTANCES:
                continue
            # the last maximum along the sweep: on a tie, the stricter threshold
            own_index = len(thresholds) - 1 - int(np.argmax(f1_by_threshold[::-1, i]))
            if min_recall is not None and recall_by_threshold[own_index, i] < min_recall:
                reaching = np.nonzero(recall_by_threshold[:own_index + 1, i] >= min_recall)[0]
                own_index = int(reaching.max()) if reaching.size else 0
            own = float(thresholds[own_index])
            if own != best["confidence"]:
                class_confidence[item_id] = own
        vector = np.array([class_confidence.get(item_id, best["confidence"]) for item_id in ids])
        combined = _summary(*_scores_at(per_image, n, vector), true_totals)
        # classes interact through matching: check the whole (a recall floor is kept whatever it costs)
        if min_recall is None and combined["mean_f1"] <= best["mean_f1"]:
            class_confidence = {}
    if record:
        write_card(card.model_copy(update={"confidence": best["confidence"], "class_confidence": class_confidence}),
                   card_path)
    return {"chosen": best, "previous": card.confidence, "images": len(per_image), "sweep": rows,
            "class_confidence": class_confidence, "combined": combined, "min_recall": min_recall}


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
                       for name in names])
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


# -- export -------------------------------------------------------------------------------------
def scaled_input_hw(input_hw: tuple[int, int], imgsz: int, stride: int = 32) -> tuple[int, int]:
    """The (height, width) input of the same aspect with long side `imgsz`, rounded up to the stride."""
    height, width = input_hw
    scale = imgsz / max(height, width)
    return (math.ceil(height * scale / stride) * stride, math.ceil(width * scale / stride) * stride)


def export_onnx(model: str, registry: Path = REGISTRY_DIR, opset: int = 17, imgsz: int | None = None) -> Path:
    """Export the card's PyTorch weights to ONNX next to them and record it in the card.

    `imgsz` changes the size the model runs at (both backends: the card's imgsz and input_hw, the
    aspect kept) before exporting: a detector trained at 640 finds more small items when the frame
    is given to it larger, for more time per frame. Choose it on a validation split; the card's
    metrics are cleared, as they were measured at the old size."""
    import torch

    from ultralytics import YOLO

    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    if imgsz is not None and imgsz != card.imgsz:
        if imgsz < 32 or imgsz % 32:
            raise ModelError(f"imgsz must be a multiple of the network stride 32, got {imgsz}", str(card_path))
        input_hw = scaled_input_hw(card.input_hw, imgsz) if card.input_hw else None
        # the card's metrics were measured at the old size: they no longer describe it (re-run evaluate,
        # and tune-confidence: scores change with the size too)
        card = card.model_copy(update={"imgsz": imgsz, "input_hw": input_hw, "metrics": {}})
    network = YOLO(str(card_path.parent / card.weights)).model.float().eval()
    for module in network.modules():  # export-friendly head: one (1, 4 + nc, anchors) output
        if hasattr(module, "export"):
            module.export = True
        if hasattr(module, "format"):
            module.format = "onnx"
    target = card_path.parent / (Path(card.weights).stem + ".onnx")
    dummy = torch.zeros(1, 3, *card.network_input)
    torch.onnx.export(network, dummy, str(target), opset_version=opset, input_names=["images"],
                      output_names=["output0"], dynamo=False)
    # ONNX Runtime is the faster CPU backend here (bench/detector_backends.py), so it becomes the default
    updated = card.model_copy(update={"onnx": target.name, "onnx_sha256": sha256_of(target), "default_backend": "onnx"})
    write_card(updated, card_path)
    return target
