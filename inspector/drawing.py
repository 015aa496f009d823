"""Pictures: the annotated photo and the bird's-eye desk map. Drawing only; nothing is computed here
that the report does not already hold (plus the camera to map cm to px)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from calibration.camera import Camera
from inspector.geometry import densify
from inspector.records import Report

FONT_PATH = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"

# BGR colours
OK = (80, 175, 60)
BAD = (40, 40, 230)
UNSURE = (0, 165, 255)
ZONE = (200, 140, 40)
CLEAR_ZONE = (160, 60, 200)
MARGIN = (0, 200, 255)
DESK = (255, 255, 255)


@dataclass(frozen=True)
class MarginLine:
    edge_index: int
    min_cm: float


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    # shipped with the package (Apache-2.0 / GPL-3 with font exception): never downloaded
    return ImageFont.truetype(str(FONT_PATH), size)


def _put_texts(image: np.ndarray, texts: list[tuple[tuple[int, int], str, tuple[int, int, int], int]]) -> np.ndarray:
    """Draw (position, text, BGR colour, size) labels with a CJK font, each on a dark plate. Each
    label is rendered on its own small patch: converting the whole photo to PIL and back costs more
    than all the labels."""
    out = image.copy()
    height, width = image.shape[:2]
    for (x, y), text, colour, size in texts:
        font = _font(size)
        left, top, right, bottom = font.getbbox(text)
        w, h = right - left + 6, bottom - top + 6
        x = int(min(max(x, 0), max(width - w, 0)))
        y = int(min(max(y, 0), max(height - h, 0)))
        w, h = min(w, width - x), min(h, height - y)
        if w <= 0 or h <= 0:
            continue
        plate = Image.new("RGB", (w, h), (20, 20, 20))
        ImageDraw.Draw(plate).text((3 - left, 3 - top), text, font=font, fill=(colour[2], colour[1], colour[0]))
        out[y:y + h, x:x + w] = np.asarray(plate)[:, :, ::-1]
    return out


def _blend_polygon(image: np.ndarray, points_px: np.ndarray, colour, alpha: float) -> np.ndarray:
    """The image with the polygon tinted; only the polygon's bounding box is touched."""
    polygon = np.round(points_px).astype(np.int32).reshape(-1, 2)
    height, width = image.shape[:2]
    x0, y0 = np.maximum(polygon.min(axis=0), 0)
    x1, y1 = np.minimum(polygon.max(axis=0) + 1, [width, height])
    out = image.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    roi = out[y0:y1, x0:x1]
    overlay = roi.copy()
    cv2.fillPoly(overlay, [polygon - [x0, y0]], colour)
    out[y0:y1, x0:x1] = cv2.addWeighted(overlay, alpha, roi, 1 - alpha, 0)
    return out


def margin_band_cm(camera: Camera, line: MarginLine) -> np.ndarray:
    """The strip between a desk edge and the line min_cm inside it, as a desk-cm quadrilateral."""
    a, b = (np.array(p) for p in camera.desk.edge(line.edge_index))
    direction = (b - a) / np.linalg.norm(b - a)
    inward = np.array([-direction[1], direction[0]])  # left of the edge: inside a CCW outline
    return np.array([a, b, b + inward * line.min_cm, a + inward * line.min_cm])


def _item_status(report: Report) -> tuple[dict[int, list[str]], set[int]]:
    notes: dict[int, list[str]] = {}
    for violation in report.violations:
        for item_id in violation.item_ids:
            if violation.measured is not None and violation.unit:
                text = f"{violation.rule}: {violation.measured:.1f}{violation.unit} (≥{violation.required:g})" \
                    if violation.kind == "edge_margin" else \
                    f"{violation.rule}: {violation.measured:.1f}{violation.unit}"
            else:
                text = violation.rule
            notes.setdefault(item_id, []).append(text)
    unsure = {item.id for item in report.items if not item.judged}
    return notes, unsure


def _banner(report: Report) -> tuple[str, tuple[int, int, int]]:
    if report.compliant:
        return f"合格 PASS  score {report.score:.2f}", OK
    return f"不合格 FAIL  {len(report.violations)} 项违规 violations  score {report.score:.2f}", BAD


