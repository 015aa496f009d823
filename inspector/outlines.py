"""Item outlines from the photo itself, for detections that come with a box only.

A box does not say which way a flat item is turned: a brochure turned 30 deg and a larger one kept
square have nearly the same box, and their front margins differ by centimetres (see
`inspector.footprint`). The pixels inside the box do say it. Each box seeds a GrabCut
segmentation (OpenCV: colour models of the item and of its surroundings, refined by a graph cut),
whose convex hull is the item's outline as a segmentation model would give it; the placement then
takes the item's turn from that outline instead of guessing it.

GrabCut knows nothing of desks, so an outline is only kept when it agrees with its box: a true
outline touches every side of its own box and fills a fair part of it. Shadows, a desk of the
item's colour or a neighbour inside the box make it disagree, and the item is placed from its box
alone, as before. Boxes cut off by the image border and boxes too small to segment get none;
inspect() asks only for flat, not round items (see footprint.outline_helps).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from inspector.records import Detection

Outline = tuple[tuple[float, float], ...]
# image, detections -> per detection an outline or None (see find_outlines)
OutlineFinder = Callable[[np.ndarray, Sequence[Detection]], tuple["Outline | None", ...]]

_MARGIN_PX = 8  # background ring around the box that GrabCut learns the surroundings from
_ITERATIONS = 1
# larger boxes are segmented at this size: cost grows with pixels, the turn does not. Measured
# (bench/geometry_accuracy.py --photo-outlines, seed 7, 2 x 60 scenes): 64 px and 1 iteration cost
# 2.4 ms an outline against 5.8 ms at 96 px and 2 iterations, front-margin error median 0.196 vs
# 0.195 cm, p95 1.24 vs 1.31 cm; 48 px lost outlines (86 % kept vs 88 %)
_MAX_SIDE_PX = 64
_MIN_SIDE_PX = 8
_BORDER_PX = 2.0
_SIDE_TOLERANCE = 0.2  # of the box size (at least _SIDE_TOLERANCE_PX): how far the outline may stop short of a side
_SIDE_TOLERANCE_PX = 3.0
_MIN_FILL = 0.25  # of the box area
_GRABCUT_SEED = 12345


def _window(image: np.ndarray, box, margin_x: float, margin_y: float) -> tuple[int, int, np.ndarray]:
    """The box grown by the margins, clipped to the image (never empty): left, top and the pixels."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = box
    left, top = min(max(int(x1 - margin_x), 0), width - 1), min(max(int(y1 - margin_y), 0), height - 1)
    right = max(min(int(math.ceil(x2 + margin_x)), width), left + 1)
    bottom = max(min(int(math.ceil(y2 + margin_y)), height), top + 1)
    return left, top, image[top:bottom, left:right]


