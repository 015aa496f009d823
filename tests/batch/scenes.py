"""Hand-made counter scenes for the batch tests: a known camera, a textured hall and desk, items,
and the night-time faults (dark, blurred, camera bumped, desk hidden) applied to a frame."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from calibration.camera import CameraFile, fit_camera, save_camera

from ..calibration.conftest import look_at

ZONES = {  # the front-counter standard's layout for a 160 x 80 cm desk
    "monitor": [[95, 40], [155, 40], [155, 75], [95, 75]],
    "document_camera": [[5, 35], [40, 35], [40, 75], [5, 75]],
    "cup": [[140, 12], [158, 12], [158, 32], [140, 32]],
    "pass_through": [[60, 0], [95, 0], [95, 25], [60, 25]],
}
DESK_CM = (160.0, 80.0)


@dataclass(frozen=True)
class SceneCamera:
    camera_id: str
    image_size: tuple[int, int]
    K: np.ndarray
    rvec: np.ndarray
    tvec: np.ndarray

    def project(self, points_cm3) -> np.ndarray:
        px, _ = cv2.projectPoints(np.asarray(points_cm3, float).reshape(-1, 1, 3), self.rvec, self.tvec, self.K, None)
        return px.reshape(-1, 2)

    def desk_homography(self) -> np.ndarray:
        """desk cm (z = 0) -> image px"""
        w, d = DESK_CM
        corners = np.array([[0, 0], [w, 0], [w, d], [0, d]], float)
        px = self.project(np.hstack([corners, np.zeros((4, 1))]))
        return cv2.getPerspectiveTransform(corners.astype(np.float32), px.astype(np.float32))

    def camera_file(self, path: Path, reference_frame: str | None = None) -> Path:
        w, d = DESK_CM
        corners = np.array([[0, 0], [w, 0], [w, d], [0, d]], float)
        px = self.project(np.hstack([corners, np.zeros((4, 1))]))
        spec = CameraFile(camera_id=self.camera_id, image_size=self.image_size, desk={"width_cm": w, "depth_cm": d},
                          points=[{"image_px": tuple(p), "desk_cm": tuple(c)} for p, c in zip(px, corners)],
                          layout={"zones": ZONES}, reference_frame=reference_frame)
        return save_camera(fit_camera(spec, str(path)), path)


def scene_camera(camera_id: str = "window-01", image_size=(640, 360), seed: int = 0) -> SceneCamera:
    rng = np.random.default_rng(seed)
    scale = image_size[0] / 1280
    K, rvec, tvec = look_at([80 + rng.uniform(-10, 10), -95, 175], [80, 45, 0], 900.0 * scale, image_size)
    return SceneCamera(camera_id, tuple(image_size), K, rvec, tvec)


def _hall_background(size, seed: int, plain: bool = False) -> np.ndarray:
    """A static hall: smooth shading, floor tiles, posters and signs (features for matching)."""
    w, h = size
    rng = np.random.default_rng(1000 + seed)
    base = cv2.resize(rng.uniform(90, 170, (6, 10)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    image = np.dstack([base * 0.95, base, base * 1.05]).clip(0, 255).astype(np.uint8)
    step = max(w // 24, 8) if not plain else w * 10  # plain: no floor tiles either
    for x in range(0, w, step):
        cv2.line(image, (x, h // 2), (x + (x - w // 2) // 3, h), (70, 70, 70), 1)
    for y in range(h // 2, h if not plain else h // 2, step // 2):
        cv2.line(image, (0, y), (w, y), (75, 75, 75), 1)
    for _ in range(0 if plain else 40):
        x, y = int(rng.uniform(0, w)), int(rng.uniform(0, h * 0.6))
        bw, bh = int(rng.uniform(w * 0.02, w * 0.09)), int(rng.uniform(h * 0.02, h * 0.1))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(image, (x, y), (x + bw, y + bh), colour, -1)
        cv2.putText(image, "SERVICE"[: int(rng.integers(2, 7))], (x + 2, y + bh - 2), cv2.FONT_HERSHEY_SIMPLEX,
                    max(bh / 40, 0.3), (255 - colour[0], 255 - colour[1], 255 - colour[2]), 1)
    return image


def _desk_texture(px_per_cm: float = 4.0) -> np.ndarray:
    w, d = int(DESK_CM[0] * px_per_cm), int(DESK_CM[1] * px_per_cm)
    rng = np.random.default_rng(7)
    grain = cv2.resize(rng.uniform(-1, 1, (8, 60)).astype(np.float32), (w, d), interpolation=cv2.INTER_CUBIC)
    tex = np.dstack([150 + 25 * grain, 175 + 25 * grain, 200 + 20 * grain]).clip(0, 255).astype(np.uint8)
    for x in range(0, w, int(20 * px_per_cm)):  # printed 定置 outlines and a ruler-like border
        cv2.line(tex, (x, 0), (x, d), (60, 120, 150), 1)
    cv2.rectangle(tex, (2, 2), (w - 3, d - 3), (40, 60, 90), 2)
    return tex


ITEMS = {  # class: (centre cm, size cm, height cm, BGR)
    "monitor": ((125, 57), (55, 20), 42, (40, 40, 40)),
    "name_plate": ((30, 12), (20, 6), 8, (30, 30, 160)),
    "cup": ((149, 22), (8, 8), 10, (200, 200, 230)),
    "keyboard": ((75, 35), (44, 14), 3, (60, 60, 60)),
}


def render(cam: SceneCamera, items: dict = ITEMS, seed: int = 0, plain: bool = False) -> np.ndarray:
    """The hall (`plain`: bare, without posters to match), the desk top with its texture, and each
    item as a box (top face and front face)."""
    w, h = cam.image_size
    image = _hall_background(cam.image_size, seed, plain)
    tex = _desk_texture()
    ppc = tex.shape[1] / DESK_CM[0]
    to_tex = np.diag([ppc, ppc, 1.0])
    H = cam.desk_homography() @ np.linalg.inv(to_tex)
    desk = cv2.warpPerspective(tex, H, (w, h))
    mask = cv2.warpPerspective(np.full(tex.shape[:2], 255, np.uint8), H, (w, h))
    image[mask > 0] = desk[mask > 0]
    for name, (center, size, height, colour) in items.items():
        cx, cy = center
        sx, sy = size[0] / 2, size[1] / 2
        base = np.array([[cx - sx, cy - sy], [cx + sx, cy - sy], [cx + sx, cy + sy], [cx - sx, cy + sy]])
        top = cam.project(np.hstack([base, np.full((4, 1), height)]))
        bottom = cam.project(np.hstack([base, np.zeros((4, 1))]))
        front = np.array([bottom[0], bottom[1], top[1], top[0]])
        cv2.fillPoly(image, [np.round(front).astype(np.int32)], tuple(int(c * 0.8) for c in colour))
        cv2.fillPoly(image, [np.round(top).astype(np.int32)], colour)
        cv2.polylines(image, [np.round(top).astype(np.int32)], True, (255, 255, 255), 1)
    return image


def detections_for(cam: SceneCamera, items: dict = ITEMS) -> list[dict]:
    """SPEC detections: each item's projected box, as a perfect detector would give it."""
    out = []
    for name, (center, size, height, _) in items.items():
        cx, cy = center
        sx, sy = size[0] / 2, size[1] / 2
        corners = [[cx + a * sx, cy + b * sy, z] for a in (-1, 1) for b in (-1, 1) for z in (0, height)]
        px = cam.project(corners)
        x1, y1 = px.min(axis=0)
        x2, y2 = px.max(axis=0)
        out.append({"class": name, "confidence": 0.9, "bbox_px": [round(float(v), 1) for v in (x1, y1, x2, y2)]})
    return out


