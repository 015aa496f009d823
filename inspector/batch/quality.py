"""Night-time checks made before a frame is judged: too dark, too blurred, camera moved, desk hidden.

Each check measures one number and compares it with a limit from the site file (`QualitySpec`);
the verdict carries every measured value, and its reason names the value and the limit. A frame
that fails is recorded with its status ("cannot_judge", "camera_moved", "occluded"), never
judged, so a dark or hidden desk is never reported as a violation.

All image measurements are made on a copy scaled to `WORK_WIDTH_PX` (cheap and less noisy);
distances are reported in full-size pixels.

- luminance: mean grey level over the desk top;
- sharpness: variance of the Laplacian over the whole frame (the static hall, not the desk, whose
  contents change), also as a ratio to the reference frame's;
- camera steady (the common case, checked first because it is cheap): the static hall's edges
  correlated with the reference's at no offset and one pixel either way, the left and right halves
  apart (a turn or a zoom moves them apart); both peaking in place within half a working pixel
  mean the camera has not moved and the frame is already aligned. Anything else goes on to:
- camera moved: ORB features of the static hall (outside the space items can take) matched to the
  reference frame kept at calibration time, a RANSAC homography, and how far it moves the desk
  corners (px, and cm on the desk); where the hall has too little fixed texture to match, the
  reference's desk outline is slid over the frame's edges and the offset where most of it shows
  measures the shift (a translation: a pure turn of the camera is caught by the features only);
- occluded: with the frame aligned to the reference, the view is cut into cells and each compared
  with the reference (zero-mean normalised correlation; brightness for flat cells); a changed area
  that covers the desk and reaches well outside the space items on the desk can take (the desk
  raised to ITEM_HEIGHT_CM through the camera pose) is something between camera and desk: its share
  of the desk is "hidden". Items moved, added or removed never count, however many. The share of
  the reference's desk outline still visible is a second sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from inspector.batch.site import QualitySpec
from inspector.geometry import densify

WORK_WIDTH_PX = 640
CELL_PX = 12  # occlusion grid cell, at the working scale
_MIN_CELL_INSIDE = 0.6  # a cell counts as desk when this share of it lies inside the desk outline
_FLAT_STD = 4.0  # grey-level standard deviation (after smoothing) below which a cell is flat
_TEXTURED_STD = 8.0  # ... above which it has texture to correlate
_MIN_ZNCC = 0.3  # textured cells correlating less than this have changed
_MAX_FLAT_DIFF = 35.0  # cells whose brightness differs more than this have changed
ITEM_HEIGHT_CM = 60.0  # the tallest item expected on a counter (a monitor is about 45 cm)
_MIN_OUTSIDE_SHARE = 0.05  # a changed area reaching this far (share of the desk's cells) outside the item space hides the desk
_RATIO_TEST = 0.75  # Lowe's ratio test for ORB matches
_RANSAC_PX = 3.0  # at the working scale
_OUTLINE_STEP_PX = 3.0
_OUTLINE_MIN_EDGE = 30.0  # gradient magnitude of a visible desk edge in the reference frame
_OUTLINE_KEEP = 0.35  # the frame keeps an outline point when its edge is this strong relative to the reference
_STRONG_MATCHES = 3  # this many times min_matches RANSAC inliers: the homography alone is trusted
_BETTER_FIT = 0.02  # correlation gain that shows an estimated camera move is real
_OUTLINE_SEARCH_PX = 24  # how far (working scale) the desk outline is searched for when features match weakly
_OUTLINE_FOUND = 0.3  # less of the outline than this at any offset: the desk is not in view
_OUTLINE_TIE = 0.05  # the calibrated place wins unless another offset shows this much more of the outline
# ...and unless less than this share of it is still in place: a moved camera takes the outline away
# from its calibrated place, while a desk with parallel edges nearby shows it at both
_OUTLINE_STILL_IN_PLACE = 0.75
# camera steady: each half of the static hall within this many working px of the reference, its
# edges correlating at least this well there
_STEADY_MAX_SHIFT_PX = 0.5
_STEADY_MIN_ZNCC = 0.5
_STEADY_MIN_STATIC_SHARE = 0.1  # of a half's pixels: less static hall than this cannot tell


@dataclass(frozen=True)
class QualityVerdict:
    status: str  # "ok" | "cannot_judge" | "camera_moved" | "occluded"
    reason: str  # empty when ok
    metrics: dict[str, float | int | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _scale_for(width_px: int) -> float:
    return min(1.0, WORK_WIDTH_PX / float(width_px))


def _small_gray(image: np.ndarray, scale: float) -> np.ndarray:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if scale >= 1.0:
        return gray
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def desk_outline_px(camera, scale: float = 1.0, step_cm: float = 2.0) -> np.ndarray:
    """The desk outline in image pixels (lens distortion followed), times `scale`."""
    outline_cm = np.asarray(camera.desk.outline_cm.exterior.coords)[:-1]
    return camera.desk_to_image(densify(outline_cm, step_cm)) * scale


def desk_corners_px(camera) -> np.ndarray:
    return camera.desk_to_image(np.asarray(camera.desk.outline_cm.exterior.coords)[:-1])


def _mask_from_polygon(polygon_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(polygon_px).astype(np.int32)], 255)
    return mask


def luminance(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean grey level (0..255) inside the mask (or the whole image)."""
    if mask is not None and mask.any():
        return float(cv2.mean(gray, mask=mask)[0])
    return float(gray.mean())


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian of the frame brought to a mean grey of 128: high for crisp edges,
    near zero for a blurred or flat frame. The brightness normalisation keeps a dimmer (but sharp)
    night frame from reading as blurred: the raw variance falls with the square of the brightness."""
    mean = float(gray.mean())
    _, std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_32F, ksize=3))
    return float(std[0, 0]) ** 2 * (128.0 / max(mean, 1.0)) ** 2


def _orb():
    return cv2.ORB_create(nfeatures=600, scaleFactor=1.2, nlevels=8, fastThreshold=10)


@dataclass
class Reference:
    """The reference frame of one camera, prepared once per worker: features, desk mask, outline edges."""

    scale: float
    gray: np.ndarray
    desk_mask: np.ndarray
    keypoints_xy: np.ndarray
    descriptors: np.ndarray | None
    sharpness: float
    luminance: float
    outline_px: np.ndarray  # outline points at the working scale where the reference shows an edge
    outline_strength: np.ndarray
    outline_normals: np.ndarray
    item_zone: np.ndarray  # where items on the desk can appear
    static_mask: np.ndarray  # the rest of the view, where features are matched

    @cached_property
    def cells(self) -> "CellStats":  # prepared once: every frame of the night is compared with it
        return CellStats.of(self.gray)

    @cached_property
    def desk_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Per occlusion-grid cell: on the desk top, and in the space items on the desk can take."""
        ny, nx = self.gray.shape[0] // CELL_PX, self.gray.shape[1] // CELL_PX
        inside = _cell_means(self.desk_mask.astype(np.float32) / 255.0, ny, nx) >= _MIN_CELL_INSIDE
        in_zone = _cell_means(self.item_zone.astype(np.float32) / 255.0, ny, nx) >= 0.5
        return inside, in_zone

    @cached_property
    def steady_samples(self) -> tuple[tuple[np.ndarray, np.ndarray], ...] | None:
        """Per half of the view (left, right): where the static hall is sampled (flat pixel indices,
        every other pixel, away from the border) and the reference's smoothed edges there, zero-mean
        and of unit norm; None when a half has too little static hall to tell."""
        edges = _smooth_edges(_gradients(self.gray))
        static = cv2.erode((self.static_mask > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
        static[:1], static[-1:], static[:, :1], static[:, -1:] = 0, 0, 0, 0  # room for the one-pixel offsets
        halves = []
        for part in _halves(edges.shape[1]):
            keep = np.zeros_like(static)
            keep[::2, part][:, ::2] = static[::2, part][:, ::2]
            if keep[:, part].mean() * 4 < _STEADY_MIN_STATIC_SHARE:
                return None
            index = np.flatnonzero(keep)
            values = edges.ravel()[index] - edges.ravel()[index].mean()
            halves.append((index, values / max(float(np.linalg.norm(values)), 1e-9)))
        return tuple(halves)

    def outline_in_place(self, gray: np.ndarray, magnitude: np.ndarray | None = None) -> float | None:
        """Share of the reference's desk outline still found where the calibration puts it
        (`magnitude`: the frame's gradients, when already computed)."""
        if len(self.outline_px) < 20:
            return None
        strength = _edge_strength(_gradients(gray) if magnitude is None else magnitude, self.outline_px, self.outline_normals)
        return float(np.mean(strength >= _OUTLINE_KEEP * self.outline_strength))

    @classmethod
    def build(cls, image: np.ndarray, camera) -> "Reference":
        scale = _scale_for(image.shape[1])
        gray = _small_gray(image, scale)
        outline = desk_outline_px(camera, scale)
        mask = _mask_from_polygon(outline, gray.shape)
        item_zone = _item_zone_mask(camera, scale, gray.shape)
        # features of the static hall only: items come and go, so they would match nothing or mislead
        static = cv2.bitwise_not(cv2.dilate(item_zone, np.ones((9, 9), np.uint8)))
        keypoints, descriptors = _orb().detectAndCompute(gray, static)
        xy = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
        points, normals = _outline_samples(camera, scale)
        strength = _edge_strength(_gradients(gray), points, normals)
        keep = strength >= _OUTLINE_MIN_EDGE
        return cls(scale, gray, mask, xy, descriptors, sharpness(gray), luminance(gray, mask),
                   points[keep], strength[keep], normals[keep], item_zone, static)


def _outline_samples(camera, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Points along the desk outline at the working scale, and the unit normal of their edge."""
    corners = np.asarray(camera.desk.outline_cm.exterior.coords)[:-1]
    points, normals = [], []
    for a, b in zip(corners, np.roll(corners, -1, axis=0)):
        a_px, b_px = camera.desk_to_image(np.array([a, b])) * scale
        n = max(int(np.linalg.norm(b_px - a_px) / _OUTLINE_STEP_PX), 2)
        ts = np.linspace(0.0, 1.0, n + 2)[1:-1]  # skip the corners: two edges meet there
        cm = a[None, :] + (b - a)[None, :] * ts[:, None]
        px = camera.desk_to_image(cm) * scale
        tangent = np.gradient(px, axis=0)
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
        points.append(px)
        normals.append(np.stack([-tangent[:, 1], tangent[:, 0]], axis=1))
    return np.concatenate(points), np.concatenate(normals)


def _halves(width: int) -> tuple[slice, slice]:
    return slice(0, width // 2), slice(width // 2, width)


def _smooth_edges(magnitude: np.ndarray) -> np.ndarray:
    # edges, not grey levels: smooth shading correlates as well shifted as not
    return cv2.GaussianBlur(magnitude, (0, 0), 1.0)


def _peak_offset(below: float, at: float, above: float) -> float:
    """Sub-pixel place of a correlation peak from its values at -1, 0 and +1 px (a parabola)."""
    curvature = below - 2.0 * at + above
    return 0.5 * (below - above) / curvature if curvature < 0 else 0.0


def steady_shift(reference: Reference, magnitude: np.ndarray) -> tuple[float, float] | None:
    """(largest shift of either half of the static hall, working px; its weaker correlation) when
    the camera is steady: in both halves the frame's edges correlate with the reference's best at
    no offset, at least _STEADY_MIN_ZNCC, and the sub-pixel peak lies within _STEADY_MAX_SHIFT_PX.
    Else None: the camera may have moved (a bump shifts both halves, a turn or a zoom moves them
    apart) or the view cannot tell, and the full feature-matching check decides."""
    samples = reference.steady_samples
    if samples is None or magnitude.shape != reference.gray.shape:
        return None
    edges = _smooth_edges(magnitude).ravel()
    width = magnitude.shape[1]
    shifts, peaks = [], []
    for index, ref_values in samples:
        zncc = []
        for offset in (0, -1, 1, -width, width):  # here, left, right, up, down
            values = edges[index + offset]
            values = values - values.mean()
            zncc.append(float(ref_values @ values) / max(float(np.linalg.norm(values)), 1e-9))
        here, left, right, up, down = zncc
        if here < _STEADY_MIN_ZNCC or here < max(left, right, up, down):
            return None
        shifts.append(math.hypot(_peak_offset(left, here, right), _peak_offset(up, here, down)))
        peaks.append(here)
    if max(shifts) > _STEADY_MAX_SHIFT_PX:
        return None
    return max(shifts), min(peaks)


def _gradients(gray: np.ndarray) -> np.ndarray:
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _edge_strength(magnitude: np.ndarray, points: np.ndarray, normals: np.ndarray, reach_px: int = 2) -> np.ndarray:
    """Strongest gradient within `reach_px` of each point across its edge (calibration is not exact)."""
    h, w = magnitude.shape
    best = np.zeros(len(points), dtype=np.float32)
    for offset in range(-reach_px, reach_px + 1):
        xy = np.round(points + normals * offset).astype(int)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
        values = np.zeros(len(points), dtype=np.float32)
        values[inside] = magnitude[xy[inside, 1], xy[inside, 0]]
        best = np.maximum(best, values)
    return best


@dataclass(frozen=True)
class Shift:
    matches: int  # RANSAC inliers
    homography: np.ndarray | None  # reference (working scale) -> frame (working scale)
    shift_px: float | None  # largest desk-corner displacement, full-size px
    shift_cm: float | None  # the same on the desk plane, cm


def estimate_shift(reference: Reference, gray: np.ndarray, camera, min_matches: int) -> Shift:
    """Match the frame to the reference frame and measure how far the desk corners moved."""
    keypoints, descriptors = _orb().detectAndCompute(gray, reference.static_mask)
    if descriptors is None or reference.descriptors is None or len(keypoints) < 4:
        return Shift(0, None, None, None)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(reference.descriptors, descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO_TEST * p[1].distance]
    if len(good) < 4:
        return Shift(len(good), None, None, None)
    src = reference.keypoints_xy[[m.queryIdx for m in good]]
    dst = np.array([keypoints[m.trainIdx].pt for m in good], dtype=np.float32)
    homography, inliers = cv2.findHomography(src, dst, cv2.RANSAC, _RANSAC_PX)
    count = int(inliers.sum()) if inliers is not None else 0
    if homography is None or count < min_matches:
        return Shift(count, None, None, None)
    corners_full = desk_corners_px(camera)
    corners = corners_full * reference.scale
    moved = cv2.perspectiveTransform(corners.reshape(-1, 1, 2).astype(np.float64), homography).reshape(-1, 2)
    shift_px = float(np.max(np.linalg.norm(moved - corners, axis=1))) / reference.scale
    try:
        # where the desk corners now seen at those pixels would be placed by the old calibration
        placed = camera.image_to_desk(moved / reference.scale)
        true = np.asarray(camera.desk.outline_cm.exterior.coords)[:-1]
        shift_cm = float(np.max(np.linalg.norm(placed - true, axis=1)))
    except Exception:  # a wild homography can throw a corner behind the horizon
        shift_cm = None
    return Shift(count, homography, shift_px, shift_cm)


def _item_zone_mask(camera, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """Where items standing on the desk can appear in the image: the desk outline raised to
    ITEM_HEIGHT_CM (with the camera pose), else the desk region widened by a margin."""
    outline_cm = np.asarray(camera.desk.outline_cm.exterior.coords)[:-1]
    mask = _mask_from_polygon(desk_outline_px(camera, scale), shape)
    if camera.has_pose:
        try:
            raised = np.hstack([outline_cm, np.full((len(outline_cm), 1), ITEM_HEIGHT_CM)])
            points = np.vstack([camera.desk_to_image(outline_cm), camera.project(raised)]) * scale
            hull = cv2.convexHull(points.astype(np.float32))
            cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), 255)
            return mask
        except Exception:  # a raised corner behind the camera: fall back to the widened desk
            pass
    ys, _ = np.nonzero(mask)
    grow = max(3, int((ys.max() - ys.min()) * 0.3)) if len(ys) else 3
    return cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))


def _cell_means(image: np.ndarray, ny: int, nx: int) -> np.ndarray:
    """Mean of each CELL_PX x CELL_PX cell (exact: area resampling by a whole factor)."""
    crop = image[: ny * CELL_PX, : nx * CELL_PX]
    return cv2.resize(crop, (nx, ny), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class CellStats:
    """A frame cut into the occlusion grid (smoothed): each cell's mean and spread, and the
    smoothed frame itself (for the cell-wise correlation with another frame)."""

    smooth: np.ndarray  # (ny * CELL_PX, nx * CELL_PX) float64
    mean: np.ndarray  # (ny, nx)
    std: np.ndarray
    median: float

    @classmethod
    def of(cls, gray: np.ndarray) -> "CellStats":
        ny, nx = gray.shape[0] // CELL_PX, gray.shape[1] // CELL_PX
        blurred = np.ascontiguousarray(cv2.GaussianBlur(gray, (0, 0), 1.0)[: ny * CELL_PX, : nx * CELL_PX])
        smooth = blurred.astype(np.float64)
        mean = _cell_means(smooth, ny, nx)
        variance = np.maximum(_cell_means(smooth * smooth, ny, nx) - mean * mean, 0.0)
        return cls(smooth, mean, np.sqrt(variance), _median_grey(blurred))


def _median_grey(image: np.ndarray) -> float:
    """np.median of a uint8 image, from its histogram (no sort of every pixel)."""
    if image.dtype != np.uint8:
        return float(np.median(image))
    cumulative = np.cumsum(np.bincount(image.ravel(), minlength=256))
    n = image.size
    low = int(np.searchsorted(cumulative, (n - 1) // 2 + 1))  # the two middle order statistics
    high = int(np.searchsorted(cumulative, n // 2 + 1))
    return (low + high) / 2.0


def changed_cells(reference: np.ndarray | CellStats, frame: np.ndarray) -> np.ndarray:
    """Per grid cell: does the frame show something else than the reference there? Brightness is
    matched first (night lighting changes the level, not the layout) and noise smoothed away."""
    ref = reference if isinstance(reference, CellStats) else CellStats.of(reference)
    cur = CellStats.of(frame)
    gain = ref.median / max(cur.median, 1.0)
    cur_mean, cur_std = cur.mean * gain, cur.std * gain
    ny, nx = ref.mean.shape
    covariance = (_cell_means(ref.smooth * cur.smooth, ny, nx) - ref.mean * cur.mean) * gain
    zncc = covariance / np.maximum(ref.std * cur_std, 1e-6)
    both_textured = (ref.std >= _TEXTURED_STD) & (cur_std >= _TEXTURED_STD)
    # texture appearing or vanishing counts only when it is clearly there on one side (hysteresis)
    one_sided = ((ref.std < _FLAT_STD) & (cur_std >= 2 * _TEXTURED_STD)) | ((cur_std < _FLAT_STD) & (ref.std >= 2 * _TEXTURED_STD))
    return (both_textured & (zncc < _MIN_ZNCC)) | one_sided | (np.abs(cur_mean - ref.mean) > _MAX_FLAT_DIFF)


def hidden_desk(reference: Reference, aligned: np.ndarray, magnitude: np.ndarray | None = None) -> tuple[float, float, float | None]:
    """(share of the desk hidden by something between camera and desk, share of the desk changed,
    share of the desk outline still visible).

    A changed area counts as hiding the desk only when it reaches well outside the space where
    items on the desk can appear (`_item_zone_mask`): a person or a chair in front of the camera
    does; moved, added or removed items, however many, do not."""
    ny, nx = reference.gray.shape[0] // CELL_PX, reference.gray.shape[1] // CELL_PX
    if nx == 0 or ny == 0:
        return 0.0, 0.0, None
    inside, in_zone = reference.desk_cells
    n_desk = int(inside.sum())
    if n_desk == 0:
        return 0.0, 0.0, None
    changed = changed_cells(reference.cells, aligned)
    count, labels = cv2.connectedComponents(changed.astype(np.uint8), connectivity=4)
    hidden = 0
    min_outside = max(3, int(_MIN_OUTSIDE_SHARE * n_desk))
    for k in range(1, count):
        blob = labels == k
        on_desk = int((blob & inside).sum())
        if on_desk and int((blob & ~in_zone).sum()) >= min_outside:
            hidden += on_desk

    return hidden / n_desk, float((changed & inside).sum()) / n_desk, reference.outline_in_place(aligned, magnitude)


def _zncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-6))


def explains_better(reference: Reference, gray: np.ndarray, homography: np.ndarray) -> bool:
    """Does undoing the estimated move make the static hall fit the reference better than not?"""
    aligned = cv2.warpPerspective(gray, homography, (gray.shape[1], gray.shape[0]),
                                  flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    static = reference.static_mask > 0
    h, w = static.shape
    static[: h // 10], static[h - h // 10:], static[:, : w // 10], static[:, w - w // 10:] = False, False, False, False
    if static.sum() < 100:
        return True
    # edges, not grey levels: smooth shading correlates as well shifted as not
    ref, as_is, moved = (cv2.GaussianBlur(_gradients(image), (0, 0), 1.0)[static] for image in (reference.gray, gray, aligned))
    return _zncc(ref, moved) > _zncc(ref, as_is) + _BETTER_FIT


def _last_argmax(values: np.ndarray) -> int:
    """Index of the maximum, the last one on ties (as max() over (score, dx, dy) tuples picks)."""
    return int(len(values) - 1 - np.argmax(values[::-1]))


@dataclass(frozen=True)
class OutlineShift:
    offset: tuple[float, float]  # (dx, dy) at the working scale where the outline shows best
    shift_px: float  # that offset in full-size px
    best: float  # share of the outline found at that offset
    in_place: float  # share found where the calibration puts it


def outline_shift(reference: Reference, gray: np.ndarray) -> OutlineShift:
    """Slide the reference's desk outline over the frame's edges (coarse, then fine) and keep the
    offset where most of it shows: items cover a few stretches of the outline wherever it is, so
    the comparison is between offsets, not against a fixed share."""
    # dilating the edge map by one pixel tolerates the calibration's sub-pixel error at every offset
    magnitude = cv2.dilate(_gradients(gray), np.ones((3, 3), np.uint8))
    h, w = magnitude.shape
    need = _OUTLINE_KEEP * reference.outline_strength

    def scores(offsets: np.ndarray) -> np.ndarray:
        """Share of the outline found at each (dx, dy) offset, all offsets in one gather."""
        xy = np.round(reference.outline_px[None, :, :] + offsets[:, None, :]).astype(int)
        inside = (xy[..., 0] >= 0) & (xy[..., 0] < w) & (xy[..., 1] >= 0) & (xy[..., 1] < h)
        values = magnitude[np.clip(xy[..., 1], 0, h - 1), np.clip(xy[..., 0], 0, w - 1)]
        return np.mean(inside & (values >= need[None, :]), axis=1)

    steps = np.arange(-_OUTLINE_SEARCH_PX, _OUTLINE_SEARCH_PX + 1, 3)
    coarse = np.array([(dx, dy) for dx in steps for dy in steps], dtype=np.float64)
    coarse_scores = scores(coarse)
    cx, cy = coarse[_last_argmax(coarse_scores)]
    fine = np.array([(cx + dx, cy + dy) for dx in range(-2, 3) for dy in range(-2, 3)], dtype=np.float64)
    fine_scores = scores(fine)
    k = _last_argmax(fine_scores)
    best, (bx, by) = float(fine_scores[k]), fine[k]
    in_place = float(scores(np.zeros((1, 2)))[0])
    return OutlineShift((float(bx), float(by)), float(np.hypot(bx, by)) / reference.scale, max(best, in_place), in_place)


def _aligned_or_moved(reference: Reference, gray: np.ndarray, camera, spec: QualitySpec,
                      metrics: dict) -> np.ndarray | QualityVerdict:
    """Feature-match the frame to the reference: the "camera moved" verdict, or the frame brought
    onto the reference's pixels. Records what it measured in `metrics`."""
    shift = estimate_shift(reference, gray, camera, spec.min_matches)
    metrics["matches"] = shift.matches
    metrics["shift_px"] = None if shift.shift_px is None else round(shift.shift_px, 1)
    metrics["shift_cm"] = None if shift.shift_cm is None else round(shift.shift_cm, 1)
    weak = shift.homography is None or shift.matches < _STRONG_MATCHES * spec.min_matches
    if not weak and shift.shift_px > spec.max_shift_px and not explains_better(reference, gray, shift.homography):
        # matches on repeated patterns (floor tiles) can agree on a shift that is not there: a real
        # one makes the shifted frame fit the reference better than the frame as it is
        weak = True
        metrics["homography_rejected"] = 1
    if weak and len(reference.outline_px) >= 20:
        # a hall with little fixed texture matches weakly: find the desk outline itself instead, at
        # the offset where most of it shows, and measure how far that is from where it was calibrated
        found = outline_shift(reference, gray)
        metrics["outline_in_place"] = round(found.in_place, 3)
        metrics["outline_found"] = round(found.best, 3)
        if found.best < _OUTLINE_FOUND:
            return QualityVerdict("camera_moved", f"camera moved or view blocked: the desk outline is not found near its "
                                  f"calibrated place (at best {found.best:.0%} of it; {shift.matches} feature matches) "
                                  f"/ 摄像头移位", metrics)
        in_place = found.in_place >= found.best - _OUTLINE_TIE or found.in_place >= _OUTLINE_STILL_IN_PLACE
        shift_px = 0.0 if in_place else found.shift_px
        dx, dy = (0.0, 0.0) if shift_px == 0.0 else found.offset
        shift = Shift(shift.matches, np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]]), shift_px, None)
        metrics["shift_px"], metrics["shift_cm"] = round(shift_px, 1), None
        if shift_px > spec.max_shift_px:
            return QualityVerdict("camera_moved", f"camera moved: the desk outline is {shift_px:.1f} px from where it was "
                                  f"calibrated ({found.best:.0%} of it found there, {found.in_place:.0%} in place; maximum "
                                  f"{spec.max_shift_px:g} px) / 摄像头移位", metrics)
    elif shift.homography is None:
        return QualityVerdict("camera_moved", f"camera moved or view blocked: the frame does not match the reference "
                              f"frame ({shift.matches} consistent feature matches, minimum {spec.min_matches}) "
                              f"/ 摄像头移位", metrics)
    if shift.shift_px is not None and shift.shift_px > spec.max_shift_px:
        cm = f" (≈{shift.shift_cm:.1f} cm on the desk)" if shift.shift_cm is not None else ""
        return QualityVerdict("camera_moved", f"camera moved: desk corners shifted {shift.shift_px:.1f} px{cm} since "
                              f"calibration (maximum {spec.max_shift_px:g} px) / 摄像头移位", metrics)
    # bring the frame onto the reference's pixels so that cells compare like with like
    aligned = cv2.warpPerspective(gray, shift.homography, (gray.shape[1], gray.shape[0]),
                                  flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return aligned


def assess(image: np.ndarray, camera, spec: QualitySpec, reference: Reference | None) -> QualityVerdict:
    """Run the checks in order (dark, blurred, moved, occluded); the first that fails decides."""
    if not spec.enabled:
        return QualityVerdict("ok", "", {})
    scale = _scale_for(image.shape[1])
    gray = _small_gray(image, scale)
    metrics: dict[str, float | int | None] = {}
    mask = reference.desk_mask if reference is not None and reference.gray.shape == gray.shape else \
        _mask_from_polygon(desk_outline_px(camera, scale), gray.shape)

    metrics["luminance"] = round(luminance(gray, mask), 1)
    if metrics["luminance"] < spec.min_luminance:
        return QualityVerdict("cannot_judge", f"too dark: mean luminance {metrics['luminance']:.1f} on the desk "
                              f"(minimum {spec.min_luminance:g}) / 画面过暗", metrics)

    metrics["sharpness"] = round(sharpness(gray), 1)
    if reference is not None:
        metrics["sharpness_ratio"] = round(metrics["sharpness"] / max(reference.sharpness, 1e-6), 3)
    if metrics["sharpness"] < spec.min_sharpness:
        return QualityVerdict("cannot_judge", f"too blurred: sharpness (variance of Laplacian) {metrics['sharpness']:.1f} "
                              f"(minimum {spec.min_sharpness:g}) / 画面模糊", metrics)
    if reference is not None and metrics["sharpness_ratio"] < spec.min_sharpness_ratio:
        return QualityVerdict("cannot_judge", f"too blurred: sharpness {metrics['sharpness']:.1f} is "
                              f"{metrics['sharpness_ratio']:.0%} of the reference frame's {reference.sharpness:.1f} "
                              f"(minimum {spec.min_sharpness_ratio:.0%}) / 画面模糊", metrics)
    if reference is None:
        return QualityVerdict("ok", "", metrics)

    magnitude = _gradients(gray)
    steady = steady_shift(reference, magnitude)
    if steady is not None:  # the static hall lines up with the reference: nothing moved, nothing to align
        metrics["shift_px"] = round(steady[0] / reference.scale, 1)
        metrics["steady_zncc"] = round(steady[1], 3)
        aligned = gray
    else:
        moved = _aligned_or_moved(reference, gray, camera, spec, metrics)
        if isinstance(moved, QualityVerdict):
            return moved
        aligned, magnitude = moved, None
    largest, changed, visible = hidden_desk(reference, aligned, magnitude)
    metrics["hidden_share"] = round(largest, 3)
    metrics["changed_share"] = round(changed, 3)
    metrics["outline_visible"] = None if visible is None else round(visible, 3)
    too_hidden = largest > spec.max_hidden_share
    outline_gone = visible is not None and visible < spec.min_outline_visible
    if too_hidden or outline_gone:
        parts = [f"{largest:.0%} of the desk top hidden by something between camera and desk (limit {spec.max_hidden_share:.0%})"]
        if visible is not None:
            parts.append(f"{visible:.0%} of the desk outline visible (minimum {spec.min_outline_visible:.0%})")
        return QualityVerdict("occluded", "desk hidden: " + ", ".join(parts) + " / 桌面被遮挡", metrics)
    return QualityVerdict("ok", "", metrics)


def size_mismatch(image: np.ndarray, camera) -> str | None:
    """The reason a frame cannot use its camera's calibration, or None."""
    h, w = image.shape[:2]
    cw, ch = camera.image_size
    if (w, h) != (cw, ch):
        return (f"image size does not match the camera: image is {w}x{h} px but camera '{camera.camera_id}' is "
                f"calibrated at {cw}x{ch} px (a stray file, or the camera's resolution changed: then recalibrate) "
                f"/ 图像尺寸与相机标定不符")
    return None


def describe_metrics(metrics: dict) -> str:
    parts = []
    for name, value in metrics.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        parts.append(f"{name} {value:g}" if isinstance(value, (int, float)) else f"{name} {value}")
    return ", ".join(parts)
