"""Scene description for the synthetic counter-desk renderer, and random scene sampling.

Everything here is a frozen dataclass of plain numbers, so a scene can be hashed, compared,
written to JSON and rebuilt.  Coordinates follow the SPEC: desk frame in cm, origin at the
front-left corner of the desk top seen from the staff chair, x along the front
(customer-facing) edge, y toward the staff side, z up, desk top at z = 0.  Image pixels:
x right, y down, origin at the top-left pixel *corner* (so the centre of pixel (0, 0) is
(0.5, 0.5) and a camera's principal point for a centred lens is (w / 2, h / 2)).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Mapping, Sequence

import cv2
import numpy as np
from shapely.geometry import Polygon
from shapely.geometry import box as shapely_box

from inspector.classes import CANONICAL_CLASSES, CLASS_PRIORS_CM

Vec2 = tuple[float, float]
Vec3 = tuple[float, float, float]
BGR = tuple[int, int, int]

DEFAULT_IMAGE_SIZE: tuple[int, int] = (1280, 720)  # (width, height) px


# --------------------------------------------------------------------------------------
# Camera
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera with OpenCV 5-coefficient distortion and a pose desk cm -> camera.

    `rvec`/`tvec` follow OpenCV: X_cam = R(rvec) @ X_desk + tvec, with camera x right,
    y down, z forward.  `K` is in the SPEC pixel convention (origin at the top-left corner).
    """

    K: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
    dist: tuple[float, float, float, float, float]  # k1, k2, p1, p2, k3
    rvec: Vec3
    tvec: Vec3
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE  # (width, height) px

    # ---- construction ------------------------------------------------------------

    @classmethod
    def look_at(
        cls,
        position_cm: Sequence[float],
        target_cm: Sequence[float],
        focal_px: float,
        image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
        dist: Sequence[float] = (0.0, 0.0, 0.0, 0.0, 0.0),
        up_cm: Sequence[float] | None = None,
        roll_deg: float = 0.0,
        principal_px: Sequence[float] | None = None,
    ) -> "CameraSpec":
        """A camera at `position_cm` whose optical axis passes through `target_cm`.

        `up_cm` is the desk direction that should point to the top of the image; default
        +z, or +y when the camera looks straight down (where +z is degenerate).
        """
        pos = np.asarray(position_cm, dtype=np.float64)
        fwd = np.asarray(target_cm, dtype=np.float64) - pos
        norm = np.linalg.norm(fwd)
        if norm < 1e-9:
            raise ValueError("camera position and target coincide")
        fwd /= norm
        up = np.array([0.0, 0.0, 1.0]) if up_cm is None else np.asarray(up_cm, dtype=np.float64)
        right = np.cross(fwd, up)
        if np.linalg.norm(right) < 1e-6:
            # Looking along `up`: fall back to a horizontal up so the frame is defined.
            right = np.cross(fwd, np.array([0.0, 1.0, 0.0]))
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        if roll_deg:
            a = math.radians(roll_deg)
            right, down = (math.cos(a) * right + math.sin(a) * down,
                           -math.sin(a) * right + math.cos(a) * down)
        R = np.stack([right, down, fwd])  # rows: camera axes in desk coordinates
        rvec = cv2.Rodrigues(R)[0].ravel()
        tvec = -R @ pos
        w, h = image_size
        cx, cy = (w / 2.0, h / 2.0) if principal_px is None else principal_px
        K = ((float(focal_px), 0.0, float(cx)), (0.0, float(focal_px), float(cy)), (0.0, 0.0, 1.0))
        d = tuple(float(v) for v in dist) + (0.0,) * (5 - len(dist))
        return cls(K=K, dist=d[:5], rvec=_t3(rvec), tvec=_t3(tvec), image_size=(int(w), int(h)))

    # ---- derived values ------------------------------------------------------------

    @property
    def K_array(self) -> np.ndarray:
        return np.asarray(self.K, dtype=np.float64)

    @property
    def dist_array(self) -> np.ndarray:
        return np.asarray(self.dist, dtype=np.float64)

    @property
    def R(self) -> np.ndarray:
        """Rotation desk -> camera (3x3)."""
        return cv2.Rodrigues(np.asarray(self.rvec, dtype=np.float64))[0]

    @property
    def center_cm(self) -> np.ndarray:
        """Camera centre in desk cm."""
        return -self.R.T @ np.asarray(self.tvec, dtype=np.float64)

    @property
    def has_distortion(self) -> bool:
        return any(abs(v) > 1e-12 for v in self.dist)

    @property
    def tilt_deg(self) -> float:
        """Angle between the optical axis and straight down (0 = looking vertically down)."""
        fwd = self.R[2]
        return math.degrees(math.acos(float(np.clip(-fwd[2], -1.0, 1.0))))

    # ---- geometry ------------------------------------------------------------------

    def to_camera(self, points_cm3: np.ndarray) -> np.ndarray:
        """Desk cm (N, 3) -> camera frame cm (N, 3)."""
        p = np.asarray(points_cm3, dtype=np.float64).reshape(-1, 3)
        return p @ self.R.T + np.asarray(self.tvec, dtype=np.float64)

    def project(self, points_cm3: np.ndarray) -> np.ndarray:
        """Desk cm (N, 3) -> image px (N, 2), lens distortion included (cv2.projectPoints)."""
        p = np.asarray(points_cm3, dtype=np.float64).reshape(-1, 3)
        if len(p) == 0:
            return np.zeros((0, 2))
        px, _ = cv2.projectPoints(p, np.asarray(self.rvec, dtype=np.float64),
                                  np.asarray(self.tvec, dtype=np.float64), self.K_array, self.dist_array)
        return px.reshape(-1, 2)

    def scaled(self, image_size: tuple[int, int]) -> "CameraSpec":
        """The same camera resampled to another image size (pixel-corner convention, exact)."""
        w0, h0 = self.image_size
        w1, h1 = image_size
        sx, sy = w1 / w0, h1 / h0
        K = self.K_array.copy()
        K[0] *= sx
        K[1] *= sy
        return replace(self, K=_t33(K), image_size=(int(w1), int(h1)))

    def to_dict(self) -> dict:
        return {"K": [list(r) for r in self.K], "dist": list(self.dist), "rvec": list(self.rvec),
                "tvec": list(self.tvec), "image_size": list(self.image_size),
                "center_cm": [round(float(v), 6) for v in self.center_cm], "tilt_deg": round(self.tilt_deg, 6)}

    @classmethod
    def from_dict(cls, d: dict) -> "CameraSpec":
        return cls(K=_t33(np.asarray(d["K"], dtype=np.float64)), dist=tuple(float(v) for v in d["dist"]),
                   rvec=_t3(d["rvec"]), tvec=_t3(d["tvec"]), image_size=tuple(int(v) for v in d["image_size"]))


