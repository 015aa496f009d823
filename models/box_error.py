"""How far a detector's box sides fall from the labelled ones, per class: the box term of an item's
uncertainty (inspector.uncertainty.BoxError).

- Matching: on each image, predictions (at the card's thresholds, through the product's detector
  path) are taken most confident first; each takes the unmatched true box of its own class that it
  overlaps most, if IoU >= 0.5 (evaluation's greedy matching, class by class). Only matched pairs
  are measured: a missed or false box is recall's and precision's business, not the box error's.
- Errors: per side, pred - true, divided by the TRUE box's width (left, right) or height (top,
  bottom): "x" and "y" groups, each side of each pair one value.
- Per class and group, a robust sigma with the bias folded in: hypot(median, half the 16-84 %
  range); for a normal error that is its RMS, and a few wild boxes (a label off its item) move it
  little. Also the 95th percentile of |error| over all four sides, which shows the tails.
- Floor: the same robust sigma in px of the sides of small boxes (under 40 px on that side), all
  classes together; at that size a box is a few pixels off whatever its class. It holds the
  relative part too, so hypot(floor, rel * size) counts small boxes a little twice: on the safe
  side. Fewer than 20 such sides in every set: 1.0 px.
- Sets combined: per class and group the larger sigma of the sets where the class has >= 10
  matches; classes with fewer everywhere take the pooled figure (all classes of a set together,
  again the larger over the sets).
- Partial labels (real photos): a class its image's source does not label is judged neither way
  (models/evaluation.py: its predictions and boxes are left out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from inspector.errors import ModelError
from models.evaluation import _greedy_match, detect_folder, folder_classes, labelled_classes_by_source
from models.registry import (REGISTRY_DIR, CardBoxError, CombinedBoxError, SetBoxError, SideErrorStats, read_card,
                             resolve_card, write_card)

IOU_THRESHOLD = 0.5
MIN_MATCHES = 10  # fewer matched boxes of a class in a set and its percentiles are noise
SMALL_BOX_PX = 40.0  # a side of a box under this size (true width or height) counts for the floor
MIN_SMALL_SIDES = 20
FALLBACK_FLOOR_PX = 1.0
_DIGITS = 4  # relative figures; 1e-4 of a box is far under a pixel


# -- matched pairs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoxPairs:
    """Matched boxes: class names and the predicted and true boxes (xyxy px), in parallel."""

    classes: tuple[str, ...]
    pred_px: np.ndarray  # (N, 4)
    true_px: np.ndarray  # (N, 4)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, Sequence[float], Sequence[float]]]) -> "BoxPairs":
        rows = list(rows)
        return cls(tuple(name for name, _, _ in rows),
                   np.array([pred for _, pred, _ in rows], dtype=float).reshape(-1, 4),
                   np.array([true for _, _, true in rows], dtype=float).reshape(-1, 4))

    @classmethod
    def concat(cls, parts: Iterable["BoxPairs"]) -> "BoxPairs":
        parts = list(parts)
        return cls(tuple(name for part in parts for name in part.classes),
                   np.concatenate([part.pred_px for part in parts] or [np.zeros((0, 4))]),
                   np.concatenate([part.true_px for part in parts] or [np.zeros((0, 4))]))

    def __len__(self) -> int:
        return len(self.classes)

    def of_class(self, name: str) -> "BoxPairs":
        mask = np.array([c == name for c in self.classes], dtype=bool)
        return BoxPairs(tuple(c for c in self.classes if c == name), self.pred_px[mask], self.true_px[mask])

    def side_errors_px(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) signed errors of the left/right and (N, 2) of the top/bottom sides, px."""
        error = self.pred_px - self.true_px
        return error[:, [0, 2]], error[:, [1, 3]]

    def true_sizes_px(self) -> tuple[np.ndarray, np.ndarray]:
        return self.true_px[:, 2] - self.true_px[:, 0], self.true_px[:, 3] - self.true_px[:, 1]

    def relative_errors(self) -> tuple[np.ndarray, np.ndarray]:
        """Side errors over the true box's width (x: 2N values) and height (y: 2N values)."""
        error_x, error_y = self.side_errors_px()
        width, height = self.true_sizes_px()
        return (error_x / width[:, None]).ravel(), (error_y / height[:, None]).ravel()


def match_pairs(pred_boxes, pred_classes, pred_scores, true_boxes, true_classes, class_names: Sequence[str],
                iou_threshold: float = IOU_THRESHOLD) -> BoxPairs:
    """One image's matched pairs: per class, predictions most confident first each take the
    unmatched true box of that class they overlap most, at IoU >= iou_threshold. Classes are
    indices into class_names."""
    pred_boxes, true_boxes = np.asarray(pred_boxes, float).reshape(-1, 4), np.asarray(true_boxes, float).reshape(-1, 4)
    pred_classes, true_classes = np.asarray(pred_classes, int), np.asarray(true_classes, int)
    order = np.argsort(-np.asarray(pred_scores, float), kind="stable")
    pred_boxes, pred_classes = pred_boxes[order], pred_classes[order]
    rows = []
    for c in np.intersect1d(pred_classes, true_classes):
        preds, truths = pred_boxes[pred_classes == c], true_boxes[true_classes == c]
        taken = _greedy_match(preds, truths, iou_threshold)
        rows += [(class_names[c], preds[k], truths[t]) for k, t in enumerate(taken) if t >= 0]
    return BoxPairs.of(rows)


# -- statistics ---------------------------------------------------------------------------------
def robust_sigma(errors: np.ndarray) -> float:
    """hypot(median, half the 16-84 % range): the spread of a normal error, with its bias."""
    low, median, high = np.percentile(errors, [16, 50, 84])
    return float(np.hypot(median, (high - low) / 2))


