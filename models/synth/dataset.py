"""Write a YOLO detection dataset of random synthetic desks, with per-image ground truth.

    python -m models.synth.dataset --out DIR --count N --seed S --imgsz 640 [--boost cup=1.5,pen=2]

Layout (ultralytics format):
    DIR/images/{train,val}/<name>.jpg
    DIR/labels/{train,val}/<name>.txt   "class_id cx cy w h" (normalised), visible boxes
    DIR/truth/{train,val}/<name>.json   camera, desk, every item's footprint/height/boxes, the scene
    DIR/data.yaml                       names in inspector.classes.CANONICAL_CLASSES order
    DIR/dataset.json                    generator settings and per-class box counts

Image i depends only on (seed, i): the same seed gives byte-identical labels and images,
whatever the count or the number of workers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import re
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import yaml

from inspector.classes import CANONICAL_CLASSES

from .render import Rendered, render
from .scene import DEFAULT_IMAGE_SIZE, Scene, sample_scene

GENERATOR_VERSION = "synth-1"
CLASS_IDS: dict[str, int] = {name: i for i, name in enumerate(CANONICAL_CLASSES)}


@dataclass(frozen=True)
class DatasetSettings:
    seed: int = 0
    imgsz: int = 640  # long side of the written images, px
    val_fraction: float = 0.2
    min_visible_fraction: float = 0.3  # of the item's unoccluded, in-image area
    min_box_px: float = 4.0  # skip boxes whose long side is under this (or short side under half)
    jpeg_quality: int | None = None  # None: the scene's randomised quality
    supersample: int = 1
    # (class, factor) pairs multiplying a class's draw weight; () draws every class as the generator does
    class_boost: tuple[tuple[str, float], ...] = ()


_NUM_LIST = re.compile(r"\[\s+([-+0-9.eE,\s]*?)\s+\]")


def dumps_compact(obj, indent: int = 2) -> str:
    """JSON with indentation, but lists of plain numbers kept on one line."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False)
    return _NUM_LIST.sub(lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text) + "\n"


def image_name(seed: int, index: int) -> str:
    return f"synth_s{seed}_{index:06d}"


def split_of(index: int, val_fraction: float) -> str:
    """Deterministic train/val split by index (Knuth multiplicative hash)."""
    return "val" if ((index * 2654435761) % 2**32) / 2**32 < val_fraction else "train"


def output_size(imgsz: int, base: tuple[int, int] = DEFAULT_IMAGE_SIZE) -> tuple[int, int]:
    w, h = base
    s = imgsz / max(w, h)
    return max(1, int(round(w * s))), max(1, int(round(h * s)))