# --------------------------------------------------------------------------------------
# Desk, items, light, photo effects
# --------------------------------------------------------------------------------------

DESK_MATERIALS = ("wood", "laminate", "plain")
FLOOR_KINDS = ("tiles", "carpet", "plain")


@dataclass(frozen=True)
class DeskSpec:
    """A rectangular desk top [(0,0),(W,0),(W,D),(0,D)], front edge index 0, on a counter body."""

    width_cm: float = 160.0
    depth_cm: float = 80.0
    thickness_cm: float = 3.0
    height_cm: float = 75.0  # desk top above the floor
    material: str = "laminate"  # one of DESK_MATERIALS
    colour_bgr: BGR = (196, 204, 210)
    edge_colour_bgr: BGR = (150, 150, 150)
    body_colour_bgr: BGR = (120, 110, 100)
    floor: str = "tiles"  # one of FLOOR_KINDS
    floor_colour_bgr: BGR = (185, 185, 180)
    texture_seed: int = 0
    # Lines taped or printed on the desk top (定置 outlines), polygons in desk cm.
    markings_cm: tuple[tuple[Vec2, ...], ...] = ()
    marking_colour_bgr: BGR = (40, 200, 230)

    @property
    def outline_cm(self) -> tuple[Vec2, Vec2, Vec2, Vec2]:
        w, d = self.width_cm, self.depth_cm
        return ((0.0, 0.0), (w, 0.0), (w, d), (0.0, d))

    @property
    def corners_cm(self) -> np.ndarray:
        """(4, 3) desk-top corners (0,0,0), (W,0,0), (W,D,0), (0,D,0)."""
        return np.array([(x, y, 0.0) for x, y in self.outline_cm])