def annotate(image: np.ndarray, report: Report, camera: Camera, margins: list[MarginLine]) -> np.ndarray:
    """The photo with desk outline, zones, margin bands, items (red when violating) and labels."""
    out = image.copy()
    desk = camera.desk
    for name, zone in desk.zones_cm.items():
        px = camera.desk_to_image(densify(np.asarray(zone.exterior.coords)[:-1], 2.0))
        out = _blend_polygon(out, px, ZONE, 0.18)
        cv2.polylines(out, [np.round(px).astype(np.int32)], True, ZONE, 1, cv2.LINE_AA)
    for line in margins:
        px = camera.desk_to_image(densify(margin_band_cm(camera, line), 1.0))
        out = _blend_polygon(out, px, MARGIN, 0.30)
    outline_px = camera.desk_to_image(densify(np.asarray(desk.outline_cm.exterior.coords)[:-1], 2.0))
    cv2.polylines(out, [np.round(outline_px).astype(np.int32)], True, DESK, 2, cv2.LINE_AA)

    notes, unsure = _item_status(report)
    texts = []
    for name, zone in desk.zones_cm.items():
        anchor = camera.desk_to_image(np.array([[zone.centroid.x, zone.centroid.y]]))[0]
        texts.append(((int(anchor[0]) - 20, int(anchor[1]) - 8), name, ZONE, 13))
    for item in report.items:
        colour = BAD if item.id in notes else UNSURE if item.id in unsure else OK
        x1, y1, x2, y2 = (int(round(v)) for v in item.bbox_px)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 3 if item.id in notes else 2, cv2.LINE_AA)
        footprint_px = camera.desk_to_image(densify(np.asarray(item.footprint_cm), 1.0))
        cv2.polylines(out, [np.round(footprint_px).astype(np.int32)], True, colour, 1, cv2.LINE_AA)
        label = f"#{item.id} {item.label_zh} {item.class_} {item.confidence:.2f}"
        texts.append(((x1, y1 - 22), label, colour, 15))
        for k, note in enumerate(notes.get(item.id, [])):
            texts.append(((x1, y2 + 4 + 20 * k), note, BAD, 14))
    banner, colour = _banner(report)
    texts.append(((8, 8), banner, colour, 22))
    return _put_texts(out, texts)


@lru_cache(maxsize=32)
def _desk_map_grid(camera: Camera, px_per_cm: float, pad_cm: float, width: int, height: int):
    """For every desk-map pixel, where it lies in the photo (lens distortion included). Depends
    only on the camera, so it is computed once per camera, not per image."""
    min_x, min_y, _, _ = camera.desk.outline_cm.bounds
    map_x, map_y = np.meshgrid(np.arange(width, dtype=np.float64) + 0.5, np.arange(height, dtype=np.float64) + 0.5)
    desk_cm = np.stack([map_x.ravel() / px_per_cm + min_x - pad_cm, map_y.ravel() / px_per_cm + min_y - pad_cm], axis=1)
    source_px = camera.desk_to_image(desk_cm).astype(np.float32) - 0.5
    return source_px[:, 0].reshape(height, width), source_px[:, 1].reshape(height, width)


def desk_map(
    image: np.ndarray, report: Report, camera: Camera, margins: list[MarginLine], px_per_cm: float = 5.0
) -> np.ndarray:
    """Bird's-eye view of the desk top at a fixed scale: the customer-facing side is at the top,
    as a supervisor standing behind the chair would draw it; footprints, zones, margins on top."""
    pad_cm = 8.0
    min_x, min_y, max_x, max_y = camera.desk.outline_cm.bounds
    width = int(round((max_x - min_x + 2 * pad_cm) * px_per_cm))
    height = int(round((max_y - min_y + 2 * pad_cm) * px_per_cm))

    def to_map(points_cm) -> np.ndarray:
        pts = np.asarray(points_cm, dtype=float).reshape(-1, 2)
        return np.stack([(pts[:, 0] - min_x + pad_cm) * px_per_cm, (pts[:, 1] - min_y + pad_cm) * px_per_cm], axis=1)

    map_x, map_y = _desk_map_grid(camera, px_per_cm, pad_cm, width, height)
    top = cv2.remap(
        image,
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(40, 40, 40),
    )
    top = (top * 0.75).astype(np.uint8)  # dim the photo so the drawing reads clearly

    desk = camera.desk
    for name, zone in desk.zones_cm.items():
        top = _blend_polygon(top, to_map(np.asarray(zone.exterior.coords)), ZONE, 0.25)
        cv2.polylines(top, [np.round(to_map(np.asarray(zone.exterior.coords))).astype(np.int32)], True, ZONE, 1, cv2.LINE_AA)
    for line in margins:
        top = _blend_polygon(top, to_map(margin_band_cm(camera, line)), MARGIN, 0.35)
    cv2.polylines(top, [np.round(to_map(np.asarray(desk.outline_cm.exterior.coords))).astype(np.int32)], True, DESK, 2, cv2.LINE_AA)
    a, b = desk.edge(desk.front_edge)
    cv2.line(top, *(tuple(int(round(v)) for v in p) for p in to_map([a, b])), (0, 220, 255), 3, cv2.LINE_AA)

    notes, unsure = _item_status(report)
    texts = []
    for name, zone in desk.zones_cm.items():
        anchor = to_map([[zone.bounds[0], zone.bounds[1]]])[0]
        texts.append(((int(anchor[0]) + 2, int(anchor[1]) + 2), name, ZONE, 12))
    for item in report.items:
        colour = BAD if item.id in notes else UNSURE if item.id in unsure else OK
        polygon = np.round(to_map(item.footprint_cm)).astype(np.int32)
        top = _blend_polygon(top, polygon, colour, 0.35)
        cv2.polylines(top, [polygon], True, colour, 2, cv2.LINE_AA)
        cx, cy = to_map([item.center_cm])[0]
        texts.append(((int(cx) - 20, int(cy) - 10), f"#{item.id} {item.label_zh}", colour, 13))
        for k, note in enumerate(notes.get(item.id, [])):
            texts.append(((int(cx) - 20, int(cy) + 10 + 16 * k), note, BAD, 12))
    fx, fy = to_map([[(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]])[0]
    texts.append(((int(fx) - 60, int(fy) - 30), "前沿 customer side", (0, 220, 255), 13))
    return _put_texts(top, texts)
