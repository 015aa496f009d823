"""The camera file: a serialisable desk-plane calibration with image_to_desk / desk_to_image.

A camera file (YAML, JSON accepted) holds what the user wrote (camera id, image size, desk
outline, point pairs, optional intrinsics, layout zones) and the fitted result written back
(homography, pose, error figures). `load_camera` validates and, when the file carries no fit yet,
fits it on load; `save_camera` writes the file with the fit.
"""

from __future__ import annotations

import json
import math
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import cv2
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from shapely.geometry import Polygon

from calibration import fit
from inspector.errors import CalibrationError
from inspector.records import Desk

Point = tuple[float, float]
# every model of a camera file: unknown keys, NaN and infinities are errors naming the field (a NaN
# zone vertex or homography entry would otherwise reach shapely or OpenCV and crash there)
_FILE_MODEL = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Intrinsics(BaseModel):
    model_config = _FILE_MODEL

    model: Literal["pinhole", "fisheye"] = "pinhole"
    K: list[list[float]] = Field(description="3x3 camera matrix, px")
    dist: list[float] = Field(default_factory=list, description="OpenCV distortion: 4,5,8.. (pinhole) or 4 (fisheye)")

    @field_validator("K")
    @classmethod
    def _k_is_3x3(cls, value: list[list[float]]) -> list[list[float]]:
        K = np.asarray(value, dtype=float)
        if K.shape != (3, 3) or K[0, 0] <= 0 or K[1, 1] <= 0 or abs(K[2, 2] - 1) > 1e-9:
            raise ValueError("K must be a 3x3 matrix [[fx,0,cx],[0,fy,cy],[0,0,1]] with fx, fy > 0")
        return value

    @model_validator(mode="after")
    def _dist_length(self) -> "Intrinsics":
        allowed = (0, 4) if self.model == "fisheye" else (0, 4, 5, 8, 12, 14)
        if len(self.dist) not in allowed:
            raise ValueError(f"dist for a {self.model} lens must have {' or '.join(map(str, allowed))} coefficients")
        return self


class DeskShape(BaseModel):
    model_config = _FILE_MODEL

    width_cm: float | None = Field(default=None, gt=0)
    depth_cm: float | None = Field(default=None, gt=0)
    outline_cm: list[Point] | None = None
    front_edge: int = Field(default=0, ge=0, description="outline edge i (vertex i -> i+1) facing the customer")

    @model_validator(mode="after")
    def _one_shape(self) -> "DeskShape":
        if self.outline_cm is None and (self.width_cm is None or self.depth_cm is None):
            raise ValueError("give either width_cm and depth_cm, or outline_cm")
        outline = self.outline()
        polygon = Polygon(outline)
        if len(outline) < 3 or not polygon.is_valid or polygon.area <= 0:
            raise ValueError("outline_cm must be a simple polygon (at least 3 corners, no self-crossing)")
        if self.front_edge >= len(outline):
            raise ValueError(f"front_edge {self.front_edge} is not an edge of a {len(outline)}-sided outline")
        return self

    def outline(self) -> list[Point]:
        if self.outline_cm is not None:
            return [tuple(map(float, p)) for p in self.outline_cm]
        w, d = float(self.width_cm), float(self.depth_cm)
        return [(0.0, 0.0), (w, 0.0), (w, d), (0.0, d)]


class PointPair(BaseModel):
    model_config = _FILE_MODEL
    image_px: Point
    desk_cm: Point


class Layout(BaseModel):
    model_config = _FILE_MODEL
    zones: dict[str, list[Point]] = Field(default_factory=dict)

    @field_validator("zones")
    @classmethod
    def _zones_are_polygons(cls, zones: dict[str, list[Point]]) -> dict[str, list[Point]]:
        for name, points in zones.items():
            polygon = Polygon(points) if len(points) >= 3 else None
            if polygon is None or not polygon.is_valid or polygon.area <= 0:
                raise ValueError(f"zone '{name}' must be a simple polygon of at least 3 points")
        return zones


class PoseResult(BaseModel):
    model_config = _FILE_MODEL
    K: list[list[float]]
    rvec: list[float]
    tvec: list[float]
    focal_source: Literal["given", "estimated", "assumed"]
    camera_height_cm: float
    tilt_deg: float  # angle between the optical axis and straight down
    reprojection_error_px: float