# Classes with a shape variant unlike their typical one (what inspector.footprint's SOLIDS assume):
# a box-shaped mouse or desk phone, a flat scanner-like document camera, a monitor without a stand,
# a cup without a handle.
ATYPICAL_CLASSES = frozenset({"mouse", "telephone", "document_camera", "monitor", "cup"})
MONITOR_ON_FOOT, MONITOR_ON_EDGE = 0, 1  # the atypical monitor's variants
MONITOR_FOOT_CM = 1.2  # height of the low foot an atypical monitor's panel sits on


@dataclass(frozen=True)
class ItemSpec:
    """One object on the desk.  The mesh fills the box size_cm x height_cm in its own frame.

    Own frame: x along `size_cm[0]` (width), y along `size_cm[1]` (depth) with +y facing the
    staff (screens, keypads), z up; rotated by `yaw_deg` (counter-clockwise seen from above)
    and moved to `center_cm`.  `class_name` is a SPEC class id, or a clutter kind.
    """

    class_name: str
    center_cm: Vec2
    size_cm: Vec2  # (width, depth) before yaw
    height_cm: float
    yaw_deg: float = 0.0
    appearance_seed: int = 0  # drives colours, variants and printed textures
    colour_bgr: BGR | None = None  # main colour; None = drawn from appearance_seed
    variant: int | None = None  # shape variant; None = drawn from appearance_seed
    # A shape unlike the class's typical one (ATYPICAL_CLASSES; models.synth.shapes
    # ATYPICAL_BUILDERS): tests the inspector's placement off its assumed solids.
    atypical: bool = False

    def __post_init__(self):
        if self.atypical and self.class_name not in ATYPICAL_CLASSES:
            raise ValueError(f"no atypical shape for class {self.class_name!r} "
                             f"(have: {', '.join(sorted(ATYPICAL_CLASSES))})")

    def box_polygon_cm(self) -> Polygon:
        """The rotated size box on z = 0 (a superset of the true footprint)."""
        return rotated_rect(self.center_cm, self.size_cm, self.yaw_deg)


@dataclass(frozen=True)
class LightSpec:
    direction: Vec3 = (0.3, -0.4, 0.866)  # unit vector from the desk toward the light
    ambient: float = 0.55
    diffuse: float = 0.5
    colour_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)  # multiplicative tint
    shadow_strength: float = 0.4  # 0 = no cast shadows, 1 = black
    shadow_softness_cm: float = 1.5


@dataclass(frozen=True)
class Effects:
    """Photo effects applied after rendering (sensor and compression)."""

    exposure: float = 1.0
    gamma: float = 1.0
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)  # B, G, R gains
    blur_sigma_px: float = 0.0
    noise_sigma: float = 0.0  # in 0..255 grey levels
    vignette: float = 0.0  # fraction of darkening at the image corners
    jpeg_quality: int | None = None  # round-trip through JPEG at this quality


@dataclass(frozen=True)
class Scene:
    camera: CameraSpec
    desk: DeskSpec
    items: tuple[ItemSpec, ...]
    clutter: tuple[ItemSpec, ...] = ()  # objects of no SPEC class (tissue box, plant, ...)
    light: LightSpec = field(default_factory=LightSpec)
    effects: Effects = field(default_factory=Effects)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["camera"] = self.camera.to_dict()
        # only atypical items say so: scene files written before the field existed stay the same
        for key in ("items", "clutter"):
            for item in d[key]:
                if not item["atypical"]:
                    del item["atypical"]
        return d


# --------------------------------------------------------------------------------------
# Random sampling (domain randomisation)
# --------------------------------------------------------------------------------------

CLUTTER_KINDS: dict[str, tuple[float, float, float]] = {
    # kind: nominal (width, depth, height) cm
    "tissue_box": (22.0, 11.0, 8.0),
    "stapler": (15.0, 4.5, 6.0),
    "plant": (12.0, 12.0, 25.0),
    "file_tray": (26.0, 34.0, 7.0),
    "sticky_notes": (7.6, 7.6, 1.5),
    "tape_dispenser": (13.0, 6.0, 6.5),
}

# How often each class shows up on a random desk (relative weights).
CLASS_WEIGHTS: dict[str, float] = {
    "cup": 1.0, "monitor": 0.8, "telephone": 0.6, "pen": 1.0, "ink_pad": 0.6, "brochure": 0.8,
    "document_camera": 0.5, "keyboard": 0.8, "mouse": 0.8, "name_plate": 0.6,
    "mobile_phone": 0.7, "bottle": 0.5, "bag": 0.35, "food": 0.45,
}
MAX_PER_DESK: dict[str, int] = {"monitor": 2, "document_camera": 1, "keyboard": 1, "bag": 1,
                                "telephone": 1, "name_plate": 1, "mouse": 1}