def side_stats(pairs: BoxPairs) -> SideErrorStats | None:
    """The statistics of a group of matched pairs (None when there is none)."""
    if not len(pairs):
        return None
    rel_x, rel_y = pairs.relative_errors()
    r = lambda value: round(float(value), _DIGITS)  # noqa: E731
    return SideErrorStats(n=len(pairs), rel_x=r(robust_sigma(rel_x)), rel_y=r(robust_sigma(rel_y)),
                          bias_x=r(np.median(rel_x)), bias_y=r(np.median(rel_y)),
                          p95=r(np.percentile(np.abs(np.concatenate([rel_x, rel_y])), 95)))


def class_stats(pairs: BoxPairs, class_order: Sequence[str] = ()) -> dict[str, SideErrorStats]:
    """Per class with matches the statistics of its pairs, in class_order (others after, as met)."""
    names = [name for name in class_order if name in pairs.classes] + list(dict.fromkeys(pairs.classes))
    return {name: side_stats(pairs.of_class(name)) for name in dict.fromkeys(names)}


def small_box_floor_px(pairs: BoxPairs, small_px: float = SMALL_BOX_PX,
                       min_sides: int = MIN_SMALL_SIDES) -> tuple[float | None, int]:
    """(robust sigma px of the sides of boxes under small_px on that side, all classes, or None
    when fewer than min_sides; how many sides)."""
    error_x, error_y = pairs.side_errors_px()
    width, height = pairs.true_sizes_px()
    small = np.concatenate([error_x[width < small_px].ravel(), error_y[height < small_px].ravel()])
    if len(small) < min_sides:
        return None, len(small)
    return round(robust_sigma(small), 3), len(small)


def set_box_error(pairs: BoxPairs, dataset: str, split: str | None, images: int,
                  class_order: Sequence[str] = ()) -> SetBoxError:
    floor, small_sides = small_box_floor_px(pairs)
    return SetBoxError(dataset=dataset, split=split, images=images, floor_px=floor, small_sides=small_sides,
                       pooled=side_stats(pairs), per_class=class_stats(pairs, class_order))


def combine(sets: Mapping[str, SetBoxError], source: str, min_matches: int = MIN_MATCHES) -> CombinedBoxError:
    """Per class the larger sigma of the sets where it has min_matches; the pooled figure (the
    larger over the sets) for all others; the larger floor (FALLBACK_FLOOR_PX when none)."""
    pooled = [s.pooled for s in sets.values() if s.pooled is not None and s.pooled.n >= min_matches]
    if not pooled:
        raise ModelError(f"fewer than {min_matches} matched boxes in every set: nothing to measure the box error on",
                         ", ".join(s.dataset for s in sets.values()))
    rel: dict[str, tuple[float, float]] = {}
    for s in sets.values():
        for name, stats in s.per_class.items():
            if stats.n >= min_matches:
                x, y = rel.get(name, (0.0, 0.0))
                rel[name] = (max(x, stats.rel_x), max(y, stats.rel_y))
    floors = [s.floor_px for s in sets.values() if s.floor_px is not None]
    return CombinedBoxError(floor_px=max(floors, default=FALLBACK_FLOOR_PX),
                            default_rel=(max(p.rel_x for p in pooled), max(p.rel_y for p in pooled)),
                            rel=rel, source=source)


# -- measuring a model --------------------------------------------------------------------------
def folder_pairs(detector, class_names: list[str], folder: Path, split: str | None) -> tuple[BoxPairs, int]:
    """(matched pairs, images) of a labelled folder, judged by source where its labels are partial."""
    partial = labelled_classes_by_source(folder, len(class_names))
    results = detect_folder(detector, class_names, folder, split, partial)
    parts = []
    for result in results:
        truth_classes = result.truth.classes
        inside = truth_classes < len(class_names)
        judged = np.zeros(len(truth_classes), dtype=bool)
        judged[inside] = result.labelled[truth_classes[inside]]  # a class its source does not label: neither way
        parts.append(match_pairs(result.boxes, result.classes, result.scores, result.truth.boxes[judged],
                                 truth_classes[judged], class_names))
    return BoxPairs.concat(parts), len(results)


def measure_box_error(model: str, sets: Sequence[tuple[str, Path]], split: str | None = "val",
                      registry: Path = REGISTRY_DIR, backend: str = "auto", record: bool = False) -> CardBoxError:
    """Run the model as the product runs it (the card's backend and thresholds) over each labelled
    set (name, folder), measure its box side errors and combine them; `record` writes them into
    the card (replacing any it had)."""
    from models.registry import load_detector  # looked up per call, as evaluation does (tests script it)

    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    detector = load_detector(str(card_path), backend=backend)
    measured = {}
    for name, folder in sets:
        names = folder_classes(card, folder)
        pairs, images = folder_pairs(detector, names, folder, split)
        measured[name] = set_box_error(pairs, str(folder), split, images, names)
    now = datetime.now(timezone.utc)
    sets_text = " + ".join(f"{name} ({s.images} images)" for name, s in measured.items())
    source = (f"{card.name} {card.version} on {sets_text}, {now.date().isoformat()}: per class the larger of the "
              f"sets with {MIN_MATCHES}+ matches, else all classes pooled")
    result = CardBoxError(measured_at=now.isoformat(timespec="seconds"), iou_threshold=IOU_THRESHOLD, sets=measured,
                          combined=combine(measured, source))
    if record:
        write_card(read_card(card_path).model_copy(update={"box_error": result}), card_path)
    return result
