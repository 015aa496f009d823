"""Render the bundled example: four CCTV photos of counter window-01 with exact ground truth.

    python examples/make_example.py [--out examples/front-counter]

Writes, under the output folder:
  photos/<stem>.jpg        the 1280x720 photos (JPEG quality 85)
  detections/<stem>.json   SPEC detections: [{"class", "confidence", "bbox_px"}], full projected boxes
  truth/<stem>.json        camera, desk corners, every item's footprint, height and front margin
  desk_corners.json        the four desk-top corners in px with their desk cm coordinates

The scenes are fixed here and rendering is deterministic, so running it again gives the same
files.  The desk is 160 x 80 cm; the camera hangs about 2 m above the desk on the customer
side, looking at the counter about 45 degrees from vertical.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from shapely.geometry import Polygon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.synth.dataset import dumps_compact  # noqa: E402
from models.synth.render import render  # noqa: E402
from models.synth.scene import CameraSpec, DeskSpec, Effects, ItemSpec, LightSpec, Scene  # noqa: E402
from models.synth.shapes import build_mesh  # noqa: E402

CAMERA_ID = "window-01"
IMAGE_SIZE = (1280, 720)
DESK = DeskSpec(
    width_cm=160.0, depth_cm=80.0, thickness_cm=3.0, height_cm=78.0, material="wood",
    colour_bgr=(128, 168, 205), edge_colour_bgr=(95, 125, 160), body_colour_bgr=(200, 202, 200),
    floor="tiles", floor_colour_bgr=(200, 204, 206), texture_seed=20261120,
    # The 定置 outlines of this window, taped on the desk.
    markings_cm=(((95.0, 40.0), (155.0, 40.0), (155.0, 75.0), (95.0, 75.0)),
                 ((5.0, 35.0), (40.0, 35.0), (40.0, 75.0), (5.0, 75.0)),
                 ((140.0, 12.0), (158.0, 12.0), (158.0, 32.0), (140.0, 32.0))),
    marking_colour_bgr=(40, 190, 235),
)
ZONES_CM = {
    "monitor_zone": [[95, 40], [155, 40], [155, 75], [95, 75]],
    "document_camera_zone": [[5, 35], [40, 35], [40, 75], [5, 75]],
    "cup_zone": [[140, 12], [158, 12], [158, 32], [140, 32]],
    "pass_through": [[60, 0], [95, 0], [95, 25], [60, 25]],
}
MIN_FRONT_MARGIN_CM = 5.0


def camera() -> CameraSpec:
    # Ceiling mount in front of the counter, slightly to the right, ~2 m above the desk top.
    position = (92.0, -160.0, 200.0)
    target = (80.0, 42.0, 8.0)
    return CameraSpec.look_at(position, target, focal_px=1400.0, image_size=IMAGE_SIZE)


LIGHT = LightSpec(direction=(0.25, 0.35, 0.9), ambient=0.6, diffuse=0.45, colour_bgr=(0.98, 1.0, 1.02),
                  shadow_strength=0.35, shadow_softness_cm=2.5)
EFFECTS = Effects(exposure=1.02, gamma=1.0, white_balance=(1.0, 1.0, 1.0), blur_sigma_px=0.4,
                  noise_sigma=2.0, vignette=0.18, jpeg_quality=None)


def _item(name, center, size, height, yaw=0.0, seed=0, colour=None, variant=None) -> ItemSpec:
    return ItemSpec(class_name=name, center_cm=center, size_cm=size, height_cm=height, yaw_deg=yaw,
                    appearance_seed=seed, colour_bgr=colour, variant=variant)


def _at_front_margin(spec: ItemSpec, margin_cm: float) -> ItemSpec:
    """Move `spec` along y so its outermost point is exactly `margin_cm` from the front edge."""
    probe = build_mesh(replace(spec, center_cm=(spec.center_cm[0], 0.0)))
    return replace(spec, center_cm=(spec.center_cm[0], round(margin_cm - probe.front_margin_cm(), 4)))


def compliant_items() -> dict[str, ItemSpec]:
    return {
        "monitor": _item("monitor", (125.0, 57.0), (55.0, 20.0), 42.0, seed=11, colour=(38, 38, 40), variant=0),
        "document_camera": _item("document_camera", (22.0, 55.0), (30.0, 20.0), 35.0, seed=12, colour=(235, 235, 232)),
        "cup": _item("cup", (149.0, 22.0), (9.5, 7.5), 10.0, yaw=-30.0, seed=13, colour=(230, 230, 228), variant=0),
        "keyboard": _item("keyboard", (72.0, 62.0), (44.0, 14.0), 3.0, seed=14, colour=(40, 40, 42)),
        "mouse": _item("mouse", (43.0, 62.0), (6.5, 11.0), 4.0, seed=15, colour=(40, 40, 42)),
        "telephone": _item("telephone", (18.0, 18.0), (20.0, 18.0), 9.0, seed=16, colour=(225, 225, 222)),
        "pen": _item("pen", (50.0, 38.0), (14.0, 1.2), 1.2, yaw=8.0, seed=17, colour=(40, 40, 180)),
        "ink_pad": _item("ink_pad", (40.0, 26.0), (8.0, 8.0), 2.5, seed=18, colour=(30, 30, 150), variant=0),
        "brochure": _item("brochure", (120.0, 20.0), (21.0, 15.0), 1.5, seed=27),
        "name_plate": _item("name_plate", (44.0, 10.0), (20.0, 6.0), 8.0, seed=20, colour=(30, 30, 180), variant=0),
    }


def scenarios() -> list[dict]:
    a = compliant_items()
    b = dict(a)
    b["cup"] = _at_front_margin(replace(a["cup"], center_cm=(149.0, 0.0)), 2.0)
    b["brochure"] = replace(a["brochure"], center_cm=(77.0, 14.5), yaw_deg=4.0)
    c = {k: v for k, v in a.items() if k != "name_plate"}
    c["mobile_phone"] = _item("mobile_phone", (102.0, 18.0), (7.5, 15.5), 0.9, yaw=12.0, seed=31, colour=(30, 30, 30))
    c["bag"] = _item("bag", (78.0, 40.0), (35.0, 15.0), 28.0, yaw=-3.0, seed=32, colour=(35, 45, 80))
    d = dict(a)
    d["monitor"] = replace(a["monitor"], center_cm=(108.0, 45.0), yaw_deg=20.0)
    return [
        {"stem": f"{CAMERA_ID}_2026-11-20T08-30-00", "items": a, "scenario": "compliant desk",
         "expected_violations": []},
        {"stem": f"{CAMERA_ID}_2026-11-20T10-15-00", "items": b,
         "scenario": "cup 2 cm from the front edge; brochure stack in the pass-through",
         "expected_violations": ["edge_margin: cup 2.0 cm < 5 cm", "keep_clear: brochure in pass_through"]},
        {"stem": f"{CAMERA_ID}_2026-11-20T13-45-00", "items": c,
         "scenario": "a mobile phone and a bag on the desk, no name plate",
         "expected_violations": ["permitted: mobile_phone", "permitted: bag", "required: name_plate missing"]},
        {"stem": f"{CAMERA_ID}_2026-11-20T16-20-00", "items": d,
         "scenario": "monitor pushed out of its zone and rotated 20 degrees",
         "expected_violations": ["zone: monitor outside monitor_zone", "alignment: monitor 20 deg"]},
    ]


def _check_layout(items: dict[str, ItemSpec]) -> None:
    """Items must not intersect each other (the scenes are physically plausible)."""
    polys = {k: Polygon(build_mesh(v).footprint_cm()) for k, v in items.items()}
    names = list(polys)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if polys[a].intersects(polys[b]):
                raise AssertionError(f"{a} and {b} overlap")


def _r(v, nd=1):
    return [round(float(x), nd) for x in v]


def make(out: Path) -> list[Path]:
    cam = camera()
    for sub in ("photos", "detections", "truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    written = []
    for k, sc in enumerate(scenarios()):
        items = sc["items"]
        _check_layout(items)
        names = list(items)
        scene = Scene(camera=cam, desk=DESK, items=tuple(items[n] for n in names), light=LIGHT, effects=EFFECTS)
        rendered = render(scene, np.random.default_rng(1000 + k), supersample=2)
        stem = sc["stem"]
        photo = out / "photos" / f"{stem}.jpg"
        ok, buf = cv2.imencode(".jpg", rendered.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        photo.write_bytes(buf.tobytes())
        conf_rng = np.random.default_rng(2000 + k)
        detections = []
        truth_items = []
        for spec, t in zip(scene.items, rendered.items_truth):
            detections.append({"class": spec.class_name,
                               "confidence": round(float(conf_rng.uniform(0.8, 0.97)), 3),
                               "bbox_px": _r(t.bbox_full_px)})
            d = t.to_dict()
            d.update({"size_cm": list(spec.size_cm), "nominal_height_cm": spec.height_cm})
            truth_items.append(d)
        (out / "detections" / f"{stem}.json").write_text(dumps_compact(detections))
        truth = {
            "image": photo.name,
            "camera_id": CAMERA_ID,
            "captured_at": stem.split("_", 1)[1][:10] + "T" + stem.split("T", 1)[1].replace("-", ":"),
            "scenario": sc["scenario"],
            "expected_violations": sc["expected_violations"],
            "image_size": list(IMAGE_SIZE),
            "camera": {**cam.to_dict(), "model": "pinhole"},
            "desk": {"width_cm": DESK.width_cm, "depth_cm": DESK.depth_cm,
                     "outline_cm": [list(p) for p in DESK.outline_cm], "front_edge": 0},
            "desk_corners_px": [_r(p, 3) for p in rendered.desk_corners_px],
            "zones_cm": ZONES_CM,
            "min_front_margin_required_cm": MIN_FRONT_MARGIN_CM,
            "items": truth_items,
        }
        (out / "truth" / f"{stem}.json").write_text(dumps_compact(truth))
        written.append(photo)
    corners_px = cam.project(DESK.corners_cm)
    names = ["front_left", "front_right", "back_right", "back_left"]
    corners = {
        "camera_id": CAMERA_ID,
        "image_size": list(IMAGE_SIZE),
        "desk": {"width_cm": DESK.width_cm, "depth_cm": DESK.depth_cm,
                 "outline_cm": [list(p) for p in DESK.outline_cm], "front_edge": 0},
        "points": [{"name": n, "desk_cm": list(DESK.outline_cm[i]), "image_px": _r(corners_px[i], 3)}
                   for i, n in enumerate(names)],
        # The camera the photos were rendered with (to check a fitted calibration against).
        "true_camera": {"K": [list(r) for r in cam.K], "dist": list(cam.dist), "rvec": list(cam.rvec),
                        "tvec": list(cam.tvec), "model": "pinhole"},
        "zones_cm": ZONES_CM,
    }
    (out / "desk_corners.json").write_text(dumps_compact(corners))
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "front-counter")
    args = ap.parse_args(argv)
    for p in make(args.out):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