# Classes that often lie at any angle on a desk.
LOOSE_CLASSES = frozenset({"pen", "mobile_phone", "brochure", "food", "mouse", "cup", "bottle", "ink_pad"})


def rotated_rect(center: Sequence[float], size: Sequence[float], yaw_deg: float) -> Polygon:
    cx, cy = center
    w, d = size
    a = math.radians(yaw_deg)
    c, s = math.cos(a), math.sin(a)
    pts = [(-w / 2, -d / 2), (w / 2, -d / 2), (w / 2, d / 2), (-w / 2, d / 2)]
    return Polygon([(cx + c * x - s * y, cy + s * x + c * y) for x, y in pts])


def _monotonic_radius_ok(dist: Sequence[float], r_max: float) -> bool:
    """True when radial distortion keeps increasing out to normalised radius r_max."""
    k1, k2, _, _, k3 = dist
    r = np.linspace(0.0, r_max, 64)
    deriv = 1 + 3 * k1 * r**2 + 5 * k2 * r**4 + 7 * k3 * r**6
    return bool(np.all(deriv > 0.2))


def frame_focal_px(position_cm, target_cm, points_cm3, image_size, fill: float,
                   up_cm=None, roll_deg: float = 0.0) -> float:
    """Focal length (px) at which `points_cm3` span `fill` of the tighter image half-extent."""
    probe = CameraSpec.look_at(position_cm, target_cm, 1.0, image_size, up_cm=up_cm, roll_deg=roll_deg)
    pc = probe.to_camera(points_cm3)
    if np.any(pc[:, 2] <= 1e-6):
        raise ValueError("points behind the camera")
    xn, yn = np.abs(pc[:, 0] / pc[:, 2]).max(), np.abs(pc[:, 1] / pc[:, 2]).max()
    w, h = image_size
    return float(fill * min((w / 2) / max(xn, 1e-9), (h / 2) / max(yn, 1e-9)))


def sample_camera(
    rng: np.random.Generator,
    desk: DeskSpec | None = None,
    tilt_deg_range: tuple[float, float] = (0.0, 65.0),
    height_cm_range: tuple[float, float] = (120.0, 300.0),
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
    side: str | None = None,
    fill_range: tuple[float, float] = (0.55, 0.95),
    distortion_prob: float = 0.3,
    max_k1: float = 0.3,
    heading_jitter_deg: float = 25.0,
    roll_jitter_deg: float = 2.0,
) -> CameraSpec:
    """A camera above the desk looking at it from the staff or the customer side.

    Tilt is the angle of the optical axis from vertical, height is above the desk top; the
    focal length is chosen so the whole desk (and 30 cm above its corners) is in view.
    """
    desk = desk or DeskSpec()
    side = side or str(rng.choice(["staff", "customer"]))
    if side not in ("staff", "customer"):
        raise ValueError(f"side must be 'staff' or 'customer', not {side!r}")
    W, D = desk.width_cm, desk.depth_cm
    tilt = math.radians(rng.uniform(*tilt_deg_range))
    height = rng.uniform(*height_cm_range)
    target = np.array([W / 2 + rng.normal(0, 0.06 * W), D / 2 + rng.normal(0, 0.08 * D), 0.0])
    base_heading = 90.0 if side == "customer" else -90.0  # customer side looks toward +y
    heading = math.radians(base_heading + rng.uniform(-heading_jitter_deg, heading_jitter_deg))
    hdir = np.array([math.cos(heading), math.sin(heading), 0.0])
    position = target - hdir * height * math.tan(tilt) + np.array([0.0, 0.0, height])
    roll = rng.normal(0.0, roll_jitter_deg)
    corners = desk.corners_cm
    pts = np.vstack([corners, corners + [0, 0, 30.0]])
    fill = rng.uniform(*fill_range)
    focal = frame_focal_px(position, target, pts, image_size, fill, up_cm=hdir, roll_deg=roll)
    dist = (0.0, 0.0, 0.0, 0.0, 0.0)
    if rng.random() < distortion_prob:
        w, h = image_size
        r_corner = math.hypot(w / 2, h / 2) / focal
        for _ in range(10):
            k1 = rng.uniform(-max_k1, 0.05)
            k2 = rng.uniform(-0.05, 0.08) * abs(k1) * 2
            p1, p2 = rng.normal(0, 0.0007, size=2)
            cand = (k1, k2, float(p1), float(p2), 0.0)
            if _monotonic_radius_ok(cand, 1.6 * r_corner):
                dist = cand
                break
    w, h = image_size
    principal = (w / 2 + rng.normal(0, 0.01 * w), h / 2 + rng.normal(0, 0.01 * h))
    return CameraSpec.look_at(position, target, focal, image_size, dist=dist, up_cm=hdir,
                              roll_deg=roll, principal_px=principal)