def yolo_labels(rendered: Rendered, min_visible_fraction: float = 0.3, min_box_px: float = 4.0,
                class_ids: dict[str, int] = CLASS_IDS) -> list[str]:
    """YOLO lines for the visible boxes of the items that are visible enough."""
    w, h = rendered.camera.image_size
    lines = []
    for t in rendered.items_truth:
        if t.class_name not in class_ids or t.bbox_visible_px is None:
            continue
        if t.visible_fraction * t.in_image_fraction < min_visible_fraction:
            continue
        x0, y0, x1, y1 = t.bbox_visible_px
        # Too small to see; a thin pen lying flat keeps its box when it is long enough.
        if max(x1 - x0, y1 - y0) < min_box_px or min(x1 - x0, y1 - y0) < min_box_px / 2:
            continue
        lines.append(f"{class_ids[t.class_name]} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} "
                     f"{(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
    return lines


def parse_boost(text: str) -> tuple[tuple[str, float], ...]:
    """'cup=1.6,pen=2' -> (('cup', 1.6), ('pen', 2.0)); unknown classes and bad factors refused."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, factor = part.partition("=")
        name = name.strip()
        if not sep or name not in CLASS_IDS:
            raise ValueError(f"'{part}': expected CLASS=FACTOR with CLASS one of {', '.join(CLASS_IDS)}")
        try:
            value = float(factor)
        except ValueError:
            raise ValueError(f"'{part}': the factor must be a number") from None
        if not 0.0 < value <= 20.0:
            raise ValueError(f"'{part}': the factor must be in (0, 20]")
        pairs.append((name, value))
    return tuple(pairs)


def make_sample(index: int, settings: DatasetSettings) -> tuple[Scene, Rendered, list[str], int]:
    """Scene, rendering, YOLO lines and JPEG quality of image `index` (pure function of its inputs)."""
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, index]))
    scene = sample_scene(rng, class_boost=dict(settings.class_boost))
    quality = settings.jpeg_quality or scene.effects.jpeg_quality or 90
    scene = replace(scene, effects=replace(scene.effects, jpeg_quality=None))  # encoded once, on write
    rendered = render(scene, rng, image_size=output_size(settings.imgsz), supersample=settings.supersample)
    lines = yolo_labels(rendered, settings.min_visible_fraction, settings.min_box_px)
    return scene, rendered, lines, int(quality)


def truth_record(scene: Scene, rendered: Rendered, index: int, settings: DatasetSettings) -> dict:
    cam = rendered.camera
    return {
        "generator": GENERATOR_VERSION, "seed": settings.seed, "index": index,
        "image_size": list(cam.image_size),
        "camera": {"K": [list(r) for r in cam.K], "dist": list(cam.dist), "rvec": list(cam.rvec),
                   "tvec": list(cam.tvec), "model": "pinhole", "tilt_deg": round(cam.tilt_deg, 3)},
        "desk": {"width_cm": scene.desk.width_cm, "depth_cm": scene.desk.depth_cm,
                 "outline_cm": [list(p) for p in scene.desk.outline_cm], "front_edge": 0},
        "desk_corners_px": [[round(float(x), 3), round(float(y), 3)] for x, y in rendered.desk_corners_px],
        "items": [t.to_dict() for t in rendered.items_truth],
        "clutter": [t.to_dict() for t in rendered.clutter_truth],
        "scene": scene.to_dict(),
    }


def write_sample(out: Path, index: int, settings: DatasetSettings) -> dict[str, int]:
    """Write image, label and truth files of image `index`; returns its box count per class."""
    scene, rendered, lines, quality = make_sample(index, settings)
    split = split_of(index, settings.val_fraction)
    name = image_name(settings.seed, index)
    ok, buf = cv2.imencode(".jpg", rendered.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for image {index}")
    (out / "images" / split / f"{name}.jpg").write_bytes(buf.tobytes())
    (out / "labels" / split / f"{name}.txt").write_text("".join(line + "\n" for line in lines))
    truth = truth_record(scene, rendered, index, settings)
    (out / "truth" / split / f"{name}.json").write_text(dumps_compact(truth, indent=1))
    counts: dict[str, int] = {}
    for line in lines:
        c = CANONICAL_CLASSES[int(line.split()[0])]
        counts[c] = counts.get(c, 0) + 1
    return counts


def _worker(args: tuple[str, int, DatasetSettings]) -> dict[str, int]:
    cv2.setNumThreads(1)
    out, index, settings = args
    return write_sample(Path(out), index, settings)


def write_dataset(out: Path | str, count: int, settings: DatasetSettings = DatasetSettings(),
                  workers: int = 1, start: int = 0, progress: bool = False) -> dict:
    """Write images start .. start+count-1 of the dataset `settings` into `out`; returns the summary."""
    out = Path(out)
    for kind in ("images", "labels", "truth"):
        for split in ("train", "val"):
            (out / kind / split).mkdir(parents=True, exist_ok=True)
    indices = range(start, start + count)
    totals: dict[str, int] = {c: 0 for c in CANONICAL_CLASSES}
    jobs = [(str(out), i, settings) for i in indices]
    if workers > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            results = pool.imap(_worker, jobs, chunksize=4)
            for k, counts in enumerate(results, 1):
                for c, n in counts.items():
                    totals[c] += n
                if progress:
                    print(f"\r{k}/{count}", end="", file=sys.stderr)
    else:
        for k, job in enumerate(jobs, 1):
            for c, n in _worker(job).items():
                totals[c] += n
            if progress:
                print(f"\r{k}/{count}", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    data = {"path": str(out.resolve()), "train": "images/train", "val": "images/val",
            "nc": len(CANONICAL_CLASSES), "names": {i: c for i, c in enumerate(CANONICAL_CLASSES)}}
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    summary = {"generator": GENERATOR_VERSION, "count": count, "start": start,
               "settings": asdict(settings), "boxes_per_class": totals}
    (out / "dataset.json").write_text(dumps_compact(summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.synth.dataset", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--count", required=True, type=int, help="number of images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--imgsz", type=int, default=640, help="long side of the images, px")
    ap.add_argument("--start", type=int, default=0, help="first image index (to extend a dataset)")
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--min-visible", type=float, default=0.3, help="skip items less visible than this")
    ap.add_argument("--jpeg-quality", type=int, default=None, help="fixed quality (default: randomised)")
    ap.add_argument("--supersample", type=int, default=1, help="render at N x size and average down")
    ap.add_argument("--boost", default="", help="draw some classes more often, e.g. cup=1.6,pen=1.6,bottle=2")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    if args.count < 0 or args.imgsz < 32:
        ap.error("--count must be >= 0 and --imgsz >= 32")
    try:
        class_boost = parse_boost(args.boost)
    except ValueError as exc:
        ap.error(f"--boost {exc}")
    settings = DatasetSettings(seed=args.seed, imgsz=args.imgsz, val_fraction=args.val_fraction,
                               min_visible_fraction=args.min_visible, jpeg_quality=args.jpeg_quality,
                               supersample=args.supersample, class_boost=class_boost)
    summary = write_dataset(args.out, args.count, settings, workers=args.workers, start=args.start,
                            progress=sys.stderr.isatty())
    print(json.dumps(summary["boxes_per_class"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