def sensor_noise(image: np.ndarray, seed: int, sigma: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (image.astype(np.float32) + rng.normal(0, sigma, image.shape)).clip(0, 255).astype(np.uint8)


# -- night-time faults ---------------------------------------------------------------------------
def darken(image: np.ndarray, factor: float = 0.1) -> np.ndarray:
    return (image.astype(np.float32) * factor).clip(0, 255).astype(np.uint8)


def blur(image: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


def bump(image: np.ndarray, dx_px: float, dy_px: float, angle_deg: float = 0.0) -> np.ndarray:
    """The camera knocked: the whole view shifted (and turned) in the image."""
    h, w = image.shape[:2]
    M = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    M[:, 2] += (dx_px, dy_px)
    return cv2.warpAffine(image, M, (w, h), borderMode=cv2.BORDER_REFLECT)


def person_in_front(cam: SceneCamera, image: np.ndarray, share: float = 0.7) -> np.ndarray:
    """A person (dark coat, some folds) standing between the camera and the desk, covering its middle."""
    out = image.copy()
    H = cam.desk_homography()
    w, d = DESK_CM
    half = w * share / 2
    body = np.array([[w / 2 - half, -5], [w / 2 + half, -5], [w / 2 + half, d + 5], [w / 2 - half, d + 5]], np.float32)
    px = cv2.perspectiveTransform(body.reshape(-1, 1, 2), H.astype(np.float32)).reshape(-1, 2)
    top = px[:, 1].min() - image.shape[0] * 0.2
    px[2:, 1] = np.minimum(px[2:, 1], top)
    cv2.fillPoly(out, [np.round(px).astype(np.int32)], (45, 40, 50))
    rng = np.random.default_rng(3)
    for _ in range(12):  # folds: a little texture, as a real coat has
        x = int(rng.uniform(px[:, 0].min(), px[:, 0].max()))
        cv2.line(out, (x, int(top)), (x + int(rng.uniform(-20, 20)), image.shape[0]), (60, 55, 65), 2)
    return out


def write_jpeg(path: Path, image: np.ndarray, quality: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    path.write_bytes(data.tobytes())
    return path


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_yaml(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