def _muted(rng: np.random.Generator, lo: float, hi: float, tint: float = 18.0) -> BGR:
    """A greyish colour with a slight random tint (realistic furniture and floors)."""
    g = rng.uniform(lo, hi)
    c = g + rng.normal(0.0, tint, size=3)
    return tuple(int(v) for v in np.clip(c, 0, 255))  # type: ignore[return-value]


WOODS: tuple[BGR, ...] = ((150, 190, 215), (110, 150, 190), (60, 90, 130), (70, 95, 150), (95, 135, 175))


def sample_desk(rng: np.random.Generator, width_cm_range=(110.0, 200.0),
                depth_cm_range=(60.0, 95.0)) -> DeskSpec:
    material = str(rng.choice(DESK_MATERIALS, p=[0.4, 0.4, 0.2]))
    if material == "wood":
        base = np.array(WOODS[int(rng.integers(0, len(WOODS)))]) * rng.uniform(0.85, 1.15)
    elif material == "laminate":
        base = np.array(_muted(rng, 150, 240, 8))
    else:
        base = np.array(_muted(rng, 100, 230, 14))
    colour = tuple(int(v) for v in np.clip(base, 20, 250))
    edge = tuple(int(v) for v in np.clip(np.array(colour) * rng.uniform(0.6, 1.05), 0, 255))
    if rng.random() < 0.3:
        body = tuple(int(v) for v in np.clip(np.array(WOODS[int(rng.integers(0, len(WOODS)))]) * 0.9, 0, 255))
    else:
        body = _muted(rng, 60, 230, 20)
    floor = str(rng.choice(FLOOR_KINDS, p=[0.6, 0.25, 0.15]))
    floor_colour = _muted(rng, 170, 235, 6) if floor == "tiles" else _muted(rng, 80, 190, 9)
    W = float(rng.uniform(*width_cm_range))
    D = float(rng.uniform(*depth_cm_range))
    markings: tuple = ()
    if rng.random() < 0.3:
        # A couple of taped outlines (定置 zones).
        polys = []
        for _ in range(int(rng.integers(1, 4))):
            w, d = rng.uniform(15, 50), rng.uniform(12, 35)
            x0, y0 = rng.uniform(2, max(3, W - w - 2)), rng.uniform(2, max(3, D - d - 2))
            polys.append(((round(x0, 2), round(y0, 2)), (round(x0 + w, 2), round(y0, 2)),
                          (round(x0 + w, 2), round(y0 + d, 2)), (round(x0, 2), round(y0 + d, 2))))
        markings = tuple(polys)
    marks = ((40, 200, 230), (240, 240, 240), (60, 60, 220), (60, 170, 60))
    return DeskSpec(
        width_cm=round(W, 1), depth_cm=round(D, 1), thickness_cm=round(float(rng.uniform(2.0, 5.0)), 2),
        height_cm=round(float(rng.uniform(72, 110)), 1), material=material, colour_bgr=colour,
        edge_colour_bgr=edge, body_colour_bgr=body, floor=floor, floor_colour_bgr=floor_colour,
        texture_seed=int(rng.integers(0, 2**31 - 1)), markings_cm=markings,
        marking_colour_bgr=marks[int(rng.integers(0, len(marks)))],
    )


def sample_light(rng: np.random.Generator) -> LightSpec:
    elev = math.radians(rng.uniform(40, 88))
    az = rng.uniform(0, 2 * math.pi)
    direction = (math.cos(elev) * math.cos(az), math.cos(elev) * math.sin(az), math.sin(elev))
    tint = tuple(float(v) for v in rng.uniform(0.96, 1.04, size=3))
    return LightSpec(direction=_t3(direction), ambient=float(rng.uniform(0.4, 0.65)),
                     diffuse=float(rng.uniform(0.3, 0.6)), colour_bgr=tint,
                     shadow_strength=float(rng.uniform(0.15, 0.55)),
                     shadow_softness_cm=float(rng.uniform(0.4, 3.0)))


