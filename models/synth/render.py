"""CPU rasteriser for synthetic counter-desk photos with exact, occlusion-aware ground truth.

How it works, in one pass per image:

1. every pixel centre gets its viewing ray (lens distortion undone with cv2.undistortPoints);
2. the floor (and a far wall) is ray-cast per pixel;
3. desk and items are convex parts: back faces are culled, the front faces' outlines are
   projected with cv2.projectPoints (edges subdivided under distortion so they bend), filled
   into a face-id crop, and each covered pixel gets its exact depth by intersecting its ray
   with the face plane -> z-buffer test, Lambert shading, textures looked up at the 3D hit
   point;
4. shadows are drawn into the desk texture by projecting each part along the light onto
   z = 0 (plus a soft contact shadow), before the desk is drawn;
5. photo effects: exposure, white balance, gamma, vignette, blur, noise, JPEG.

An item-id buffer is written with the colours, so each item's visible box and visible
fraction are exact after occlusion.  Pixel convention of the SPEC: the pixel (i, j) covers
[j, j+1) x [i, i+1), so its centre is (j + 0.5, i + 0.5).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from .scene import CameraSpec, DeskSpec, Effects, LightSpec, Scene
from .shapes import ItemMesh, Part, Texture, box, build_mesh, quad_tex

SHIFT = 4  # fixed-point bits for cv2.fillPoly
_ONE = 1 << SHIFT


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemTruth:
    """Exact ground truth for one scene object in one rendered image."""

    index: int  # position in Scene.items (or Scene.clutter)
    class_name: str
    footprint_cm: tuple[tuple[float, float], ...]  # convex hull seen from above, CCW, on z = 0
    height_cm: float
    center_cm: tuple[float, float]
    yaw_deg: float
    front_margin_cm: float  # min y of the item (distance from the front edge; < 0 overhangs)
    bbox_full_px: tuple[float, float, float, float] | None  # whole projected item, clipped; None if off-image
    bbox_visible_px: tuple[float, float, float, float] | None  # its visible pixels (within bbox_full)
    visible_fraction: float  # visible px / px the item would cover alone (inside the image)
    in_image_fraction: float  # share of the unclipped full box that lies inside the image
    visible_px: float  # visible area in output pixels

    def to_dict(self) -> dict:
        def r(v, nd=3):
            return None if v is None else [round(float(x), nd) for x in v]
        return {
            "index": self.index, "class": self.class_name,
            "footprint_cm": [[round(x, 3), round(y, 3)] for x, y in self.footprint_cm],
            "height_cm": round(self.height_cm, 3), "center_cm": r(self.center_cm),
            "yaw_deg": round(self.yaw_deg, 3), "front_margin_cm": round(self.front_margin_cm, 3),
            "bbox_full_px": r(self.bbox_full_px), "bbox_visible_px": r(self.bbox_visible_px),
            "visible_fraction": round(self.visible_fraction, 4),
            "in_image_fraction": round(self.in_image_fraction, 4), "visible_px": round(self.visible_px, 2),
        }


@dataclass(frozen=True)
class Rendered:
    image: np.ndarray = field(repr=False)  # (H, W, 3) BGR uint8
    items_truth: tuple[ItemTruth, ...]
    desk_corners_px: np.ndarray  # (4, 2): desk (0,0,0), (W,0,0), (W,D,0), (0,D,0)
    camera: CameraSpec  # the camera at the output image size
    id_buffer: np.ndarray = field(repr=False)  # int16: 0 desk/background, i+1 item i, -(j+1) clutter j
    clutter_truth: tuple[ItemTruth, ...] = ()
    render_ms: float = 0.0

    def truth_dict(self, scene: Scene | None = None) -> dict:
        d = {
            "image_size": list(self.camera.image_size),
            "camera": self.camera.to_dict(),
            "desk_corners_px": [[round(float(x), 3), round(float(y), 3)] for x, y in self.desk_corners_px],
            "items": [t.to_dict() for t in self.items_truth],
            "clutter": [t.to_dict() for t in self.clutter_truth],
        }
        if scene is not None:
            d["desk"] = {"width_cm": scene.desk.width_cm, "depth_cm": scene.desk.depth_cm,
                         "outline_cm": [list(p) for p in scene.desk.outline_cm], "front_edge": 0}
        return d


# --------------------------------------------------------------------------------------
# Rays
# --------------------------------------------------------------------------------------


def undistort_normalized(px: np.ndarray, K: np.ndarray, dist: np.ndarray, iterations: int = 10) -> np.ndarray:
    """Image px (N, 2) -> ideal normalised coordinates (N, 2), inverting OpenCV's 5-coefficient
    model: cv2.undistortPoints as the start, then Newton steps (its fixed-point iteration
    alone can stall far from the centre of strong lenses)."""
    k1, k2, p1, p2, k3 = (float(v) for v in np.asarray(dist, np.float64).ravel()[:5])
    xd = (px[:, 0] - K[0, 2] - K[0, 1] * (px[:, 1] - K[1, 2]) / K[1, 1]) / K[0, 0]
    yd = (px[:, 1] - K[1, 2]) / K[1, 1]
    start = cv2.undistortPoints(px.reshape(-1, 1, 2).astype(np.float64), K, dist).reshape(-1, 2)
    x, y = start[:, 0].copy(), start[:, 1].copy()
    for _ in range(iterations):
        r2 = x * x + y * y
        rad = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        drad = k1 + 2 * k2 * r2 + 3 * k3 * r2**2  # d rad / d r2
        fx = x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) - xd
        fy = y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y - yd
        a = rad + 2 * x * x * drad + 2 * p1 * y + 6 * p2 * x
        b = 2 * x * y * drad + 2 * p1 * x + 2 * p2 * y
        c = 2 * x * y * drad + 2 * p1 * x + 2 * p2 * y
        d = rad + 2 * y * y * drad + 6 * p1 * y + 2 * p2 * x
        det = a * d - b * c
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        x = x - (d * fx - b * fy) / det
        y = y - (a * fy - c * fx) / det
    return np.column_stack([x, y])


@functools.lru_cache(maxsize=4)  # the example renders one camera many times
def pixel_rays(camera: CameraSpec) -> np.ndarray:
    """(H, W, 3) float32 desk-frame ray directions through pixel centres, scaled so the
    camera-frame z component is 1 (so a ray parameter t equals camera depth in cm)."""
    w, h = camera.image_size
    K = camera.K_array
    if camera.has_distortion:
        step = 4  # undistort a coarse grid and interpolate: the field is smooth
        gu = np.arange(0, w + step, step, dtype=np.float64) + 0.5
        gv = np.arange(0, h + step, step, dtype=np.float64) + 0.5
        uu, vv = np.meshgrid(gu, gv)
        pts = np.stack([uu, vv], -1).reshape(-1, 1, 2)
        und = undistort_normalized(pts.reshape(-1, 2), K, camera.dist_array).reshape(len(gv), len(gu), 2)
        mx, my = np.meshgrid(np.arange(w, dtype=np.float32) / step, np.arange(h, dtype=np.float32) / step)
        xn = cv2.remap(und[..., 0].astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        yn = cv2.remap(und[..., 1].astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    else:
        u = (np.arange(w, dtype=np.float64) + 0.5 - K[0, 2]) / K[0, 0]
        v = (np.arange(h, dtype=np.float64) + 0.5 - K[1, 2]) / K[1, 1]
        xn, yn = np.meshgrid(u, v)
        xn = xn - (K[0, 1] / K[0, 0]) * yn  # skew, if any
    rc = np.stack([xn, yn, np.ones_like(xn)], -1).astype(np.float32)
    rays = rc @ camera.R.astype(np.float32)  # world = R^T rc, written row-wise
    rays.setflags(write=False)
    return rays


# --------------------------------------------------------------------------------------
# Procedural desk and floor
# --------------------------------------------------------------------------------------


def _smooth_noise(rng, shape, cells) -> np.ndarray:
    small = rng.normal(size=(max(2, cells[0]), max(2, cells[1]))).astype(np.float32)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def desk_texture(desk: DeskSpec, px_per_cm: float) -> np.ndarray:
    """(th, tw, 3) float32 BGR desk top; row 0 is the back edge y = D, column 0 is x = 0."""
    tw, th = max(8, int(round(desk.width_cm * px_per_cm))), max(8, int(round(desk.depth_cm * px_per_cm)))
    rng = np.random.default_rng(desk.texture_seed)
    base = np.array(desk.colour_bgr, np.float32)
    if desk.material == "wood":
        # Long grain along x: growth lines bent by a gentle low-frequency warp, plus fine streaks.
        warp = _smooth_noise(rng, (th, tw), (3, 5))
        rows = np.arange(th, dtype=np.float32)[:, None]
        period = rng.uniform(1.5, 3.5) * px_per_cm
        grain = np.sin(2 * np.pi * (rows / period + 0.35 * warp + 0.02 * _smooth_noise(rng, (th, tw), (20, 4))))
        grain = np.sign(grain) * np.abs(grain) ** 3  # thin dark/light lines rather than waves
        streak = cv2.resize(rng.normal(size=(th, max(2, tw // 40))).astype(np.float32), (tw, th),
                            interpolation=cv2.INTER_LINEAR)
        streak = cv2.GaussianBlur(streak, (0, 0), max(0.4, 0.1 * px_per_cm))
        lum = 1 + 0.035 * grain + 0.05 * streak + 0.05 * _smooth_noise(rng, (th, tw), (3, 6))
    elif desk.material == "laminate":
        fine = cv2.GaussianBlur(rng.normal(size=(th, tw)).astype(np.float32), (0, 0), 0.8)
        lum = 1 + 0.025 * _smooth_noise(rng, (th, tw), (4, 8)) + 0.04 * fine
    else:
        lum = 1 + 0.02 * _smooth_noise(rng, (th, tw), (3, 5))
    tex = lum[..., None] * base[None, None, :]
    if desk.markings_cm:
        width = max(1, int(round(1.5 * px_per_cm)))
        for poly in desk.markings_cm:
            pts = np.array([[x * px_per_cm - 0.5, (desk.depth_cm - y) * px_per_cm - 0.5] for x, y in poly])
            cv2.polylines(tex, [np.round(pts * _ONE).astype(np.int32)], True,
                          tuple(float(c) for c in desk.marking_colour_bgr), width, cv2.LINE_AA, SHIFT)
    return tex


def _floor_and_wall(rays: np.ndarray, C: np.ndarray, desk: DeskSpec, light: LightSpec) -> np.ndarray:
    h, w = rays.shape[:2]
    rng = np.random.default_rng(desk.texture_seed + 1)
    rz = rays[..., 2]
    zf = -desk.height_cm
    down = rz < -1e-6
    t = np.where(down, (zf - C[2]) / np.where(down, rz, -1.0), 0.0).astype(np.float32)
    X = C[0] + t * rays[..., 0]
    Y = C[1] + t * rays[..., 1]
    dist = np.hypot(X - desk.width_cm / 2, Y - desk.depth_cm / 2)
    hit = down & (dist < 3000)
    Xc, Yc = np.where(hit, X, 0), np.where(hit, Y, 0)
    base = np.array(desk.floor_colour_bgr, np.float32)
    if desk.floor == "tiles":
        tile = float(rng.uniform(40, 80))
        fx, fy = Xc / tile, Yc / tile
        ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
        hsh = ((ix * 73856093) ^ (iy * 19349663)) & 1023
        lum = 0.94 + 0.12 * (hsh / 1023.0)
        gx, gy = (fx - ix) * tile, (fy - iy) * tile
        grout = (np.minimum(gx, tile - gx) < 0.3) | (np.minimum(gy, tile - gy) < 0.3)
        # grout lines fade with distance so far tiles do not alias into moire
        lum = np.where(grout, 0.7 + 0.3 * np.clip((dist - 250) / 400, 0, 1), lum)
    elif desk.floor == "carpet":
        ix, iy = np.floor(Xc * 2).astype(np.int64), np.floor(Yc * 2).astype(np.int64)
        hsh = ((ix * 73856093) ^ (iy * 19349663)) & 255
        lum = 0.9 + 0.2 * (hsh / 255.0)
    else:
        lum = np.ones_like(Xc) * 1.0
    # The counter shades the floor beneath and around it.
    out = np.maximum.reduce([-Xc, Xc - desk.width_cm, -Yc, Yc - desk.depth_cm])
    under = 0.5 + 0.5 * np.clip(out / 40.0, 0, 1)
    L = np.asarray(light.direction, np.float32)
    shade = (light.ambient + light.diffuse * max(0.0, float(L[2]))) * 0.9
    floor = (lum * under * shade)[..., None] * base
    wall_c = np.array(desk.floor_colour_bgr, np.float32) * 0.5 + 90
    rows = np.linspace(1.05, 0.9, h, dtype=np.float32)[:, None, None]
    wall = np.broadcast_to(wall_c * rows * (light.ambient + 0.3), (h, w, 3))
    fog = np.clip((dist - 400) / 1200, 0, 1)[..., None]
    img = np.where(hit[..., None], floor * (1 - fog) + wall * fog, wall)
    return img.astype(np.float32)


# --------------------------------------------------------------------------------------
# Rasteriser
# --------------------------------------------------------------------------------------


def _sample_texture(img: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup at texel coordinates (pixel centres at integers) -> (n, 3) float32."""
    n = len(u)
    cols = 1024
    rows = (n + cols - 1) // cols
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n], my[:n] = u, v
    out = cv2.remap(img, mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, 3)[:n].astype(np.float32)