# How far a clicked (or marker-found) calibration point may be off, px, standard uncertainty, when
# the file does not say: about a pixel for a person clicking a desk corner in a zoomed snapshot.
DEFAULT_CLICK_NOISE_PX = 1.0
ErrorFigure = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class FitResult(BaseModel):
    model_config = _FILE_MODEL
    homography: list[list[float]] = Field(description="undistorted image px -> desk cm")
    # Error figures: absent only in files written by versions before 1.0 (recomputed on load, with a
    # warning, from the point pairs: see Camera.warnings)
    reprojection_error_px: ErrorFigure | None = None
    max_error_px: ErrorFigure | None = None
    inliers: int
    position_error_cm: dict[str, ErrorFigure] | None = None  # median / max over the desk
    pose: PoseResult | None = None


class CameraFile(BaseModel):
    model_config = _FILE_MODEL

    camera_id: str = Field(min_length=1)
    image_size: tuple[int, int] = Field(description="[width, height] px")
    desk: DeskShape
    points: list[PointPair] = Field(min_length=4)
    intrinsics: Intrinsics | None = None
    layout: Layout = Field(default_factory=Layout)
    reference_frame: str | None = None  # snapshot kept at calibration time (relative to this file)
    # the standard (id) this desk is judged by, as picked when it was set up; the service's
    # camera_standards setting, where it names this camera, comes first
    standard: str | None = Field(default=None, min_length=1, max_length=128)
    # standard uncertainty of a clicked point, px (None: DEFAULT_CLICK_NOISE_PX); the calibration's
    # share of every measurement's uncertainty grows with it
    click_noise_px: ErrorFigure | None = None
    fit: FitResult | None = None

    @field_validator("image_size")
    @classmethod
    def _positive_size(cls, size: tuple[int, int]) -> tuple[int, int]:
        if size[0] <= 0 or size[1] <= 0:
            raise ValueError("image_size must be [width, height] with both > 0")
        return size


