"""Draw the corner-order picture of the README ("Set up your counter"): the example photo with the
4 desk corners numbered in the product's order, as the customer sees the desk.

    .venv/bin/python examples/make_corner_picture.py   # writes docs/corner-order.jpg
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calibration.camera import load_camera  # noqa: E402
from calibration.corners import CORNER_NAMES  # noqa: E402
from inspector.drawing import _font  # noqa: E402

ZH = ("左前", "右前", "右后", "左后")


def main() -> Path:
    camera = load_camera(ROOT / "calibration/cameras/window-01.yaml")
    photo = cv2.imread(str(ROOT / "examples/front-counter/photos/window-01_2026-11-20T08-30-00.jpg"))
    corners = [tuple(p.image_px) for p in camera.spec.points]
    cv2.polylines(photo, [np.round(corners).astype(np.int32)], True, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.line(photo, tuple(map(round, corners[0])), tuple(map(round, corners[1])), (0, 0, 230), 5, cv2.LINE_AA)
    picture = Image.fromarray(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(picture)
    big, small = _font(30), _font(20)
    for i, ((x, y), name, zh) in enumerate(zip(corners, CORNER_NAMES, ZH)):
        draw.ellipse((x - 20, y - 20, x + 20, y + 20), fill=(230, 0, 0) if i < 2 else (0, 110, 230))
        draw.text((x, y), str(i + 1), font=big, fill="white", anchor="mm")
        label = f"{i + 1} {name} {zh}"
        dy = 34 if i < 2 else -34
        box = draw.textbbox((x, y + dy), label, font=small, anchor="mm")
        draw.rectangle((box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3), fill=(0, 0, 0))
        draw.text((x, y + dy), label, font=small, fill="white", anchor="mm")
    middle = ((corners[0][0] + corners[1][0]) / 2, (corners[0][1] + corners[1][1]) / 2 + 70)
    text = "front edge = the customer's side 前沿＝面向客户的一侧 (red)"
    box = draw.textbbox(middle, text, font=small, anchor="mm")
    draw.rectangle((box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3), fill=(230, 0, 0))
    draw.text(middle, text, font=small, fill="white", anchor="mm")
    out = ROOT / "docs" / "corner-order.jpg"
    out.parent.mkdir(exist_ok=True)
    picture.resize((960, 540), Image.LANCZOS).save(out, quality=85, optimize=True)
    return out


if __name__ == "__main__":
    print(main())