class _Raster:
    def __init__(self, camera: CameraSpec, light: LightSpec, background: np.ndarray):
        self.cam = camera
        self.w, self.h = camera.image_size
        self.rays = pixel_rays(camera).reshape(-1, 3)
        self.C = camera.center_cm.astype(np.float64)
        self.R = camera.R
        self.t = np.asarray(camera.tvec, np.float64)
        self.rvec = np.asarray(camera.rvec, np.float64)
        self.K = camera.K_array
        self.dist = camera.dist_array
        self.distorted = camera.has_distortion
        self.f = float(self.K[0, 0])
        if self.distorted:
            # Undistorted extent of the image (+ margin): geometry beyond it is clipped away
            # before projecting, because a distortion polynomial folds back far outside.
            w, h = self.w, self.h
            border = np.array([[0, 0], [w / 2, 0], [w, 0], [w, h / 2], [w, h], [w / 2, h], [0, h], [0, h / 2]],
                              np.float64).reshape(-1, 1, 2)
            und = undistort_normalized(border.reshape(-1, 2), self.K, self.dist)
            self.clip_xy = np.abs(und).max(axis=0) * 1.03 + 0.01
        L = np.asarray(light.direction, np.float64)
        self.L = L / np.linalg.norm(L)
        self.light = light
        self.img = background.reshape(-1, 3).copy()
        self.z = np.full(self.w * self.h, np.inf, np.float32)
        self.ids = np.zeros(self.w * self.h, np.int16)
        self.stamp = np.zeros(self.w * self.h, np.int32)
        self._mips: dict[tuple[int, int], np.ndarray] = {}
        self.z_desk: np.ndarray | None = None  # depth after the desk, before any item

    def freeze_desk(self) -> None:
        self.z_desk = self.z.copy()

    # ---- projection ----------------------------------------------------------------

    def _clip(self, loop: np.ndarray) -> np.ndarray:
        """Clip a planar loop (desk cm) to the pyramid |x| <= ax z, |y| <= ay z (camera frame)."""
        pc = loop @ self.R.T + self.t
        ax, ay = self.clip_xy
        planes = ((1.0, 0.0, -ax), (-1.0, 0.0, -ax), (0.0, 1.0, -ay), (0.0, -1.0, -ay))
        tests = np.array(planes) @ pc.T  # (4, n): <= 0 inside
        if np.all(tests <= 0):
            return loop
        poly = pc
        for plane in planes:
            if len(poly) == 0:
                break
            d = poly @ np.array(plane)
            out = []
            for i in range(len(poly)):
                j = (i + 1) % len(poly)
                if d[i] <= 0:
                    out.append(poly[i])
                if (d[i] <= 0) != (d[j] <= 0):
                    a = d[i] / (d[i] - d[j])
                    out.append(poly[i] + a * (poly[j] - poly[i]))
            poly = np.array(out).reshape(-1, 3)
        if len(poly) < 3:
            return np.zeros((0, 3))
        return (poly - self.t) @ self.R  # back to desk cm

    def _subdivide(self, loop: np.ndarray) -> np.ndarray:
        if not self.distorted:
            return loop
        b = np.roll(loop, -1, axis=0)
        mid = (loop + b) / 2
        depth = np.maximum((mid @ self.R.T + self.t)[:, 2], 1.0)
        k = np.clip(np.ceil(self.f * np.linalg.norm(b - loop, axis=1) / depth / 10.0), 1, 48).astype(int)
        return np.vstack([loop[i] + (b[i] - loop[i]) * (np.arange(k[i])[:, None] / k[i]) for i in range(len(loop))])

    def _project(self, pts: np.ndarray) -> np.ndarray:
        px, _ = cv2.projectPoints(pts.astype(np.float64), self.rvec, self.t, self.K, self.dist)
        return px.reshape(-1, 2)

    # ---- textures --------------------------------------------------------------------

    def _mip(self, img: np.ndarray, level: int) -> np.ndarray:
        key = (id(img), level)
        m = self._mips.get(key)
        if m is None:
            m = img
            for _ in range(level):
                if min(m.shape[:2]) < 4:
                    break
                m = cv2.resize(m, ((m.shape[1] + 1) // 2, (m.shape[0] + 1) // 2), interpolation=cv2.INTER_AREA)
            self._mips[key] = m
        return m

    def _texture(self, tex: Texture, P: np.ndarray, depth: np.ndarray) -> np.ndarray:
        # Choose a pre-filtered level so printed detail does not alias into noise.
        texel_cm = np.linalg.norm(tex.u_axis) / tex.image.shape[1]
        px_cm = self.f / max(float(np.median(depth)), 1.0)  # image px per cm at this depth
        level = int(np.clip(np.floor(np.log2(max(1.0 / (texel_cm * px_cm), 1.0))), 0, 5))
        img = self._mip(tex.image, level)
        d = P - tex.origin
        u = d @ tex.u_axis / float(tex.u_axis @ tex.u_axis) * img.shape[1] - 0.5
        v = d @ tex.v_axis / float(tex.v_axis @ tex.v_axis) * img.shape[0] - 0.5
        return _sample_texture(img, u.astype(np.float32), v.astype(np.float32))

    # ---- drawing ---------------------------------------------------------------------

    def draw_part(self, part: Part, item_id: int, stamp_id: int) -> tuple[int, tuple | None]:
        """Z-buffer one convex part.

        Returns the pixels it adds to the item's silhouette and the unclipped bbox of its
        projection (the front faces' outlines carry a closed solid's whole silhouette).
        """
        faces = [f for f in part.faces if float(f.normal @ (self.C - f.vertices[0])) > 1e-9]
        if not faces:
            return 0, None
        if self.distorted:
            clipped = [self._clip(f.vertices) for f in faces]
            faces = [f for f, c in zip(faces, clipped) if len(c)]
            loops = [self._subdivide(c) for c in clipped if len(c)]
            if not faces:
                return 0, None
        else:
            loops = [f.vertices for f in faces]
        allpts = np.vstack(loops)
        if np.any((allpts @ self.R.T + self.t)[:, 2] <= 0.5):
            return 0, None  # behind or at the camera: not a desk scene we draw
        px = self._project(allpts)
        bbox = (float(px[:, 0].min()), float(px[:, 1].min()), float(px[:, 0].max()), float(px[:, 1].max()))
        x0 = max(0, int(math.floor(bbox[0] - 1)))
        y0 = max(0, int(math.floor(bbox[1] - 1)))
        x1 = min(self.w, int(math.ceil(bbox[2] + 1)))
        y1 = min(self.h, int(math.ceil(bbox[3] + 1)))
        if x1 <= x0 or y1 <= y0:
            return 0, bbox
        fid = np.zeros((y1 - y0, x1 - x0), np.uint8)
        start = 0
        for k, lp in enumerate(loops):
            q = px[start:start + len(lp)]
            start += len(lp)
            pts = np.round((q - 0.5 - [x0, y0]) * _ONE).astype(np.int32).reshape(-1, 1, 2)
            cv2.fillPoly(fid, [pts], k + 1, cv2.LINE_8, SHIFT)
        ys, xs = np.nonzero(fid)
        if len(ys) == 0:
            return 0, bbox
        flat = (ys + y0) * self.w + (xs + x0)
        fi = fid[ys, xs].astype(np.intp) - 1
        N = np.array([f.normal for f in faces], np.float32)
        num = np.array([f.normal @ (f.vertices[0] - self.C) for f in faces], np.float32)
        r = self.rays[flat]
        den = np.einsum("ij,ij->i", N[fi], r)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = num[fi] / den
        ok = (den < 0) & (t > 0) & np.isfinite(t)
        if self.z_desk is not None:
            # Silhouette = what the item would cover with only the desk there (exact
            # visible fraction: an unoccluded item scores 1).
            sil = flat[ok & (t < self.z_desk[flat])]
            added = int(np.count_nonzero(self.stamp[sil] != stamp_id))
            self.stamp[sil] = stamp_id
        else:
            added = 0
        win = ok & (t < self.z[flat])
        if not win.any():
            return added, bbox
        fw, tw, flw, rw = fi[win], t[win], flat[win], r[win]
        shade = np.array([self.light.ambient + self.light.diffuse * max(0.0, float(f.normal @ self.L)) for f in faces])
        emis = np.array([f.emissive for f in faces])
        gain = (shade * (1 - emis) + emis).astype(np.float32)
        colour = (np.array([f.colour for f in faces], np.float32) * gain[:, None])[fw]
        for k, f in enumerate(faces):
            if f.texture is None:
                continue
            sel = fw == k
            if not sel.any():
                continue
            P = self.C[None, :] + tw[sel, None].astype(np.float64) * rw[sel].astype(np.float64)
            colour[sel] = self._texture(f.texture, P, tw[sel]) * gain[k]
        self.img[flw] = colour
        self.z[flw] = tw
        self.ids[flw] = item_id
        return added, bbox


# --------------------------------------------------------------------------------------
# Scene assembly
# --------------------------------------------------------------------------------------


def _desk_px_per_cm(camera: CameraSpec, desk: DeskSpec) -> float:
    c = desk.corners_cm
    px = camera.project(c)
    lengths = [desk.width_cm, desk.depth_cm, desk.width_cm, desk.depth_cm]
    ppc = max(float(np.linalg.norm(px[(i + 1) % 4] - px[i])) / lengths[i] for i in range(4))
    return float(np.clip(ppc * 1.2, 1.5, 12.0))


def _shadow_factor(meshes: list[ItemMesh], desk: DeskSpec, ppc: float, light: LightSpec,
                   shape: tuple[int, int]) -> np.ndarray:
    th, tw = shape
    L = np.asarray(light.direction, np.float64)
    L = L / np.linalg.norm(L)
    cast = np.zeros((th, tw), np.float32)
    contact = np.zeros((th, tw), np.float32)

    def to_tex(xy):
        return np.column_stack([xy[:, 0] * ppc - 0.5, (desk.depth_cm - xy[:, 1]) * ppc - 0.5])

    for mesh in meshes:
        for part in mesh.parts:
            v = part.vertices
            s = v[:, :2] - (v[:, 2:3] / max(L[2], 0.05)) * L[None, :2]
            hull = cv2.convexHull(to_tex(s).astype(np.float32)).reshape(-1, 2)
            cv2.fillPoly(cast, [np.round(hull * _ONE).astype(np.int32)], 1.0, cv2.LINE_AA, SHIFT)
        fp = mesh.footprint_cm()
        cv2.fillPoly(contact, [np.round(to_tex(fp) * _ONE).astype(np.int32)], 1.0, cv2.LINE_AA, SHIFT)
    cast = cv2.GaussianBlur(cast, (0, 0), max(0.6, light.shadow_softness_cm * ppc))
    contact = cv2.GaussianBlur(contact, (0, 0), max(0.6, 1.2 * ppc))
    return (1 - light.shadow_strength * np.clip(cast, 0, 1)) * (1 - 0.25 * np.clip(contact, 0, 1))


def _desk_parts(desk: DeskSpec, top_img: np.ndarray) -> list[Part]:
    W, D, T = desk.width_cm, desk.depth_cm, desk.thickness_cm
    slab = box(0, W, 0, D, -T, 0, desk.edge_colour_bgr)
    faces = list(slab.faces)
    # faces[1] is the top: white albedo times the baked desk texture (with its shadows)
    faces[1] = replace(faces[1], colour=np.array([255.0, 255.0, 255.0]),
                       texture=quad_tex(top_img, (0, D, 0), (W, D, 0), (0, 0, 0)))
    body = box(1.0, W - 1.0, 1.0, max(2.0, 0.6 * D), -desk.height_cm, -T, desk.body_colour_bgr,
               side_colours=[desk.body_colour_bgr, tuple(0.85 * c for c in desk.body_colour_bgr),
                             desk.body_colour_bgr, tuple(0.85 * c for c in desk.body_colour_bgr)])
    return [Part(tuple(faces)), body]


@functools.lru_cache(maxsize=4)
def _vignette_r2(w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (((xx + 0.5 - w / 2) ** 2 + (yy + 0.5 - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2))[..., None]


def _finish(img: np.ndarray, effects: Effects, light: LightSpec, rng: np.random.Generator,
            out_size: tuple[int, int], supersample: int) -> np.ndarray:
    if supersample > 1:
        img = cv2.resize(img, out_size, interpolation=cv2.INTER_AREA)
        soft = 0.0
    else:
        soft = 0.5  # lens softness; also hides stair-stepped polygon edges
    h, w = img.shape[:2]
    gain = (np.asarray(light.colour_bgr, np.float32) * np.asarray(effects.white_balance, np.float32)
            * np.float32(effects.exposure))
    x = img * gain[None, None, :]
    if effects.vignette > 0:
        x *= 1 - np.float32(effects.vignette) * _vignette_r2(w, h)
    out = cv2.convertScaleAbs(x)  # saturating round to uint8
    sigma = math.hypot(soft, effects.blur_sigma_px)
    if sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    if abs(effects.gamma - 1.0) > 1e-6:
        lut = np.clip(255.0 * (np.arange(256) / 255.0) ** (1.0 / effects.gamma) + 0.5, 0, 255).astype(np.uint8)
        out = cv2.LUT(out, lut)
    if effects.noise_sigma > 0:
        # Luminance noise (what survives a CCTV encoder), seeded from the caller's rng.
        cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))
        n = np.empty((h, w), np.int16)
        cv2.randn(n, 0, float(effects.noise_sigma))
        out = np.clip(out.astype(np.int16) + n[..., None], 0, 255).astype(np.uint8)
    if effects.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(effects.jpeg_quality)])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def _truth(index: int, mesh: ItemMesh, full: tuple | None, visible_mask_px: tuple | None,
           sil_px: int, vis_px: int, ss: int, out_size: tuple[int, int]) -> ItemTruth:
    w, h = out_size
    spec = mesh.spec
    fp = mesh.footprint_cm()
    bbox_full = bbox_vis = None
    in_img = 0.0
    if full is not None:
        fx0, fy0, fx1, fy1 = (v / ss for v in full)
        area = max(fx1 - fx0, 1e-9) * max(fy1 - fy0, 1e-9)
        cx0, cy0, cx1, cy1 = max(fx0, 0.0), max(fy0, 0.0), min(fx1, float(w)), min(fy1, float(h))
        if cx1 > cx0 and cy1 > cy0:
            bbox_full = (cx0, cy0, cx1, cy1)
            in_img = (cx1 - cx0) * (cy1 - cy0) / area
    if visible_mask_px is not None and bbox_full is not None:
        vx0, vy0, vx1, vy1 = (v / ss for v in visible_mask_px)
        bx0, by0 = max(vx0, bbox_full[0]), max(vy0, bbox_full[1])
        bx1, by1 = min(vx1, bbox_full[2]), min(vy1, bbox_full[3])
        if bx1 > bx0 and by1 > by0:
            bbox_vis = (bx0, by0, bx1, by1)
    return ItemTruth(
        index=index, class_name=spec.class_name,
        footprint_cm=tuple((float(x), float(y)) for x, y in fp),
        height_cm=mesh.height_cm, center_cm=(float(spec.center_cm[0]), float(spec.center_cm[1])),
        yaw_deg=float(spec.yaw_deg), front_margin_cm=mesh.front_margin_cm(),
        bbox_full_px=bbox_full, bbox_visible_px=bbox_vis,
        visible_fraction=float(vis_px / sil_px) if sil_px > 0 else 0.0,
        in_image_fraction=float(in_img), visible_px=float(vis_px) / (ss * ss),
    )