class Camera:
    """A fitted camera: maps image pixels to desk centimetres and back. Immutable."""

    def __init__(self, spec: CameraFile, source: str = "<camera>"):
        if spec.fit is None:
            raise CalibrationError("camera has no fit; use fit_camera()", source)
        self.source = source
        self._image_to_desk = np.asarray(spec.fit.homography, dtype=np.float64)
        self._desk_to_image = np.linalg.inv(self._image_to_desk)
        self.warnings: tuple[str, ...] = ()
        if spec.fit.reprojection_error_px is None or spec.fit.max_error_px is None or spec.fit.position_error_cm is None:
            spec = spec.model_copy(update={"fit": _recomputed_errors(spec, self._image_to_desk)})
            self.warnings = (
                f"camera '{spec.camera_id}' ({source}): the file has no fit error figures (written by an older "
                f"version); recomputed from its {len(spec.points)} point pairs: "
                f"{spec.fit.reprojection_error_px:.2f} px / 相机文件缺少标定误差，已按标定点重新计算",
            )
        self.spec = spec
        intr = spec.intrinsics
        self._lens_K = np.asarray(intr.K, dtype=np.float64) if intr else None
        self._lens_dist = np.asarray(intr.dist, dtype=np.float64) if intr and intr.dist else None
        self._fisheye = bool(intr and intr.model == "fisheye")
        pose = spec.fit.pose
        if pose is not None:
            self._pose_K = np.asarray(pose.K, dtype=np.float64)
            self._R, _ = cv2.Rodrigues(np.asarray(pose.rvec, dtype=np.float64))
            self._t = np.asarray(pose.tvec, dtype=np.float64)

    # -- identity and error figures ------------------------------------------------------------
    @property
    def camera_id(self) -> str:
        return self.spec.camera_id

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.spec.image_size)

    @property
    def reprojection_error_px(self) -> float:
        return self.spec.fit.reprojection_error_px

    @property
    def position_error_cm(self) -> dict[str, float]:
        return dict(self.spec.fit.position_error_cm)

    @property
    def has_pose(self) -> bool:
        return self.spec.fit.pose is not None

    @property
    def click_noise_px(self) -> float:
        given = self.spec.click_noise_px
        return DEFAULT_CLICK_NOISE_PX if given is None else given

    @cached_property
    def _homography_covariance(self) -> tuple[np.ndarray, float]:
        """Covariance of the image->desk homography's 8 free entries (h33 = 1) from its point
        pairs, first order (Criminisi, Reid & Zisserman): sigma^2 (J^T J)^-1, J the image residuals'
        Jacobian; sigma the larger of the click noise and what the residuals show (when there are
        more than 4 pairs). Returns (covariance, sigma px)."""
        image_px = self.undistort_px([p.image_px for p in self.spec.points])
        desk_cm = np.array([p.desk_cm for p in self.spec.points], dtype=np.float64)
        h = self._image_to_desk.ravel()[:8] / self._image_to_desk[2, 2]

        def residuals(entries: np.ndarray) -> np.ndarray:
            H = np.append(entries, 1.0).reshape(3, 3)
            return (fit.apply_homography(np.linalg.inv(H), desk_cm) - image_px).ravel()

        base = residuals(h)
        steps = 1e-6 * np.maximum(np.abs(h), 1e-9)
        jacobian = np.stack([(residuals(h + np.eye(8)[k] * steps[k]) - base) / steps[k] for k in range(8)], axis=1)
        dof = len(base) - 8
        sigma = self.click_noise_px
        if dof > 0:
            sigma = max(sigma, float(np.sqrt(np.sum(base**2) / dof)))
        norms = np.maximum(np.linalg.norm(jacobian, axis=0), 1e-300)  # column scaling: entries differ by 1e6
        scaled = jacobian / norms
        covariance = np.linalg.pinv(scaled.T @ scaled) / np.outer(norms, norms) * sigma**2
        return covariance, sigma

    def desk_sigma_cm(self, points_cm) -> np.ndarray:
        """(N, 2) standard uncertainty (x, y) of desk points as this calibration places them: the
        homography fit's own uncertainty carried to each point (the point's image position being
        exact: a detection's own noise is counted with the detection)."""
        points = np.asarray(points_cm, dtype=np.float64).reshape(-1, 2)
        if len(points) == 0:
            return np.zeros((0, 2))
        covariance, _ = self._homography_covariance
        image_px = fit.apply_homography(self._desk_to_image, points)
        h = self._image_to_desk.ravel()[:8] / self._image_to_desk[2, 2]
        steps = 1e-6 * np.maximum(np.abs(h), 1e-9)
        base = fit.apply_homography(np.append(h, 1.0).reshape(3, 3), image_px)
        jacobian = np.stack([(fit.apply_homography(np.append(h + np.eye(8)[k] * steps[k], 1.0).reshape(3, 3), image_px)
                              - base) / steps[k] for k in range(8)], axis=2)  # (N, 2, 8)
        variance = np.einsum("nik,kl,nil->ni", jacobian, covariance, jacobian)
        return np.sqrt(np.maximum(variance, 0.0))

    @cached_property
    def desk(self) -> Desk:
        given = self.spec.desk.outline()
        front = self.spec.desk.front_edge
        n = len(given)
        if not Polygon(given).exterior.is_ccw:
            # keep outlines counter-clockwise so "inward" is always to the left of an edge;
            # reversing the vertices renumbers the front edge i -> n - 2 - i
            given, front = given[::-1], (n - 2 - front) % n
        zones = {name: Polygon(points) for name, points in self.spec.layout.zones.items()}
        return Desk(outline_cm=Polygon(given), front_edge=front, zones_cm=zones)

    @property
    def camera_center_cm(self) -> np.ndarray:
        if not self.has_pose:
            raise CalibrationError("camera pose is unknown", self.source)
        return -self._R.T @ self._t

    # -- lens ----------------------------------------------------------------------------------
    def undistort_px(self, points_px) -> np.ndarray:
        pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 1, 2)
        if self._lens_K is None or self._lens_dist is None:
            return pts.reshape(-1, 2)
        if self._fisheye:
            out = cv2.fisheye.undistortPoints(pts, self._lens_K, self._lens_dist, P=self._lens_K)
        else:
            out = cv2.undistortPoints(pts, self._lens_K, self._lens_dist, P=self._lens_K)
        return out.reshape(-1, 2)

    def distort_px(self, points_px) -> np.ndarray:
        pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
        if self._lens_K is None or self._lens_dist is None:
            return pts
        normalized = cv2.undistortPoints(pts.reshape(-1, 1, 2), self._lens_K, None).reshape(-1, 2)
        rays = np.hstack([normalized, np.ones((len(pts), 1))]).reshape(-1, 1, 3)
        zero = np.zeros(3)
        if self._fisheye:
            out, _ = cv2.fisheye.projectPoints(rays, zero, zero, self._lens_K, self._lens_dist)
        else:
            out, _ = cv2.projectPoints(rays, zero, zero, self._lens_K, self._lens_dist)
        return out.reshape(-1, 2)

    # -- mapping -------------------------------------------------------------------------------
    def image_to_desk(self, points_px, z_cm: float = 0.0) -> np.ndarray:
        """Image pixels -> desk (x, y) cm on the plane at height z_cm (0 = desk top)."""
        undistorted = self.undistort_px(points_px)
        if z_cm == 0.0:
            return fit.apply_homography(self._image_to_desk, undistorted)
        center = self.camera_center_cm
        rays = np.hstack([undistorted, np.ones((len(undistorted), 1))]) @ np.linalg.inv(self._pose_K).T @ self._R
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = (z_cm - center[2]) / rays[:, 2]
        if np.any(~np.isfinite(scale)) or np.any(scale <= 0):
            raise CalibrationError(f"a pixel ray does not meet the plane z = {z_cm} cm in front of the camera", self.source)
        return (center[None, :] + rays * scale[:, None])[:, :2]

    def desk_to_image(self, points_cm) -> np.ndarray:
        """Desk points -> image pixels: (N, 2) on the desk top, or (N, 3) with heights (needs the pose)."""
        pts = np.asarray(points_cm, dtype=np.float64)
        if pts.ndim == 1:
            pts = pts.reshape(1, -1)
        if pts.shape[1] == 2:
            return self.distort_px(fit.apply_homography(self._desk_to_image, pts))
        return self.project(pts)

    def project(self, points_cm3) -> np.ndarray:
        """3D desk-frame points (cm, z up) -> image pixels via the camera pose."""
        if not self.has_pose:
            raise CalibrationError("camera pose is unknown: cannot project points above the desk", self.source)
        pts = np.asarray(points_cm3, dtype=np.float64).reshape(-1, 3)
        cam = pts @ self._R.T + self._t
        if np.any(cam[:, 2] <= 1e-6):
            raise CalibrationError("a point lies behind the camera", self.source)
        px = (cam / cam[:, 2:3]) @ self._pose_K.T
        return self.distort_px(px[:, :2])

    def project_points(self, points_cm3) -> tuple[np.ndarray, np.ndarray]:
        """Like `project`, without raising: (pixels (N, 2), in front of the camera (N,)). Points
        behind the camera get finite but meaningless pixels; callers check the mask (solvers that
        try many guesses at once)."""
        if not self.has_pose:
            raise CalibrationError("camera pose is unknown: cannot project points above the desk", self.source)
        pts = np.asarray(points_cm3, dtype=np.float64).reshape(-1, 3)
        cam = pts @ self._R.T + self._t
        in_front = cam[:, 2] > 1e-6
        depth = np.where(in_front, cam[:, 2], 1.0)
        px = (cam[:, :2] / depth[:, None]) @ self._pose_K[:2, :2].T + self._pose_K[:2, 2]
        return self.distort_px(px), in_front

    def with_layout(self, zones: dict[str, list[Point]]) -> "Camera":
        return Camera(self.spec.model_copy(update={"layout": Layout(zones=zones)}), self.source)