def sample_effects(rng: np.random.Generator) -> Effects:
    return Effects(
        exposure=float(rng.uniform(0.75, 1.25)), gamma=float(rng.uniform(0.85, 1.15)),
        white_balance=_t3(rng.uniform(0.95, 1.05, size=3)),
        blur_sigma_px=0.0 if rng.random() < 0.5 else float(rng.uniform(0.3, 1.5)),
        noise_sigma=float(rng.uniform(0.0, 6.0)), vignette=float(rng.uniform(0.0, 0.35)),
        jpeg_quality=int(rng.integers(55, 96)),
    )


def sample_item_size(rng: np.random.Generator, class_name: str,
                     jitter: float = 0.15) -> tuple[Vec2, float]:
    """Footprint (width, depth) and height jittered around the class prior (or clutter nominal)."""
    w, d, h = CLASS_PRIORS_CM.get(class_name) or CLUTTER_KINDS[class_name]
    f = rng.uniform(1 - jitter, 1 + jitter, size=3)
    if class_name in ("cup", "bottle", "ink_pad", "plant"):
        f[1] = f[0]  # round things stay round
    if class_name == "brochure":
        f[2] = rng.uniform(0.3, 3.5)  # from a single leaflet to a thick stack
    return (round(w * f[0], 2), round(d * f[1], 2)), round(h * f[2], 2)


def sample_yaw(rng: np.random.Generator, class_name: str) -> float:
    if rng.random() < 0.7:
        return float(rng.normal(0.0, 4.0))  # mostly kept square to the desk
    if class_name in LOOSE_CLASSES:
        return float(rng.uniform(-90.0, 90.0))
    return float(rng.uniform(-30.0, 30.0))


def make_atypical(rng: np.random.Generator, spec: ItemSpec) -> ItemSpec:
    """`spec` with its class's atypical shape, sized as such things are, inside its old box.

    The box keeps its customer-side face (local -y) where it was, so an item placed near the
    front edge stays there and the new box never overlaps a neighbour."""
    w, d = spec.size_cm
    h = spec.height_cm
    variant = spec.variant
    name = spec.class_name
    if name == "mouse":
        h = rng.uniform(2.0, 3.0)  # a plain low cuboid, no hump
    elif name == "telephone":
        h = rng.uniform(4.0, 7.0)
    elif name == "document_camera":
        h = rng.uniform(4.0, 6.0)  # a scanner-like slab, no arm
    elif name == "monitor":
        variant = int(rng.integers(0, 2))
        panel_h = w * rng.uniform(0.55, 0.62)
        if variant == MONITOR_ON_FOOT:
            h, new_d = MONITOR_FOOT_CM + panel_h, rng.uniform(12.0, 17.0)
        else:  # the panel on its bottom edge, a kickstand behind it
            h, new_d = panel_h, rng.uniform(6.0, 12.0)
        d = min(d, new_d)
    elif name != "cup":  # a cup keeps its size: only the handle goes
        raise ValueError(f"no atypical shape for class {name!r}")
    d = round(d, 2)
    shift = (spec.size_cm[1] - d) / 2  # toward local -y, the customer side
    a = math.radians(spec.yaw_deg)
    cx, cy = spec.center_cm
    center = (round(cx + math.sin(a) * shift, 2), round(cy - math.cos(a) * shift, 2))
    return replace(spec, center_cm=center, size_cm=(w, d), height_cm=round(float(h), 2), variant=variant,
                   atypical=True)


