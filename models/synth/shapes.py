"""3D meshes for every SPEC class (and some clutter), built from convex primitives.

A mesh is a list of `Part`s; each part is a closed convex solid made of planar faces with
outward normals, a colour and optionally a texture (an image pinned to the face plane).
Convex parts let the renderer cull back faces and z-test per part.  Builders work in the
item's own frame (x = width, y = depth with +y toward the staff, z up, origin at the
centre of the footprint on the desk) and keep every vertex inside
[-w/2, w/2] x [-d/2, d/2] x [0, h]; `build_mesh` then applies yaw and position.

Colours are BGR in 0..255.  All randomness comes from `ItemSpec.appearance_seed`, so an
`ItemSpec` always gives the same mesh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Sequence

import cv2
import numpy as np
from shapely.geometry import MultiPoint

from .scene import MONITOR_FOOT_CM, MONITOR_ON_FOOT, ItemSpec

TEX_PX_PER_CM = 10.0  # texture resolution for printed surfaces


# --------------------------------------------------------------------------------------
# Mesh records
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Texture:
    """An image pinned to a face: `origin` is the image's top-left corner, `u_axis` spans its
    width and `v_axis` its height (desk cm vectors)."""

    image: np.ndarray = field(repr=False)  # BGR uint8
    origin: np.ndarray
    u_axis: np.ndarray
    v_axis: np.ndarray

    def moved(self, R: np.ndarray, t: np.ndarray) -> "Texture":
        return Texture(self.image, R @ self.origin + t, R @ self.u_axis, R @ self.v_axis)


@dataclass(frozen=True)
class Face:
    vertices: np.ndarray  # (n, 3), planar convex loop
    colour: np.ndarray  # (3,) BGR float
    texture: Texture | None = None
    emissive: float = 0.0  # 0 = Lambert only, 1 = ignores the light (lit screens)
    normal: np.ndarray | None = None  # outward unit normal, set by `Part`


@dataclass(frozen=True)
class Part:
    """A closed convex solid; face normals point outward."""

    faces: tuple[Face, ...]

    @cached_property
    def vertices(self) -> np.ndarray:
        """All face vertices (shared corners repeat; fine for hulls and extents)."""
        return np.vstack([f.vertices for f in self.faces])

    def moved(self, R: np.ndarray, t: np.ndarray) -> "Part":
        return Part(tuple(
            replace(f, vertices=f.vertices @ R.T + t, normal=R @ f.normal,
                    texture=f.texture.moved(R, t) if f.texture is not None else None)
            for f in self.faces))


@dataclass(frozen=True)
class ItemMesh:
    """An item placed on the desk (desk cm) with its exact ground truth geometry."""

    spec: ItemSpec
    parts: tuple[Part, ...]

    @cached_property
    def vertices(self) -> np.ndarray:
        return np.vstack([p.vertices for p in self.parts])

    @property
    def height_cm(self) -> float:
        return float(self.vertices[:, 2].max())

    @cached_property
    def _footprint(self) -> np.ndarray:
        hull = MultiPoint(self.vertices[:, :2]).convex_hull
        coords = np.asarray(hull.exterior.coords)[:-1]
        # shapely gives the exterior clockwise here; the SPEC's polygons run counter-clockwise
        if _signed_area(coords) < 0:
            coords = coords[::-1]
        coords.setflags(write=False)
        return coords

    def footprint_cm(self) -> np.ndarray:
        """(k, 2) counter-clockwise convex hull of the item seen from straight above (z = 0)."""
        return self._footprint

    def front_margin_cm(self) -> float:
        """Distance of the item's outermost point from the front edge y = 0 (negative: over it)."""
        return float(self.vertices[:, 1].min())


# --------------------------------------------------------------------------------------
# Primitives
# --------------------------------------------------------------------------------------


def _col(c) -> np.ndarray:
    return np.asarray(c, dtype=np.float64).reshape(3)


def _signed_area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _newell(v: np.ndarray) -> np.ndarray:
    """Unit normal of a planar loop (right-hand rule), robust to collinear corners."""
    n = np.cross(v, np.roll(v, -1, axis=0)).sum(axis=0)
    return n / max(np.linalg.norm(n), 1e-12)


def solid(loops: Sequence[np.ndarray], colours, textures: dict[int, Texture] | None = None,
          emissive: dict[int, float] | None = None) -> Part:
    """A convex solid from its face loops; loops are re-oriented so normals point outward."""
    loops = [np.asarray(v, dtype=np.float64) for v in loops]
    centre = np.vstack(loops).mean(axis=0)
    if not isinstance(colours, (list, tuple)) or np.ndim(colours[0]) == 0:
        colours = [colours] * len(loops)
    faces = []
    for i, v in enumerate(loops):
        n = _newell(v)
        if np.dot(n, v.mean(axis=0) - centre) < 0:
            v, n = v[::-1].copy(), -n
        faces.append(Face(vertices=v, colour=_col(colours[i]), normal=n,
                          texture=(textures or {}).get(i), emissive=(emissive or {}).get(i, 0.0)))
    return Part(tuple(faces))


def loft(ring0: np.ndarray, ring1: np.ndarray, colour, cap0_tex: Texture | None = None,
         cap1_tex: Texture | None = None, side_colours: Sequence | None = None,
         cap1_colour=None, side_tex: dict[int, Texture] | None = None, cap1_emissive: float = 0.0) -> Part:
    """Convex solid between two homothetic rings (faces: cap0, cap1, then side i from vertex i)."""
    n = len(ring0)
    loops = [ring0, ring1]
    cols = [colour, colour if cap1_colour is None else cap1_colour]
    for i in range(n):
        j = (i + 1) % n
        loops.append(np.array([ring0[i], ring0[j], ring1[j], ring1[i]]))
        cols.append(colour if side_colours is None else side_colours[i])
    tex = {}
    if cap0_tex is not None:
        tex[0] = cap0_tex
    if cap1_tex is not None:
        tex[1] = cap1_tex
    for k, t in (side_tex or {}).items():
        tex[2 + k] = t
    return solid(loops, cols, tex, {1: cap1_emissive} if cap1_emissive else None)


def prism(poly_xy: np.ndarray, z0: float, z1: float, colour, top_tex: Texture | None = None,
          top_scale: float = 1.0, top_offset=(0.0, 0.0), top_colour=None, side_colours=None,
          side_tex: dict[int, Texture] | None = None, top_emissive: float = 0.0) -> Part:
    """A vertical prism (or frustum when top_scale != 1) over a convex polygon."""
    p = np.asarray(poly_xy, dtype=np.float64)
    c = p.mean(axis=0)
    top = (p - c) * top_scale + c + np.asarray(top_offset)
    r0 = np.column_stack([p, np.full(len(p), z0)])
    r1 = np.column_stack([top, np.full(len(p), z1)])
    return loft(r0, r1, colour, cap1_tex=top_tex, cap1_colour=top_colour, side_colours=side_colours,
                side_tex=side_tex, cap1_emissive=top_emissive)