def _segment(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
    """Foreground pixel coordinates (N, 2) of GrabCut seeded with `box`, in image px, or None."""
    x1, y1, x2, y2 = box
    scale = min(1.0, _MAX_SIDE_PX / max(x2 - x1, y2 - y1))
    margin = _MARGIN_PX / scale  # the same ring in working pixels whatever the scale
    left, top, roi = _window(image_bgr, box, margin, margin)
    if scale < 1.0:
        roi = cv2.resize(roi, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    rect_x, rect_y = int(round((x1 - left) * scale)), int(round((y1 - top) * scale))
    rect = (rect_x, rect_y, max(int(round((x2 - x1) * scale)), 1), max(int(round((y2 - y1) * scale)), 1))
    mask = np.zeros(roi.shape[:2], np.uint8)
    # GrabCut starts its colour models with k-means on OpenCV's per-thread RNG: seeded, the outline
    # depends on these pixels alone, not on what the thread segmented before
    cv2.setRNGSeed(_GRABCUT_SEED)
    try:
        cv2.grabCut(roi, mask, rect, np.zeros((1, 65)), np.zeros((1, 65)), _ITERATIONS, cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # too few pixels for its colour models
        return None
    ys, xs = np.nonzero((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD))
    if len(xs) < 3:
        return None
    return np.column_stack([xs / scale + left, ys / scale + top])


def _agrees_with_box(hull: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    x1, y1, x2, y2 = box
    tolerance_x = max(_SIDE_TOLERANCE_PX, _SIDE_TOLERANCE * (x2 - x1))
    tolerance_y = max(_SIDE_TOLERANCE_PX, _SIDE_TOLERANCE * (y2 - y1))
    (hx1, hy1), (hx2, hy2) = hull.min(axis=0), hull.max(axis=0)
    if abs(hx1 - x1) > tolerance_x or abs(hx2 - x2) > tolerance_x or abs(hy1 - y1) > tolerance_y or abs(hy2 - y2) > tolerance_y:
        return False
    return cv2.contourArea(hull.astype(np.float32)) >= _MIN_FILL * (x2 - x1) * (y2 - y1)


def outline_from_photo(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> Outline | None:
    """The item's outline (convex hull, image px) inside its box, or None where the photo does not
    give one that agrees with the box."""
    height, width = image_bgr.shape[:2]
    x1, y1, x2, y2 = box
    if min(x2 - x1, y2 - y1) < _MIN_SIDE_PX:
        return None
    if x1 <= _BORDER_PX or y1 <= _BORDER_PX or x2 >= width - _BORDER_PX or y2 >= height - _BORDER_PX:
        return None  # cut off by the frame: the outline is cut off too
    foreground = _segment(image_bgr, box)
    if foreground is None:
        return None
    hull = cv2.convexHull(foreground.astype(np.float32)).reshape(-1, 2).astype(float)
    if len(hull) < 3 or not _agrees_with_box(hull, box):
        return None
    return tuple((round(float(x), 1), round(float(y), 1)) for x, y in hull)


def find_outlines(image_bgr: np.ndarray, detections: Sequence[Detection]) -> tuple[Outline | None, ...]:
    """Per detection, its outline found in the photo, or None. The default OutlineFinder of
    inspect(), which asks only for the detections an outline can help (footprint.outline_helps)."""
    return tuple(outline_from_photo(image_bgr, d.bbox_px) for d in detections)


_MEMORY_FRAMES = 4  # how many recent photos' outlines a memory keeps


def _content_key(image_bgr: np.ndarray, detection: Detection) -> bytes:
    """What an outline is a function of: the class, the exact box and the exact pixels GrabCut
    reads (the box and its ring)."""
    x1, y1, x2, y2 = detection.bbox_px
    scale = min(1.0, _MAX_SIDE_PX / max(x2 - x1, y2 - y1, 1e-9))
    margin = _MARGIN_PX / scale
    _, _, window = _window(image_bgr, detection.bbox_px, margin, margin)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((detection.class_name, tuple(float(v) for v in detection.bbox_px), window.shape)).encode())
    digest.update(np.ascontiguousarray(window).data)
    return digest.digest()


class OutlineMemory:
    """An OutlineFinder for one fixed camera that remembers the outlines of its recent photos.

    A verdict must be a function of the photo, the camera, the standard and the model alone, never
    of what the batch inspected before (a killed-and-resumed or reordered night must give the same
    reports). So an outline is reused only for the same class, the same box to the last bit and
    the same pixels under it (a content hash): exactly what finding it again would give, since
    GrabCut is seeded. A still camera whose frames repeat bit for bit (a paused stream, a frame
    submitted twice) saves GrabCut; a noisy one finds its outlines again. One per camera and
    process; not shared between threads."""

    def __init__(self, finder: OutlineFinder = find_outlines, frames: int = _MEMORY_FRAMES):
        self._finder = finder
        self._frames = frames
        self._known: dict[bytes, Outline | None] = {}
        self._recent: list[list[bytes]] = []
        self.reused = 0
        self.found = 0

    def __call__(self, image_bgr: np.ndarray, detections: Sequence[Detection]) -> tuple[Outline | None, ...]:
        keys = [_content_key(image_bgr, d) for d in detections]
        new = [i for i, key in enumerate(keys) if key not in self._known]
        found = dict(zip(new, self._finder(image_bgr, [detections[i] for i in new]))) if new else {}
        outlines = tuple(found[i] if i in found else self._known[key] for i, key in enumerate(keys))
        self.reused += len(detections) - len(new)
        self.found += len(new)
        for key, outline in zip(keys, outlines):
            self._known[key] = outline
        self._recent.append(keys)
        while len(self._recent) > self._frames:  # forget what no recent photo needed
            keep = {key for frame in self._recent[1:] for key in frame}
            for key in self._recent.pop(0):
                if key not in keep:
                    self._known.pop(key, None)
        return outlines
