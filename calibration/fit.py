"""Fitting a desk-plane camera from image <-> desk correspondences.

Plain functions that return fitted values together with their error figures, in the spirit of
OpenCV's calibration API. Everything in pixels is *undistorted* unless a name says otherwise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from inspector.errors import CalibrationError

# A fitted focal length outside this range (in image widths) means the homography carried no
# usable perspective (overhead views) or the points are poor; we then assume a typical CCTV lens.
_FOCAL_RANGE_WIDTHS = (0.25, 8.0)
DEFAULT_HFOV_DEG = 60.0  # typical fixed CCTV lens; used only when focal length cannot be measured


@dataclass(frozen=True)
class PoseFit:
    K: np.ndarray  # 3x3 intrinsics used for the pose
    rvec: np.ndarray  # (3,) desk -> camera rotation (Rodrigues)
    tvec: np.ndarray  # (3,) desk -> camera translation, cm
    focal_source: str  # "given" | "estimated" | "assumed"
    reprojection_error_px: float  # RMS over the correspondences


@dataclass(frozen=True)
class HomographyFit:
    image_to_desk: np.ndarray  # 3x3, undistorted px -> desk cm
    inliers: np.ndarray  # bool per correspondence
    reprojection_error_px: float  # RMS of desk->image residuals over inliers, px
    max_error_px: float


def check_correspondences(image_px: np.ndarray, desk_cm: np.ndarray, image_size: tuple[int, int]) -> None:
    """Reject input that cannot define a plane homography, with a message saying why."""
    if image_px.ndim != 2 or image_px.shape[1] != 2 or desk_cm.shape != image_px.shape:
        raise CalibrationError("points must be pairs of [x, y] in the image and on the desk")
    n = len(image_px)
    if n < 4:
        raise CalibrationError(f"at least 4 image<->desk point pairs are needed, got {n}")
    if not (np.all(np.isfinite(image_px)) and np.all(np.isfinite(desk_cm))):
        raise CalibrationError("points must be finite numbers")
    width, height = image_size
    outside = [i for i, (x, y) in enumerate(image_px) if not (0 <= x <= width and 0 <= y <= height)]
    if outside:
        raise CalibrationError(
            f"point(s) {outside} lie outside the {width}x{height} image: {image_px[outside].tolist()}"
        )
    for name, pts, tol in (("image", image_px, 1.0), ("desk", desk_cm, 0.5)):
        for i, j in itertools.combinations(range(n), 2):
            if np.linalg.norm(pts[i] - pts[j]) < tol:
                raise CalibrationError(f"{name} points {i} and {j} are repeated: {pts[i].tolist()}")
        spread = np.linalg.svd(pts - pts.mean(axis=0), compute_uv=False)
        if spread[1] < 1e-3 * max(spread[0], 1e-9) * math.sqrt(n):
            raise CalibrationError(f"the {name} points are collinear; they must span the desk")
        if n == 4:
            scale = max(np.linalg.norm(pts[i] - pts[j]) for i, j in itertools.combinations(range(4), 2))
            for tri in itertools.combinations(range(4), 3):
                a, b, c = pts[list(tri)]
                area = abs(np.cross(b - a, c - a)) / 2
                if area < 0.01 * scale**2:
                    raise CalibrationError(
                        f"{name} points {list(tri)} are (nearly) collinear; "
                        "with 4 points no three may lie on one line"
                    )


def fit_homography(image_px: np.ndarray, desk_cm: np.ndarray, ransac_px: float = 3.0) -> HomographyFit:
    """Desk -> image homography; exact for 4 points, RANSAC when more are given."""
    method = 0 if len(image_px) == 4 else cv2.RANSAC
    H_desk_to_image, mask = cv2.findHomography(
        desk_cm.astype(np.float64), image_px.astype(np.float64), method, ransac_px
    )
    if H_desk_to_image is None or abs(np.linalg.det(H_desk_to_image)) < 1e-12:
        raise CalibrationError("the points do not define a plane homography (degenerate layout)")
    inliers = mask.ravel().astype(bool) if mask is not None else np.ones(len(image_px), bool)
    if inliers.sum() < 4:
        raise CalibrationError("fewer than 4 points agree with one another; check the point pairs")
    projected = apply_homography(H_desk_to_image, desk_cm)
    residuals = np.linalg.norm(projected - image_px, axis=1)[inliers]
    return HomographyFit(
        image_to_desk=np.linalg.inv(H_desk_to_image) / np.linalg.inv(H_desk_to_image)[2, 2],
        inliers=inliers,
        reprojection_error_px=float(np.sqrt(np.mean(residuals**2))),
        max_error_px=float(residuals.max()),
    )


def apply_homography(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    homogeneous = np.hstack([pts, np.ones((len(pts), 1))]) @ H.T
    w = homogeneous[:, 2:3]
    if np.any(np.abs(w) < 1e-12):
        raise CalibrationError("a point maps to infinity (it lies on the horizon of the desk plane)")
    return homogeneous[:, :2] / w


def estimate_focal_px(H_desk_to_image: np.ndarray, image_size: tuple[int, int]) -> float | None:
    """Focal length from a plane homography, assuming square pixels and a centred principal point.

    With K = diag(f, f, 1) after moving the principal point to the origin, the columns h1, h2 of
    K^-1 H are orthogonal and of equal length (Zhang's constraints); each gives a linear equation
    in 1/f^2. Returns None when the view has too little perspective to tell (near-overhead).
    """
    width, height = image_size
    shift = np.array([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1]], dtype=np.float64)
    H = shift @ H_desk_to_image
    H = H / np.linalg.norm(H[:, 0])
    h1, h2 = H[:, 0], H[:, 1]
    # a * (1/f^2) + b = 0 for each constraint
    rows = [
        (h1[0] * h2[0] + h1[1] * h2[1], h1[2] * h2[2]),
        (h1[0] ** 2 + h1[1] ** 2 - h2[0] ** 2 - h2[1] ** 2, h1[2] ** 2 - h2[2] ** 2),
    ]
    a = np.array([r[0] for r in rows])
    b = np.array([r[1] for r in rows])
    denom = float(a @ a)
    if denom < 1e-18:
        return None
    inv_f2 = -float(a @ b) / denom
    if inv_f2 <= 0:
        return None
    focal = 1.0 / math.sqrt(inv_f2)
    lo, hi = _FOCAL_RANGE_WIDTHS
    if not (lo * width <= focal <= hi * width):
        return None
    return focal


def assumed_focal_px(image_size: tuple[int, int], hfov_deg: float = DEFAULT_HFOV_DEG) -> float:
    return image_size[0] / (2 * math.tan(math.radians(hfov_deg) / 2))


def fit_pose(desk_cm: np.ndarray, image_px: np.ndarray, K: np.ndarray, focal_source: str) -> PoseFit:
    """Camera pose from planar correspondences (IPPE, then Levenberg-Marquardt refinement)."""
    object_points = np.hstack([desk_cm, np.zeros((len(desk_cm), 1))]).astype(np.float64)
    image_points = image_px.astype(np.float64).reshape(-1, 1, 2)
    ok, rvec, tvec = cv2.solvePnP(object_points, image_points, K, None, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        raise CalibrationError("the camera pose could not be recovered from the points")
    rvec, tvec = cv2.solvePnPRefineLM(object_points, image_points, K, None, rvec, tvec)
    R, _ = cv2.Rodrigues(rvec)
    camera_center = -R.T @ tvec.ravel()
    if camera_center[2] <= 0:
        # A camera below the desk top means the desk outline or the point order is mirrored.
        raise CalibrationError(
            "the recovered camera lies below the desk: the desk points are probably mirrored "
            "(x must run along the front edge to the customer's right, y from the front edge toward the staff)"
        )
    projected, _ = cv2.projectPoints(object_points, rvec, tvec, K, None)
    residuals = np.linalg.norm(projected.reshape(-1, 2) - image_px, axis=1)
    return PoseFit(
        K=K,
        rvec=rvec.ravel(),
        tvec=tvec.ravel(),
        focal_source=focal_source,
        reprojection_error_px=float(np.sqrt(np.mean(residuals**2))),
    )


def position_error_cm(
    image_to_desk: np.ndarray, outline_cm: np.ndarray, error_px: float, samples_per_axis: int = 12
) -> tuple[float, float]:
    """Expected desk position error (median, max over the desk) for an image error of `error_px`.

    Propagates the pixel error through the local Jacobian of image->desk at a grid of desk points:
    far parts of an oblique view have more cm per pixel, and this says how much.
    """
    desk_to_image = np.linalg.inv(image_to_desk)
    xs = np.linspace(outline_cm[:, 0].min(), outline_cm[:, 0].max(), samples_per_axis)
    ys = np.linspace(outline_cm[:, 1].min(), outline_cm[:, 1].max(), samples_per_axis)
    grid_cm = np.array([(x, y) for x in xs for y in ys])
    grid_px = apply_homography(desk_to_image, grid_cm)
    step_px = 0.5
    dx = apply_homography(image_to_desk, grid_px + [step_px, 0]) - apply_homography(image_to_desk, grid_px - [step_px, 0])
    dy = apply_homography(image_to_desk, grid_px + [0, step_px]) - apply_homography(image_to_desk, grid_px - [0, step_px])
    jacobians = np.stack([dx, dy], axis=2) / (2 * step_px)  # (N, 2 desk, 2 image)
    cm_per_px = np.linalg.svd(jacobians, compute_uv=False)[:, 0]
    errors = cm_per_px * error_px
    return float(np.median(errors)), float(errors.max())