def rect(x0, x1, y0, y1) -> np.ndarray:
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=np.float64)


def ellipse(cx, cy, rx, ry, n=20, phase=0.0) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False) + phase
    return np.column_stack([cx + rx * np.cos(a), cy + ry * np.sin(a)])


def rounded_rect(x0, x1, y0, y1, r, seg=3) -> np.ndarray:
    r = min(r, (x1 - x0) / 2 - 1e-3, (y1 - y0) / 2 - 1e-3)
    pts = []
    for cx, cy, a0 in ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180)):
        for k in range(seg + 1):
            a = math.radians(a0 + 90 * k / seg)
            pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return np.array(pts)


def quad_tex(image: np.ndarray, tl, tr, bl) -> Texture:
    tl, tr, bl = (np.asarray(v, dtype=np.float64) for v in (tl, tr, bl))
    return Texture(image=image, origin=tl, u_axis=tr - tl, v_axis=bl - tl)


def top_tex(image: np.ndarray, x0, x1, y0, y1, z) -> Texture:
    """Texture on a horizontal face; the image top lies toward +y."""
    return quad_tex(image, (x0, y1, z), (x1, y1, z), (x0, y0, z))


def box(x0, x1, y0, y1, z0, z1, colour, top=None, front=None, back=None, left=None, right=None,
        top_colour=None, side_colours=None, top_emissive=0.0, back_emissive=0.0) -> Part:
    """Axis-aligned box; `top/front/back/left/right` are images mapped upright on those faces.

    front faces -y (customer), back faces +y (staff).
    """
    side_tex = {}
    if front is not None:
        side_tex[0] = quad_tex(front, (x0, y0, z1), (x1, y0, z1), (x0, y0, z0))
    if right is not None:
        side_tex[1] = quad_tex(right, (x1, y0, z1), (x1, y1, z1), (x1, y0, z0))
    if back is not None:
        side_tex[2] = quad_tex(back, (x1, y1, z1), (x0, y1, z1), (x1, y1, z0))
    if left is not None:
        side_tex[3] = quad_tex(left, (x0, y1, z1), (x0, y0, z1), (x0, y1, z0))
    tt = top_tex(top, x0, x1, y0, y1, z1) if top is not None else None
    part = prism(rect(x0, x1, y0, y1), z0, z1, colour, top_tex=tt, top_colour=top_colour,
                 side_colours=side_colours, side_tex=side_tex, top_emissive=top_emissive)
    if back_emissive:
        faces = list(part.faces)
        faces[4] = replace(faces[4], emissive=back_emissive)
        part = Part(tuple(faces))
    return part


def extrude_x(profile_yz: np.ndarray, x0: float, x1: float, colour, face_tex: dict[int, Texture] | None = None,
              side_colours=None, cap_colour=None) -> Part:
    """A prism along x over a convex (y, z) profile; side k spans profile edge k -> k+1."""
    p = np.asarray(profile_yz, dtype=np.float64)
    r0 = np.column_stack([np.full(len(p), x0), p])
    r1 = np.column_stack([np.full(len(p), x1), p])
    return loft(r0, r1, colour if cap_colour is None else cap_colour, side_tex=face_tex,
                side_colours=side_colours or [colour] * len(p),
                cap1_colour=colour if cap_colour is None else cap_colour)


def rod_x(x0, x1, r0, r1, cy=0.0, cz=0.0, colour=(0, 0, 0), n=8) -> Part:
    """A (possibly tapered) round rod along x, centred on (y, z) = (cy, cz)."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.column_stack([np.cos(a), np.sin(a)])
    ra = np.column_stack([np.full(n, x0), cy + r0 * ring[:, 0], cz + r0 * ring[:, 1]])
    rb = np.column_stack([np.full(n, x1), cy + r1 * ring[:, 0], cz + r1 * ring[:, 1]])
    return loft(ra, rb, colour)


# --------------------------------------------------------------------------------------
# Procedural textures
# --------------------------------------------------------------------------------------

WORDS = ["SERVICE", "GUIDE", "NOTICE", "POLICY", "PERMIT", "TAX", "HOUSING", "PENSION", "LICENSE",
         "CITIZEN", "WELCOME", "INFO", "2026", "HALL", "FORM", "APPLY"]
NAMES = ["LI MING", "WANG FANG", "ZHANG WEI", "LIU YANG", "CHEN JING", "YANG LI", "ZHAO LEI", "HUANG MIN"]


def _tex_size(w_cm: float, h_cm: float, ppc: float = TEX_PX_PER_CM, cap: int = 512) -> tuple[int, int]:
    s = min(ppc, cap / max(w_cm, h_cm, 1e-3))
    return max(4, int(round(w_cm * s))), max(4, int(round(h_cm * s)))


def _canvas(w: int, h: int, colour) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:] = np.clip(colour, 0, 255)
    return img


def _noise(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    n = rng.normal(0, sigma, img.shape[:2])[..., None]
    return np.clip(img.astype(np.float32) + n, 0, 255).astype(np.uint8)


def glyph_line(img, x, y, n_chars, size, colour, rng, gap=0.15):
    """Pseudo-CJK text: square character cells with random strokes (reads as text at CCTV scale)."""
    size = max(2, int(size))
    th = max(1, size // 7)
    step = int(round(size * (1 + gap)))
    for i in range(n_chars):
        cx = int(x + i * step)
        if cx + size > img.shape[1]:
            break
        if size < 6:
            cv2.rectangle(img, (cx, y), (cx + size - 1, y + size - 1), colour, -1)
            continue
        for _ in range(int(rng.integers(2, 5))):
            if rng.random() < 0.5:
                yy = int(y + rng.uniform(0.1, 0.9) * size)
                cv2.line(img, (cx + int(rng.uniform(0, 0.3) * size), yy), (cx + int(rng.uniform(0.7, 1) * size), yy), colour, th)
            else:
                xx = int(cx + rng.uniform(0.1, 0.9) * size)
                cv2.line(img, (xx, y + int(rng.uniform(0, 0.3) * size)), (xx, y + int(rng.uniform(0.7, 1) * size)), colour, th)


def put_text_fit(img, text, x0, y0, x1, y1, colour, thickness_frac=0.12):
    """Latin text scaled to fit the box (x0, y0)-(x1, y1), centred."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, 1.0, 2)
    scale = min((x1 - x0) / max(tw, 1), (y1 - y0) / max(th + base, 1))
    thick = max(1, int(round(scale * th * thickness_frac)))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    org = (int(x0 + (x1 - x0 - tw) / 2), int(y0 + (y1 - y0 + th) / 2))
    cv2.putText(img, text, org, font, scale, colour, thick, cv2.LINE_AA)