def render(scene: Scene, rng: np.random.Generator | None = None, image_size: tuple[int, int] | None = None,
           supersample: int = 1, effects: bool = True) -> Rendered:
    """Render `scene` to a BGR photo with exact per-item ground truth.

    `image_size` resamples the scene camera (same view, other resolution); `supersample`
    renders at that many times the size and averages down (cleaner edges, slower);
    `effects=False` skips the photo effects (exposure, noise, JPEG...).  `rng` only drives
    sensor noise: the picture itself is fixed by the scene.
    """
    t0 = time.perf_counter()
    rng = rng if rng is not None else np.random.default_rng(0)
    out_cam = scene.camera if image_size is None else scene.camera.scaled(image_size)
    ss = max(1, int(supersample))
    ow, oh = out_cam.image_size
    cam = out_cam.scaled((ow * ss, oh * ss)) if ss > 1 else out_cam
    desk = scene.desk
    meshes = [build_mesh(it) for it in scene.items]
    clutter = [build_mesh(it) for it in scene.clutter]

    ppc = _desk_px_per_cm(cam, desk)
    top = desk_texture(desk, ppc)
    top *= _shadow_factor(meshes + clutter, desk, ppc, scene.light, top.shape[:2])[..., None]

    rays = pixel_rays(cam)
    if cam.image_size[0] >= 400:  # background only: half resolution is plenty
        bg = _floor_and_wall(rays[::2, ::2], cam.center_cm, desk, scene.light)
        bg = cv2.resize(bg, cam.image_size, interpolation=cv2.INTER_LINEAR)
    else:
        bg = _floor_and_wall(rays, cam.center_cm, desk, scene.light)
    raster = _Raster(cam, scene.light, bg)
    for part in _desk_parts(desk, top):
        raster.draw_part(part, 0, 0)
    raster.freeze_desk()

    sil: list[int] = []
    fulls: list[tuple | None] = []
    for i, mesh in enumerate(meshes + clutter):
        item_id = i + 1 if i < len(meshes) else -(i - len(meshes) + 1)
        n_px = 0
        bb = None
        for part in mesh.parts:
            added, b = raster.draw_part(part, item_id, i + 1)
            n_px += added
            if b is not None:
                bb = b if bb is None else (min(bb[0], b[0]), min(bb[1], b[1]), max(bb[2], b[2]), max(bb[3], b[3]))
        sil.append(n_px)
        fulls.append(bb)

    ids = raster.ids.reshape(cam.image_size[1], cam.image_size[0])
    truths = []
    W, H = cam.image_size
    for i, mesh in enumerate(meshes + clutter):
        item_id = i + 1 if i < len(meshes) else -(i - len(meshes) + 1)
        bb = fulls[i]
        vis_box, vis_px = None, 0
        if bb is not None:
            x0, y0 = max(0, int(math.floor(bb[0])) - 1), max(0, int(math.floor(bb[1])) - 1)
            x1, y1 = min(W, int(math.ceil(bb[2])) + 1), min(H, int(math.ceil(bb[3])) + 1)
            if x1 > x0 and y1 > y0:
                ys, xs = np.nonzero(ids[y0:y1, x0:x1] == item_id)
                vis_px = len(ys)
                if vis_px:
                    vis_box = (float(xs.min() + x0), float(ys.min() + y0),
                               float(xs.max() + x0 + 1), float(ys.max() + y0 + 1))
        index = i if i < len(meshes) else i - len(meshes)
        truths.append(_truth(index, mesh, bb, vis_box, sil[i], vis_px, ss, (ow, oh)))

    img = raster.img.reshape(H, W, 3)
    image = _finish(img, scene.effects if effects else Effects(), scene.light, rng, (ow, oh), ss)
    id_out = ids[ss // 2::ss, ss // 2::ss].copy() if ss > 1 else ids.copy()
    return Rendered(
        image=image, items_truth=tuple(truths[:len(meshes)]), clutter_truth=tuple(truths[len(meshes):]),
        desk_corners_px=out_cam.project(desk.corners_cm), camera=out_cam, id_buffer=id_out,
        render_ms=(time.perf_counter() - t0) * 1000.0,
    )


def main(argv: list[str] | None = None) -> int:
    """Benchmark: `python -m models.synth.render --count 20 --width 1280 [--out DIR]`."""
    import argparse
    from pathlib import Path

    from .scene import sample_scene

    ap = argparse.ArgumentParser(prog="python -m models.synth.render", description="render random scenes, report speed")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--width", type=int, default=1280, help="image width; height keeps 16:9")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--supersample", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="also write the images here")
    args = ap.parse_args(argv)
    size = (args.width, int(round(args.width * 9 / 16)))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for i in range(args.count):
        rng = np.random.default_rng([args.seed, i])
        scene = sample_scene(rng)
        t0 = time.perf_counter()
        r = render(scene, rng, image_size=size, supersample=args.supersample)
        total += time.perf_counter() - t0
        if args.out:
            cv2.imwrite(str(args.out / f"scene_{i:04d}.jpg"), r.image)
    print(f"{args.count} images at {size[0]}x{size[1]}: {args.count / total:.2f} images/s "
          f"({1000 * total / args.count:.0f} ms each, scene sampling excluded)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