# -- fitting ------------------------------------------------------------------------------------
def fit_camera(spec: CameraFile, source: str = "<camera>") -> Camera:
    """Fit homography and pose from the file's point pairs; returns a Camera carrying its errors."""
    image_px = np.array([p.image_px for p in spec.points], dtype=np.float64)
    desk_cm = np.array([p.desk_cm for p in spec.points], dtype=np.float64)
    try:
        fit.check_correspondences(image_px, desk_cm, spec.image_size)
        lens = spec.intrinsics
        undistorted = _undistort_with(lens, image_px)
        homography = fit.fit_homography(undistorted, desk_cm)
        outline = np.array(spec.desk.outline())
        desk_to_image = np.linalg.inv(homography.image_to_desk)
        # every desk corner must be in front of the camera (positive w); else the points are mirrored
        w = np.hstack([outline, np.ones((len(outline), 1))]) @ desk_to_image.T
        if np.any(w[:, 2] * np.sign(desk_to_image[2, 2]) <= 0):
            raise CalibrationError("the desk outline crosses the camera's horizon: check the point pairs")
        median_cm, max_cm = fit.position_error_cm(
            homography.image_to_desk, outline, max(homography.reprojection_error_px, 0.5)
        )
        pose = _fit_pose(spec, desk_cm[homography.inliers], undistorted[homography.inliers], desk_to_image)
    except CalibrationError as error:
        raise CalibrationError(error.message, source) from None
    fit_result = FitResult(
        homography=homography.image_to_desk.tolist(),
        reprojection_error_px=round(homography.reprojection_error_px, 4),
        max_error_px=round(homography.max_error_px, 4),
        inliers=int(homography.inliers.sum()),
        position_error_cm={"median": round(median_cm, 3), "max": round(max_cm, 3)},
        pose=pose,
    )
    return Camera(spec.model_copy(update={"fit": fit_result}), source)