def place_items(
    rng: np.random.Generator,
    desk: DeskSpec,
    wanted: Sequence[str],
    placed: Sequence[ItemSpec] = (),
    edge_item_prob: float = 0.25,
    gap_cm: float = 1.0,
    tries: int = 60,
) -> list[ItemSpec]:
    """Place objects of the `wanted` kinds without overlap; some near or over the front edge."""
    desk_poly = shapely_box(0, 0, desk.width_cm, desk.depth_cm)
    occupied = [p.box_polygon_cm().buffer(gap_cm) for p in placed]
    out: list[ItemSpec] = []
    for name in wanted:
        size, height = sample_item_size(rng, name)
        yaw = sample_yaw(rng, name)
        near_front = rng.random() < edge_item_prob
        for _ in range(tries):
            probe = rotated_rect((0.0, 0.0), size, yaw)
            minx, miny, maxx, maxy = probe.bounds
            ex, ey = maxx - minx, maxy - miny
            if ex > desk.width_cm - 1 or ey > desk.depth_cm - 1:
                break
            cx = rng.uniform(-minx + 0.5, desk.width_cm - maxx - 0.5)
            if near_front:
                # Front margin from 5 cm down to a 30 % overhang over the customer edge.
                margin = rng.uniform(-0.3 * ey, 5.0)
                cy = margin - miny
            else:
                cy = rng.uniform(-miny + 0.5, desk.depth_cm - maxy - 0.5)
            spec = ItemSpec(class_name=name, center_cm=(round(cx, 2), round(cy, 2)), size_cm=size,
                            height_cm=height, yaw_deg=round(yaw, 2),
                            appearance_seed=int(rng.integers(0, 2**31 - 1)))
            poly = spec.box_polygon_cm()
            if not near_front and not desk_poly.contains(poly):
                continue
            if any(poly.intersects(o) for o in occupied):
                continue
            occupied.append(poly.buffer(gap_cm))
            out.append(spec)
            break
    return out


def sample_scene(
    rng: np.random.Generator,
    desk: DeskSpec | None = None,
    camera: CameraSpec | None = None,
    classes: Sequence[str] = CANONICAL_CLASSES,
    n_items_range: tuple[int, int] = (3, 12),
    n_clutter_range: tuple[int, int] = (0, 3),
    edge_item_prob: float = 0.25,
    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE,
    camera_kwargs: dict | None = None,
    effects: bool = True,
    class_boost: Mapping[str, float] | None = None,
    atypical_share: float = 0.0,
) -> Scene:
    """A random desk scene: desk, camera, non-overlapping items of `classes`, clutter, light.

    `class_boost` multiplies a class's draw weight (training sets rich in the classes a model
    misses); the held-out set is drawn without it. `atypical_share` of the items of
    ATYPICAL_CLASSES get their class's atypical shape (make_atypical); those draws come last, so
    the scene is otherwise the one the same seed gives without them."""
    if not 0.0 <= atypical_share <= 1.0:
        raise ValueError(f"atypical_share must be in [0, 1], got {atypical_share!r}")
    desk = desk or sample_desk(rng)
    camera = camera or sample_camera(rng, desk, image_size=image_size, **(camera_kwargs or {}))
    boost = class_boost or {}
    weights = np.array([CLASS_WEIGHTS.get(c, 0.5) * boost.get(c, 1.0) for c in classes], dtype=np.float64)
    weights /= weights.sum()
    n = int(rng.integers(n_items_range[0], n_items_range[1] + 1))
    wanted: list[str] = []
    counts: dict[str, int] = {}
    for _ in range(n * 3):
        if len(wanted) >= n:
            break
        c = str(rng.choice(list(classes), p=weights))
        if counts.get(c, 0) >= MAX_PER_DESK.get(c, 3):
            continue
        counts[c] = counts.get(c, 0) + 1
        wanted.append(c)
    # Big things first so the small ones fill the gaps.
    wanted.sort(key=lambda c: -np.prod(CLASS_PRIORS_CM.get(c, (10, 10, 1))[:2]))
    items = place_items(rng, desk, wanted, edge_item_prob=edge_item_prob)
    nc = int(rng.integers(n_clutter_range[0], n_clutter_range[1] + 1))
    kinds = [str(k) for k in rng.choice(list(CLUTTER_KINDS), size=nc)]
    clutter = place_items(rng, desk, kinds, placed=items, edge_item_prob=0.0)
    light = sample_light(rng)
    photo = sample_effects(rng) if effects else Effects()
    if atypical_share > 0:  # no extra draws otherwise: existing seeds give the same scenes
        items = [make_atypical(rng, it) if it.class_name in ATYPICAL_CLASSES and rng.random() < atypical_share
                 else it for it in items]
    return Scene(camera=camera, desk=desk, items=tuple(items), clutter=tuple(clutter), light=light, effects=photo)


def _t3(v) -> Vec3:
    a = np.asarray(v, dtype=np.float64).ravel()
    return (float(a[0]), float(a[1]), float(a[2]))


def _t33(m: np.ndarray):
    return tuple(tuple(float(v) for v in row) for row in np.asarray(m, dtype=np.float64))