def _bright(rng) -> tuple[int, int, int]:
    h = int(rng.integers(0, 180))
    hsv = np.uint8([[[h, int(rng.integers(150, 255)), int(rng.integers(150, 240))]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def tex_print(rng, w_cm, h_cm) -> np.ndarray:
    """A printed brochure cover: colour header, picture block, text lines."""
    w, h = _tex_size(w_cm, h_cm)
    img = _canvas(w, h, (rng.uniform(225, 250),) * 3)
    accent = _bright(rng)
    hh = int(h * rng.uniform(0.18, 0.3))
    cv2.rectangle(img, (0, 0), (w, hh), accent, -1)
    put_text_fit(img, str(rng.choice(WORDS)), int(0.08 * w), int(0.15 * hh), int(0.92 * w), int(0.85 * hh), (255, 255, 255))
    py0 = hh + int(0.06 * h)
    py1 = py0 + int(h * rng.uniform(0.22, 0.35))
    pic = np.zeros((max(py1 - py0, 2), int(0.84 * w), 3), np.uint8)
    c1, c2 = np.array(_bright(rng), float), np.array(_bright(rng), float)
    g = np.linspace(0, 1, pic.shape[0])[:, None, None]
    pic[:] = (c1 * (1 - g) + c2 * g).astype(np.uint8)
    cv2.circle(pic, (int(pic.shape[1] * rng.uniform(0.2, 0.8)), pic.shape[0] // 2), max(2, pic.shape[0] // 3), _bright(rng), -1)
    img[py0:py0 + pic.shape[0], int(0.08 * w):int(0.08 * w) + pic.shape[1]] = pic
    y = py1 + int(0.05 * h)
    size = max(3, int(h * 0.035))
    while y + size < h * 0.94:
        glyph_line(img, int(0.08 * w), y, int(0.84 * w / (size * 1.15)) - int(rng.integers(0, 4)), size, (60, 60, 60), rng)
        y += int(size * 1.7)
    cv2.rectangle(img, (0, h - max(2, h // 30)), (w, h), accent, -1)
    return _noise(img, rng, 2.0)


def tex_screen(rng, w_cm, h_cm) -> np.ndarray:
    """A monitor front: black bezel around a lit office application."""
    w, h = _tex_size(w_cm, h_cm, cap=400)
    img = _canvas(w, h, (20, 20, 22))
    b = max(2, int(0.025 * w))
    x0, y0, x1, y1 = b, b, w - b, h - int(b * 1.6)
    if rng.random() < 0.15:  # screen off: dark with a reflection
        g = np.linspace(30, 60, x1 - x0)[None, :, None]
        img[y0:y1, x0:x1] = g.astype(np.uint8)
        return img
    bg = (rng.uniform(225, 250), rng.uniform(225, 250), rng.uniform(225, 250))
    cv2.rectangle(img, (x0, y0), (x1, y1), bg, -1)
    bar = _bright(rng)
    cv2.rectangle(img, (x0, y0), (x1, y0 + int(0.08 * h)), bar, -1)
    cv2.rectangle(img, (x0, y0 + int(0.08 * h)), (x0 + int(0.18 * w), y1), (235, 225, 215), -1)
    # a table of rows
    ry = y0 + int(0.14 * h)
    while ry < y1 - 4:
        cv2.line(img, (x0 + int(0.2 * w), ry), (x1 - 4, ry), (200, 200, 200), 1)
        ry += max(4, int(0.05 * h))
    if rng.random() < 0.5:
        cv2.rectangle(img, (x0 + int(0.55 * w), y0 + int(0.2 * h)), (x1 - int(0.05 * w), y0 + int(0.55 * h)), _bright(rng), -1)
    return img


def tex_keyboard(rng, w_cm, d_cm, body, key, legend) -> np.ndarray:
    """A keyboard top seen from above; function row toward the image bottom (-y, far from staff)."""
    w, h = _tex_size(w_cm, d_cm, ppc=12)
    img = _canvas(w, h, body)
    has_pad = w_cm > 38 and rng.random() < 0.7
    main_w = 0.78 * w if has_pad else 0.96 * w
    m = 0.03 * w
    rows = 6
    rh = (h - 2 * 0.08 * h) / rows
    cols = 15
    cw = (main_w - m) / cols
    for r in range(rows):
        y0 = 0.08 * h + r * rh
        # r = 0 is the row nearest the staff (image top): space-bar row
        if r == 0:
            segs = [(0, 1.3), (1.3, 2.6), (2.6, 3.9), (3.9, 10.5), (10.5, 11.8), (11.8, 13.1), (13.1, 15)]
        elif r == rows - 1:
            segs = [(i, i + 0.85) for i in range(15)]
        else:
            segs = [(i, i + 1) for i in range(cols)]
        for a, bnd in segs:
            x0 = m + a * cw + 1
            x1 = m + bnd * cw - 1
            yy1 = y0 + rh * (0.7 if r == rows - 1 else 1.0) - 1
            cv2.rectangle(img, (int(x0), int(y0 + 1)), (int(x1), int(yy1)), key, -1)
            if bnd - a < 2 and rh > 7:
                cv2.circle(img, (int((x0 + x1) / 2), int((y0 + yy1) / 2)), max(1, int(rh * 0.12)), legend, -1)
    if has_pad:
        px0 = main_w + 0.02 * w
        pw = (w - px0 - m) / 4
        for r in range(1, rows - 1):
            y0 = 0.08 * h + r * rh
            for c in range(4):
                cv2.rectangle(img, (int(px0 + c * pw + 1), int(y0 + 1)), (int(px0 + (c + 1) * pw - 1), int(y0 + rh - 1)), key, -1)
    return _noise(img, rng, 3.0)


def tex_plate(rng, w_cm, h_cm, bg, fg, text=None) -> np.ndarray:
    """A name plate face: band, a name and a staff number."""
    w, h = _tex_size(w_cm, h_cm, ppc=14)
    img = _canvas(w, h, bg)
    band = int(0.18 * h)
    cv2.rectangle(img, (0, h - band), (w, h), fg, -1)
    text = text or str(rng.choice(NAMES))
    put_text_fit(img, text, int(0.08 * w), int(0.12 * h), int(0.92 * w), int(0.55 * h), fg, 0.16)
    put_text_fit(img, f"No.{int(rng.integers(1, 999)):03d}", int(0.3 * w), int(0.58 * h), int(0.7 * w), int(0.78 * h), fg)
    return img


def tex_keypad(rng, w_cm, h_cm, body, key) -> np.ndarray:
    w, h = _tex_size(w_cm, h_cm, ppc=14)
    img = _canvas(w, h, body)
    # display toward the far side (image bottom)
    cv2.rectangle(img, (int(0.45 * w), int(0.72 * h)), (int(0.92 * w), int(0.9 * h)), (120, 150, 130), -1)
    for r in range(4):
        for c in range(3):
            x = int(0.5 * w + c * 0.14 * w)
            y = int(0.12 * h + r * 0.14 * h)
            cv2.rectangle(img, (x, y), (x + int(0.1 * w), y + int(0.09 * h)), key, -1)
    for r in range(4):
        x = int(0.38 * w)
        y = int(0.12 * h + r * 0.14 * h)
        cv2.rectangle(img, (x, y), (x + int(0.07 * w), y + int(0.09 * h)), _bright(rng) if r == 0 else key, -1)
    return _noise(img, rng, 2.0)


def tex_round_top(rng, d_cm, rim, inner, inner2=None, rim_frac=0.1) -> np.ndarray:
    """A disc seen from above: rim ring and an inner disc with a radial shade."""
    w, h = _tex_size(d_cm, d_cm, ppc=16)
    img = _canvas(w, h, rim)
    c = (w // 2, h // 2)
    r_in = int(w / 2 * (1 - rim_frac))
    cv2.circle(img, c, r_in, inner, -1, cv2.LINE_AA)
    if inner2 is not None:
        cv2.circle(img, (c[0] - r_in // 6, c[1] - r_in // 6), int(r_in * 0.75), inner2, -1, cv2.LINE_AA)
        img = cv2.GaussianBlur(img, (0, 0), max(0.8, w / 40))
        cv2.circle(img, c, r_in, rim, max(1, int(w * rim_frac / 2)), cv2.LINE_AA)
    return img


def tex_phone(rng, w_cm, h_cm, face_up: bool, back_colour) -> np.ndarray:
    w, h = _tex_size(w_cm, h_cm, ppc=16)
    if face_up:
        img = _canvas(w, h, (12, 12, 12))
        b = max(1, int(0.05 * w))
        if rng.random() < 0.25:  # screen on
            c1, c2 = np.array(_bright(rng), float), np.array(_bright(rng), float)
            g = np.linspace(0, 1, h - 2 * b)[:, None, None]
            img[b:h - b, b:w - b] = (c1 * (1 - g) + c2 * g).astype(np.uint8)
            for r in range(5):
                for c in range(4):
                    x, y = b + int((0.1 + 0.21 * c) * (w - 2 * b)), b + int((0.1 + 0.12 * r) * (h - 2 * b))
                    cv2.rectangle(img, (x, y), (x + int(0.14 * w), y + int(0.14 * w)), _bright(rng), -1)
        else:
            g = np.linspace(10, 55, w - 2 * b)[None, :, None]
            img[b:h - b, b:w - b] = (g + np.linspace(0, 25, h - 2 * b)[:, None, None]).astype(np.uint8)
        return img
    img = _canvas(w, h, back_colour)
    cam = (int(0.1 * w), int(0.05 * h), int(0.45 * w), int(0.22 * h))
    cv2.rectangle(img, cam[:2], cam[2:], tuple(int(v * 0.6) for v in back_colour), -1)
    cv2.circle(img, (int(0.2 * w), int(0.1 * h)), max(1, int(0.07 * w)), (20, 20, 20), -1)
    cv2.circle(img, (int(0.34 * w), int(0.17 * h)), max(1, int(0.07 * w)), (20, 20, 20), -1)
    return img


def tex_wrapper(rng, w_cm, h_cm) -> np.ndarray:
    w, h = _tex_size(w_cm, h_cm, ppc=12)
    bg = _bright(rng)
    img = _canvas(w, h, bg)
    cv2.ellipse(img, (w // 2, h // 2), (int(0.3 * w), int(0.3 * h)), 0, 0, 360, _bright(rng), -1)
    put_text_fit(img, str(rng.choice(["SNACK", "CHIPS", "BREAD", "COOKIE", "NUTS", "CAKE"])),
                 int(0.22 * w), int(0.3 * h), int(0.78 * w), int(0.7 * h), (255, 255, 255))
    cv2.rectangle(img, (0, 0), (w, max(1, int(0.06 * h))), (230, 230, 230), -1)
    cv2.rectangle(img, (0, h - max(1, int(0.06 * h))), (w, h), (230, 230, 230), -1)
    return _noise(img, rng, 3.0)


def tex_paper(rng, w_cm, h_cm) -> np.ndarray:
    w, h = _tex_size(w_cm, h_cm)
    img = _canvas(w, h, (rng.uniform(232, 250),) * 3)
    size = max(3, int(h * 0.025))
    y = int(0.08 * h)
    put_text_fit(img, str(rng.choice(WORDS)), int(0.3 * w), y, int(0.7 * w), y + 3 * size, (40, 40, 40))
    y += 5 * size
    while y + size < 0.9 * h:
        glyph_line(img, int(0.1 * w), y, int(0.8 * w / (size * 1.15)) - int(rng.integers(0, 6)), size, (90, 90, 90), rng)
        y += int(size * 1.8)
    return img


# --------------------------------------------------------------------------------------
# Colour palettes
# --------------------------------------------------------------------------------------

DARK = [(28, 28, 30), (40, 40, 42), (55, 55, 58), (35, 30, 28)]
LIGHT = [(228, 228, 226), (210, 212, 215), (240, 240, 238), (195, 198, 200)]
CUP_COLOURS = [(235, 235, 235), (180, 110, 40), (60, 60, 200), (200, 200, 190), (90, 160, 60),
               (50, 50, 50), (180, 180, 190), (140, 90, 200), (30, 140, 230)]
BAG_COLOURS = [(30, 30, 30), (40, 60, 110), (70, 110, 160), (90, 60, 50), (60, 50, 150), (120, 120, 120), (140, 160, 190)]
PEN_COLOURS = [(30, 30, 30), (160, 60, 20), (40, 40, 200), (230, 230, 230), (60, 140, 60)]


def _pick(rng, palette, spec: ItemSpec):
    if spec.colour_bgr is not None:
        return tuple(float(v) for v in spec.colour_bgr)
    c = np.array(palette[int(rng.integers(0, len(palette)))], float)
    return tuple(np.clip(c * rng.uniform(0.9, 1.1), 0, 255))


def _variant(rng, spec: ItemSpec, n: int, p=None) -> int:
    v = int(rng.choice(n, p=p))  # always draw, so colours do not depend on an override
    return spec.variant % n if spec.variant is not None else v


def _shade(c, f) -> tuple:
    return tuple(float(np.clip(v * f, 0, 255)) for v in c)


# --------------------------------------------------------------------------------------
# Class builders (own frame)
# --------------------------------------------------------------------------------------

Builder = Callable[[ItemSpec, np.random.Generator], list[Part]]


def build_cup(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    colour = _pick(rng, CUP_COLOURS, spec)
    v = _variant(rng, spec, 3, p=[0.55, 0.3, 0.15])
    if spec.atypical and v == 0:  # no handle: a tumbler or a paper cup
        v = 1 + spec.appearance_seed % 2
    liquid = [(30, 60, 110), (40, 110, 150), (20, 30, 50), None][int(rng.integers(0, 4))]
    if v == 1:  # tumbler / thermos with a lid
        r = min(W, D) / 2
        lid = _pick(rng, DARK + LIGHT, ItemSpec("cup", (0, 0), (1, 1), 1))
        body = prism(ellipse(0, 0, r * 0.97, r * 0.97, 20), 0, 0.84 * H, colour)
        top = tex_round_top(rng, 2 * r, lid, _shade(lid, 0.8), rim_frac=0.3)
        cap = prism(ellipse(0, 0, r, r, 20), 0.84 * H, H, lid, top_tex=top_tex(top, -r, r, -r, r, H))
        return [body, cap]
    if v == 2:  # paper cup, no handle
        r = min(W, D) / 2
        inner = _shade(colour, 0.7) if liquid is None else liquid
        top = tex_round_top(rng, 2 * r, (245, 245, 245), inner, _shade(inner, 1.25), rim_frac=0.08)
        band = prism(ellipse(0, 0, 0.72 * r, 0.72 * r, 20), 0, 0.35 * H, (245, 245, 245), top_scale=(0.86 / 0.72))
        upper = prism(ellipse(0, 0, 0.86 * r, 0.86 * r, 20), 0.35 * H, H, colour, top_scale=1 / 0.86,
                      top_tex=top_tex(top, -r, r, -r, r, H))
        return [band, upper]
    # mug with a handle on the +x side
    body_d = min(D, W / 1.28)
    r = body_d / 2
    cx = -W / 2 + r
    inner = _shade(colour, 0.55) if liquid is None else liquid
    top = tex_round_top(rng, 2 * r, _shade(colour, 1.08), inner, _shade(inner, 1.3), rim_frac=0.09)
    body = prism(ellipse(cx, 0, 0.9 * r, 0.9 * r, 22), 0, H, colour, top_scale=1 / 0.9,
                 top_tex=top_tex(top, cx - r, cx + r, -r, r, H))
    t = max(0.5, 0.13 * body_d)
    hx0, hx1 = cx + 0.85 * r, W / 2
    th = max(0.6, 0.1 * H)
    parts = [body,
             box(hx0, hx1, -t / 2, t / 2, 0.72 * H - th, 0.72 * H, colour),
             box(hx0, hx1, -t / 2, t / 2, 0.25 * H, 0.25 * H + th, colour),
             box(hx1 - min(th, hx1 - hx0), hx1, -t / 2, t / 2, 0.25 * H, 0.72 * H, colour)]
    return parts


def build_monitor(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    plastic = _pick(rng, DARK * 3 + LIGHT, spec)
    panel_h = min(H - 1.5, 0.62 * W)
    z0 = H - panel_h
    pt = float(np.clip(0.1 * D, 1.0, 2.5))
    yp = -D / 2 + 0.35 * D  # panel front (customer side) face
    parts = []
    if _variant(rng, spec, 2) == 0:
        parts.append(box(-0.2 * W, 0.2 * W, -D / 2, D / 2, 0, 1.2, plastic))
    else:
        r = D / 2
        parts.append(prism(ellipse(0, 0, min(0.25 * W, r * 1.4), r, 20), 0, 1.2, plastic))
    screen = tex_screen(rng, W, panel_h)
    parts.append(box(-W / 2, W / 2, yp, yp + pt, z0, H, plastic, back=screen, back_emissive=0.55))
    b = min(0.3 * D, yp + D / 2 - 0.5)
    parts.append(box(-0.3 * W, 0.3 * W, yp - b, yp + 0.1, z0 + 0.15 * panel_h, z0 + 0.8 * panel_h, _shade(plastic, 0.95)))
    parts.append(box(-0.05 * W, 0.05 * W, yp - 0.8 * b, yp - 0.2 * b, 1.2, z0 + 0.45 * panel_h, _shade(plastic, 0.9)))
    return parts


def build_document_camera(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    body = _pick(rng, DARK * 2 + LIGHT, spec)
    accent = _shade(body, 0.6) if np.mean(body) > 120 else (190, 190, 190)
    parts = [box(-W / 2, W / 2, -D / 2, D / 2, 0, 1.5, body)]
    if rng.random() < 0.5:  # a document lying on the base
        pw, pd = 0.7 * W, 0.75 * D
        paper = tex_paper(rng, pw, pd)
        parts.append(box(-pw / 2 + 1.5, pw / 2 + 1.5, -pd / 2 + 1, pd / 2 + 1, 1.5, 1.6, (240, 240, 240), top=paper))
    cy0 = -D / 2 + 0.8
    if _variant(rng, spec, 2) == 0:
        parts.append(box(-1.6, 1.6, cy0, cy0 + 3.0, 1.5, H - 2.5, accent))
    else:
        parts.append(prism(ellipse(0, cy0 + 1.6, 1.6, 1.6, 10), 1.5, H - 2.5, accent))
    parts.append(box(-1.8, 1.8, cy0, D / 2 - 3, H - 3.5, H - 1.0, body))
    hy1 = D / 2 - 0.5
    head_top = _canvas(40, 60, body)
    cv2.circle(head_top, (20, 18), 5, (40, 170, 40), -1)
    parts.append(box(-min(4.5, W / 2), min(4.5, W / 2), hy1 - min(10, D * 0.5), hy1, H - 5.5, H, body, top=head_top))
    return parts


def build_keyboard(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    light = rng.random() < 0.3 if spec.colour_bgr is None else np.mean(spec.colour_bgr) > 120
    body = _pick(rng, LIGHT if light else DARK, spec)
    # light boards: pale keys over darker gaps; dark boards: grey keys over black
    key = body if light else (60, 60, 62)
    gaps = _shade(body, 0.72) if light else body
    legend = (90, 90, 90) if light else (170, 170, 170)
    img = tex_keyboard(rng, W, D, gaps, key, legend)
    prof = np.array([(-D / 2, 0.0), (D / 2, 0.0), (D / 2, 0.55 * H), (-D / 2, H)])
    tex = quad_tex(img, (-W / 2, D / 2, 0.55 * H), (W / 2, D / 2, 0.55 * H), (-W / 2, -D / 2, H))
    return [extrude_x(prof, -W / 2, W / 2, body, face_tex={2: tex})]


def build_mouse(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    body = _pick(rng, DARK * 2 + LIGHT + [(120, 60, 20)], spec)
    low = prism(ellipse(0, 0, W / 2, D / 2, 18), 0, 0.45 * H, _shade(body, 0.85), top_scale=0.97)
    top_img = _canvas(40, 60, body)
    cv2.line(top_img, (20, 60), (20, 32), _shade(body, 0.5), 1)
    cv2.ellipse(top_img, (20, 42), (2, 4), 0, 0, 360, (90, 90, 90), -1)
    rs = 0.97
    s2 = 0.5
    oy = 0.1 * D  # the hump sits toward the palm (+y, staff side)
    up = prism(ellipse(0, 0, rs * W / 2, rs * D / 2, 18), 0.45 * H, H, body, top_scale=s2,
               top_offset=(0, oy),
               top_tex=top_tex(top_img, -s2 * rs * W / 2, s2 * rs * W / 2, -s2 * rs * D / 2 + oy,
                               s2 * rs * D / 2 + oy, H))
    return [low, up]


def build_brochure(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    n = int(np.clip(round(H / 0.5), 1, 6))
    th = H / n
    parts = []
    jx, jy = min(1.5, 0.08 * W), min(1.5, 0.08 * D)
    for k in range(n):
        w, d = W - jx, D - jy
        ox, oy = rng.uniform(-jx / 2, jx / 2), rng.uniform(-jy / 2, jy / 2)
        x0, y0 = ox - w / 2, oy - d / 2
        if k == 0:  # the first one spans the full box so the mesh touches its extents
            x0, y0, w, d = -W / 2, -D / 2, W, D
        paper = (rng.uniform(225, 245),) * 3
        top = tex_print(rng, w, d) if k == n - 1 else None
        parts.append(box(x0, x0 + w, y0, y0 + d, k * th, (k + 1) * th, paper,
                         top=top, top_colour=_bright(rng) if top is None else None))
    return parts


def build_name_plate(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    red = rng.random() < 0.45
    if spec.colour_bgr is not None:
        bg = tuple(float(v) for v in spec.colour_bgr)
    else:
        bg = (30, 30, 190) if red else _pick(rng, LIGHT + [(150, 90, 30)], spec)
    fg = (80, 220, 250) if red else ((255, 255, 255) if np.mean(bg) < 128 else (40, 40, 40))
    text = str(rng.choice(NAMES))
    img = tex_plate(rng, W, math.hypot(D / 2, H), bg, fg, text)
    if _variant(rng, spec, 2) == 0:  # folded tent
        prof = np.array([(-D / 2, 0.0), (D / 2, 0.0), (0.0, H)])
        front = quad_tex(img, (-W / 2, 0, H), (W / 2, 0, H), (-W / 2, -D / 2, 0))
        back = quad_tex(img, (W / 2, 0, H), (-W / 2, 0, H), (W / 2, D / 2, 0))
        return [extrude_x(prof, -W / 2, W / 2, bg, face_tex={1: back, 2: front}, cap_colour=_shade(bg, 0.8))]
    # acrylic stand: base plate and a panel leaning back
    t = min(0.8, 0.15 * D)
    base = box(-W / 2, W / 2, -D / 2, D / 2, 0, 0.4, (210, 215, 215))
    prof = np.array([(-D / 2, 0.4), (-D / 2 + t, 0.4), (D / 2, H), (D / 2 - t, H)])
    front = quad_tex(img, (-W / 2, D / 2 - t, H), (W / 2, D / 2 - t, H), (-W / 2, -D / 2, 0.4))
    return [base, extrude_x(prof, -W / 2, W / 2, bg, face_tex={3: front})]


def build_telephone(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    body = _pick(rng, DARK * 2 + LIGHT, spec)
    key = (200, 200, 200) if np.mean(body) < 120 else (90, 90, 90)
    prof = np.array([(-D / 2, 0.0), (D / 2, 0.0), (D / 2, 0.35 * H), (-D / 2, 0.7 * H)])
    img = tex_keypad(rng, W, math.hypot(D, 0.35 * H), body, key)
    tex = quad_tex(img, (-W / 2, D / 2, 0.35 * H), (W / 2, D / 2, 0.35 * H), (-W / 2, -D / 2, 0.7 * H))
    parts = [extrude_x(prof, -W / 2, W / 2, _shade(body, 0.95), face_tex={2: tex})]
    hx0, hx1 = -W / 2, -W / 2 + 0.3 * W
    end = 0.26 * D
    parts.append(box(hx0, hx1, -D / 2, -D / 2 + end, 0.5 * H, H, body))
    parts.append(box(hx0 + 0.1 * W * 0.3, hx1 - 0.1 * W * 0.3, -D / 2 + end, D / 2 - end, 0.62 * H, 0.88 * H, body))
    parts.append(box(hx0, hx1, D / 2 - end, D / 2, 0.4 * H, 0.95 * H, body))
    return parts


def build_pen(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    r = min(D, H) / 2
    body = _pick(rng, PEN_COLOURS, spec)
    cap = _pick(rng, PEN_COLOURS, ItemSpec("pen", (0, 0), (1, 1), 1)) if rng.random() < 0.6 else body
    xt = W / 2 - 0.12 * W
    xc = -W / 2 + 0.35 * W
    return [rod_x(-W / 2, xc, r, r, 0, r, cap),
            rod_x(xc, xt, 0.92 * r, 0.92 * r, 0, r, body),
            rod_x(xt, W / 2, 0.92 * r, 0.2 * r, 0, r, (200, 200, 200) if rng.random() < 0.5 else body)]


def build_ink_pad(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    case = _pick(rng, [(30, 30, 160), (30, 30, 30), (140, 80, 30), (170, 170, 170), (40, 40, 120)], spec)
    ink = (25, 20, 170)
    if _variant(rng, spec, 2) == 0:
        r = min(W, D) / 2
        img = tex_round_top(rng, 2 * r, case, ink, (40, 35, 200), rim_frac=0.14)
        return [prism(ellipse(0, 0, r, r, 22), 0, H, case, top_tex=top_tex(img, -r, r, -r, r, H))]
    w, h = _tex_size(W, D, ppc=16)
    img = _canvas(w, h, case)
    m = max(2, int(0.12 * min(w, h)))
    cv2.rectangle(img, (m, m), (w - m, h - m), ink, -1)
    img = _noise(img, rng, 6.0)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, H, case, top=img)]


def build_mobile_phone(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    back = _pick(rng, DARK + LIGHT + [(150, 110, 60), (90, 160, 210), (200, 160, 200)], spec)
    face_up = rng.random() < 0.6
    img = tex_phone(rng, W, D, face_up, back)
    poly = rounded_rect(-W / 2, W / 2, -D / 2, D / 2, 0.12 * W)
    return [prism(poly, 0, H, _shade(back, 0.8) if face_up else back,
                  top_tex=top_tex(img, -W / 2, W / 2, -D / 2, D / 2, H), top_emissive=0.2 if face_up else 0.0)]


def build_bottle(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    r = min(W, D) / 2
    clear = (205, 200, 190) if rng.random() < 0.7 else (120, 170, 120)
    label = _pick(rng, [(200, 120, 30), (40, 160, 40), (30, 30, 200), (240, 240, 240), (20, 120, 220)], spec)
    capc = _pick(rng, [(180, 100, 20), (240, 240, 240), (30, 30, 200), (40, 140, 40)], ItemSpec("bottle", (0, 0), (1, 1), 1))
    n = 18
    cap_top = _canvas(16, 16, capc)
    return [prism(ellipse(0, 0, r, r, n), 0, 0.18 * H, clear),
            prism(ellipse(0, 0, r, r, n), 0.18 * H, 0.55 * H, label),
            prism(ellipse(0, 0, r, r, n), 0.55 * H, 0.72 * H, clear),
            prism(ellipse(0, 0, r, r, n), 0.72 * H, 0.85 * H, clear, top_scale=0.38),
            prism(ellipse(0, 0, 0.38 * r, 0.38 * r, 12), 0.85 * H, 0.92 * H, clear),
            prism(ellipse(0, 0, 0.45 * r, 0.45 * r, 12), 0.92 * H, H, capc,
                  top_tex=top_tex(cap_top, -0.45 * r, 0.45 * r, -0.45 * r, 0.45 * r, H))]


def build_bag(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    c = _pick(rng, BAG_COLOURS, spec)
    s = 0.86
    zb = 0.72 * H
    w, h = _tex_size(W, zb, ppc=6)
    front = _canvas(w, h, c)
    cv2.rectangle(front, (int(0.06 * w), int(0.04 * h)), (int(0.94 * w), int(0.45 * h)), _shade(c, 0.8), -1)
    cv2.rectangle(front, (int(0.45 * w), int(0.38 * h)), (int(0.55 * w), int(0.5 * h)), (160, 190, 200), -1)
    front = _noise(front, rng, 4.0)
    tl = np.array([-s * W / 2, -s * D / 2, zb])
    body = prism(rect(-W / 2, W / 2, -D / 2, D / 2), 0, zb, c, top_scale=s, top_colour=_shade(c, 1.05),
                 side_colours=[c, _shade(c, 0.95), c, _shade(c, 0.95)],
                 side_tex={0: quad_tex(front, tl, tl + [s * W, 0, 0], (-W / 2, -D / 2, 0))})
    hc = _shade(c, 0.7)
    t = 1.0
    hx = 0.22 * W
    parts = [body]
    for y in (-0.12 * D, 0.12 * D):
        parts += [box(-hx - t, -hx, y - t / 2, y + t / 2, zb - 0.5, H, hc),
                  box(hx, hx + t, y - t / 2, y + t / 2, zb - 0.5, H, hc),
                  box(-hx - t, hx + t, y - t / 2, y + t / 2, H - t, H, hc)]
    return parts


def build_food(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    v = _variant(rng, spec, 3, p=[0.5, 0.25, 0.25])
    if v == 1:  # bun / bread
        crust = _pick(rng, [(60, 140, 200), (50, 110, 170), (90, 170, 220)], spec)
        e = ellipse(0, 0, W / 2 * 0.85, D / 2 * 0.85, 16)
        return [prism(e, 0, 0.35 * H, _shade(crust, 1.1), top_scale=1 / 0.85),
                prism(e / 0.85, 0.35 * H, 0.75 * H, crust, top_scale=0.75),
                prism(e / 0.85 * 0.75, 0.75 * H, H, _shade(crust, 0.85), top_scale=0.4)]
    img = tex_wrapper(rng, W, D)
    if v == 2:  # snack box
        return [box(-W / 2, W / 2, -D / 2, D / 2, 0, H, _bright(rng), top=img)]
    s = 0.85
    return [prism(rect(-W / 2, W / 2, -D / 2, D / 2), 0, H, _shade(np.mean(img, axis=(0, 1)), 0.9), top_scale=s,
                  top_tex=top_tex(img, -s * W / 2, s * W / 2, -s * D / 2, s * D / 2, H))]


# ---- atypical shapes (ItemSpec.atypical): unlike what inspector.footprint assumes ------
# Each fills its size box like the typical builders, so the truth (taken from the mesh) is exact.


def build_box_mouse(spec, rng):
    """A plain low cuboid, no hump."""
    W, D = spec.size_cm
    H = spec.height_cm
    body = _pick(rng, DARK * 2 + LIGHT, spec)
    top = _canvas(40, 60, body)
    cv2.line(top, (20, 60), (20, 30), _shade(body, 0.5), 1)
    cv2.line(top, (0, 30), (40, 30), _shade(body, 0.6), 1)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, H, _shade(body, 0.9), top=top)]


def build_box_telephone(spec, rng):
    """A flat cuboid with the keypad on its top, no sloped body, no handset."""
    W, D = spec.size_cm
    H = spec.height_cm
    body = _pick(rng, DARK * 2 + LIGHT, spec)
    key = (200, 200, 200) if np.mean(body) < 120 else (90, 90, 90)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, H, _shade(body, 0.95), top=tex_keypad(rng, W, D, body, key))]


def build_flat_document_camera(spec, rng):
    """A low scanner-like slab: a glass top under a lid frame, no arm, no head."""
    W, D = spec.size_cm
    H = spec.height_cm
    body = _pick(rng, DARK * 2 + LIGHT, spec)
    w, h = _tex_size(W, D, ppc=8)
    top = _canvas(w, h, body)
    m = max(2, int(0.08 * min(w, h)))
    cv2.rectangle(top, (m, m), (w - m, h - m), (70, 80, 75), -1)  # the glass
    cv2.circle(top, (w - m // 2 - 1, m // 2 + 1), max(1, m // 3), (40, 170, 40), -1)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, H, body, top=_noise(top, rng, 2.0))]


def build_standless_monitor(spec, rng):
    """The panel on a low foot (variant MONITOR_ON_FOOT) or on its bottom edge with a kickstand
    behind it (MONITOR_ON_EDGE); the screen faces the staff (+y) either way."""
    W, D = spec.size_cm
    H = spec.height_cm
    plastic = _pick(rng, DARK * 3 + LIGHT, spec)
    pt = float(np.clip(0.15 * D, 1.0, 2.5))  # panel thickness
    if _variant(rng, spec, 2) == MONITOR_ON_FOOT:
        z0 = min(MONITOR_FOOT_CM, 0.2 * H)
        yp = min(D / 2 - pt, 0.15 * D)  # the panel stands on the foot, a little toward the staff
        screen = tex_screen(rng, W, H - z0)
        return [box(-0.3 * W, 0.3 * W, -D / 2, D / 2, 0, z0, plastic),
                box(-W / 2, W / 2, yp, yp + pt, z0, H, plastic, back=screen, back_emissive=0.55)]
    screen = tex_screen(rng, W, H)
    panel = box(-W / 2, W / 2, D / 2 - pt, D / 2, 0, H, plastic, back=screen, back_emissive=0.55)
    prof = np.array([(-D / 2, 0.0), (D / 2 - pt, 0.0), (D / 2 - pt, 0.4 * H)])
    return [panel, extrude_x(prof, -0.1 * W, 0.1 * W, _shade(plastic, 0.9))]


# ---- clutter (no SPEC class) ---------------------------------------------------------


def build_tissue_box(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    c = _pick(rng, [(200, 170, 120), (240, 240, 240), (150, 200, 150), (200, 150, 200)], spec)
    w, h = _tex_size(W, D, ppc=10)
    top = _canvas(w, h, c)
    cv2.ellipse(top, (w // 2, h // 2), (int(0.3 * w), int(0.12 * h)), 0, 0, 360, (250, 250, 250), -1)
    cv2.ellipse(top, (w // 2, h // 2), (int(0.3 * w), int(0.12 * h)), 0, 0, 360, _shade(c, 0.6), 1)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, H, c, top=top)]


def build_stapler(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    c = _pick(rng, [(30, 30, 30), (30, 30, 180), (150, 80, 30)], spec)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, 0.3 * H, (50, 50, 50)),
            box(-W / 2 + 0.8, W / 2, -D / 2 + 0.3, D / 2 - 0.3, 0.35 * H, H, c)]


def build_plant(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    r = min(W, D) / 2
    pot = _pick(rng, [(50, 90, 170), (230, 230, 230), (40, 40, 40)], spec)
    g = np.array([40, 130, 50], float) * rng.uniform(0.7, 1.2)
    e = ellipse(0, 0, 0.55 * r, 0.55 * r, 14)
    return [prism(e, 0, 0.38 * H, pot, top_scale=1.3),
            prism(e / 0.55 * 0.85, 0.38 * H, 0.62 * H, tuple(g * 0.8), top_scale=1 / 0.85),
            prism(e / 0.55, 0.62 * H, 0.85 * H, tuple(g), top_scale=0.7),
            prism(e / 0.55 * 0.7, 0.85 * H, H, tuple(g * 1.15), top_scale=0.35)]


def build_file_tray(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    c = _pick(rng, DARK + LIGHT + [(160, 100, 40)], spec)
    t = 0.6
    paper = tex_paper(rng, W - 2 * t, D - 2 * t)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, 0.6, c),
            box(-W / 2 + t, W / 2 - t, -D / 2 + t, D / 2 - t, 0.6, 0.5 * H, (240, 240, 240), top=paper),
            box(-W / 2, -W / 2 + t, -D / 2, D / 2, 0, H, c), box(W / 2 - t, W / 2, -D / 2, D / 2, 0, H, c),
            box(-W / 2, W / 2, -D / 2, -D / 2 + t, 0, 0.6 * H, c), box(-W / 2, W / 2, D / 2 - t, D / 2, 0, H, c)]


def build_sticky_notes(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    c = _pick(rng, [(120, 240, 250), (200, 160, 250), (150, 240, 160), (250, 200, 120)], spec)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, H, _shade(c, 0.92), top_colour=c)]


def build_tape_dispenser(spec, rng):
    W, D = spec.size_cm
    H = spec.height_cm
    c = _pick(rng, [(30, 30, 30), (40, 40, 170), (150, 90, 30)], spec)
    r = min(0.45 * H, D / 2)
    return [box(-W / 2, W / 2, -D / 2, D / 2, 0, 0.45 * H, c),
            rod_x(-0.15 * W, 0.15 * W, r, r, 0, H - r, (200, 215, 220), n=16)]


SHAPE_BUILDERS: dict[str, Builder] = {
    "cup": build_cup, "monitor": build_monitor, "telephone": build_telephone, "pen": build_pen,
    "ink_pad": build_ink_pad, "brochure": build_brochure, "document_camera": build_document_camera,
    "keyboard": build_keyboard, "mouse": build_mouse, "name_plate": build_name_plate,
    "mobile_phone": build_mobile_phone, "bottle": build_bottle, "bag": build_bag, "food": build_food,
}
# cups have their atypical (handleless) shapes among their variants: build_cup picks one
ATYPICAL_BUILDERS: dict[str, Builder] = {
    "mouse": build_box_mouse, "telephone": build_box_telephone, "document_camera": build_flat_document_camera,
    "monitor": build_standless_monitor, "cup": build_cup,
}
CLUTTER_BUILDERS: dict[str, Builder] = {
    "tissue_box": build_tissue_box, "stapler": build_stapler, "plant": build_plant,
    "file_tray": build_file_tray, "sticky_notes": build_sticky_notes, "tape_dispenser": build_tape_dispenser,
}


def yaw_matrix(yaw_deg: float) -> np.ndarray:
    a = math.radians(yaw_deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def build_local(spec: ItemSpec) -> list[Part]:
    """The item's parts in its own frame (no yaw, centred at the origin)."""
    if spec.atypical:
        builder = ATYPICAL_BUILDERS.get(spec.class_name)
    else:
        builder = SHAPE_BUILDERS.get(spec.class_name) or CLUTTER_BUILDERS.get(spec.class_name)
    if builder is None:
        raise KeyError(f"no shape for class {spec.class_name!r}")
    rng = np.random.default_rng(spec.appearance_seed)
    return builder(spec, rng)


def build_mesh(spec: ItemSpec) -> ItemMesh:
    """The item's mesh in desk cm: yawed and moved to its centre."""
    R = yaw_matrix(spec.yaw_deg)
    t = np.array([spec.center_cm[0], spec.center_cm[1], 0.0])
    return ItemMesh(spec=spec, parts=tuple(p.moved(R, t) for p in build_local(spec)))


def all_shape_names() -> tuple[str, ...]:
    return tuple(SHAPE_BUILDERS) + tuple(CLUTTER_BUILDERS)