def _fit_pose(spec: CameraFile, desk_cm, undistorted_px, desk_to_image) -> PoseResult:
    width, height = spec.image_size
    if spec.intrinsics is not None:
        K, source = np.asarray(spec.intrinsics.K, dtype=np.float64), "given"
    else:
        focal = fit.estimate_focal_px(desk_to_image, spec.image_size)
        source = "estimated" if focal is not None else "assumed"
        focal = focal if focal is not None else fit.assumed_focal_px(spec.image_size)
        K = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    pose = fit.fit_pose(desk_cm, undistorted_px, K, source)
    R, _ = cv2.Rodrigues(pose.rvec)
    center = -R.T @ pose.tvec
    optical_axis = R.T @ np.array([0.0, 0.0, 1.0])
    tilt_deg = math.degrees(math.acos(float(np.clip(-optical_axis[2], -1, 1))))
    return PoseResult(
        K=K.tolist(),
        rvec=pose.rvec.tolist(),
        tvec=pose.tvec.tolist(),
        focal_source=source,
        camera_height_cm=round(float(center[2]), 3),
        tilt_deg=round(tilt_deg, 3),
        reprojection_error_px=round(pose.reprojection_error_px, 4),
    )


def _recomputed_errors(spec: CameraFile, image_to_desk: np.ndarray) -> FitResult:
    """The error figures of a fit whose file lacks them, from its point pairs (all taken as inliers)."""
    image_px = _undistort_with(spec.intrinsics, np.array([p.image_px for p in spec.points], dtype=np.float64))
    desk_cm = np.array([p.desk_cm for p in spec.points], dtype=np.float64)
    residuals = np.linalg.norm(fit.apply_homography(np.linalg.inv(image_to_desk), desk_cm) - image_px, axis=1)
    rms = float(np.sqrt(np.mean(residuals**2)))
    median_cm, max_cm = fit.position_error_cm(image_to_desk, np.array(spec.desk.outline()), max(rms, 0.5))
    return spec.fit.model_copy(update={
        "reprojection_error_px": round(rms, 4), "max_error_px": round(float(residuals.max()), 4),
        "position_error_cm": {"median": round(median_cm, 3), "max": round(max_cm, 3)},
    })


def _undistort_with(lens: Intrinsics | None, image_px: np.ndarray) -> np.ndarray:
    if lens is None or not lens.dist:
        return image_px
    K = np.asarray(lens.K, dtype=np.float64)
    dist = np.asarray(lens.dist, dtype=np.float64)
    pts = image_px.reshape(-1, 1, 2)
    if lens.model == "fisheye":
        return cv2.fisheye.undistortPoints(pts, K, dist, P=K).reshape(-1, 2)
    return cv2.undistortPoints(pts, K, dist, P=K).reshape(-1, 2)


# -- files --------------------------------------------------------------------------------------
def format_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def read_structured_file(path: Path, error_type: type[Exception]) -> dict:
    """Read a YAML or JSON mapping, raising `error_type(message, source)` on any problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error_type("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise error_type(f"cannot read file ({error})", str(path)) from None
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise error_type(f"not valid YAML/JSON: {error}", str(path)) from None
    except RecursionError:  # thousands of nested brackets: no camera file looks like that
        raise error_type("not a camera file: nested too deeply", str(path)) from None
    if not isinstance(data, dict):
        raise error_type("the file must hold a mapping of fields", str(path))
    return data


def parse_camera(data: dict, source: str = "<camera>") -> Camera:
    try:
        spec = CameraFile.model_validate(data)
    except ValidationError as error:
        raise CalibrationError(format_validation_error(error), source) from None
    if spec.fit is not None:
        return Camera(spec, source)
    return fit_camera(spec, source)


def load_camera(path: str | Path) -> Camera:
    """Load and validate a camera file; fit it if the file has no fit written back yet."""
    data = read_structured_file(Path(path), CalibrationError)
    return parse_camera(data, str(path))


def save_camera(camera: Camera, path: str | Path) -> Path:
    path = Path(path)
    data = camera.spec.model_dump(mode="json", exclude_none=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None), encoding="utf-8")
    return path
