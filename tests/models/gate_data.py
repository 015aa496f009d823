"""Real inputs for the gate's tests: a tiny held-out folder made of the four example photos (their
labelled boxes, the camera and standard they are judged with, and confirmed verdicts), and
candidates made from the bundled model by changing only its card (files linked, not copied)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import yaml

from inspector.classes import CANONICAL_CLASSES
from models.registry import DEFAULT_MODEL, REGISTRY_DIR, read_card, write_card

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "front-counter"
CAMERA_FILE = REPO / "calibration" / "cameras" / "window-01.yaml"
STANDARD_FILE = REPO / "rules" / "standards" / "front-counter.yaml"


def current_verdicts(photos: list[Path]) -> list[str]:
    """What `inspect` says of each photo with the bundled model (the 'supervisor-confirmed' verdicts:
    the current model then agrees with every one of them)."""
    from calibration.camera import load_camera
    from inspector.frames import load_frame
    from inspector.pipeline import inspect
    from models.registry import load_detector
    from rules.standard import load_standard

    camera, standard = load_camera(CAMERA_FILE), load_standard(STANDARD_FILE)
    detector = load_detector(DEFAULT_MODEL, extra_ids=set(standard.permitted_classes))
    return [inspect(load_frame(photo, camera.camera_id), camera, standard, detector=detector).verdict for photo in photos]


def make_heldout_folder(folder: Path, verdicts: list[str] | None = None) -> Path:
    """images/val + labels/val (the examples' true boxes) + data.yaml + cameras/, standards/ and
    verdicts.jsonl, as `dataset export` writes them."""
    (folder / "images" / "val").mkdir(parents=True)
    (folder / "labels" / "val").mkdir(parents=True)
    photos = sorted((EXAMPLE / "photos").glob("*.jpg"))
    for photo in photos:
        shutil.copyfile(photo, folder / "images" / "val" / photo.name)
        lines = []
        for item in json.loads((EXAMPLE / "detections" / f"{photo.stem}.json").read_text(encoding="utf-8")):
            x1, y1, x2, y2 = item["bbox_px"]
            lines.append(f"{CANONICAL_CLASSES.index(item['class'])} {(x1 + x2) / 2 / 1280:.6f} {(y1 + y2) / 2 / 720:.6f} "
                         f"{(x2 - x1) / 1280:.6f} {(y2 - y1) / 720:.6f}")
        (folder / "labels" / "val" / f"{photo.stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "data.yaml").write_text(yaml.safe_dump({"path": str(folder), "train": "images/val", "val": "images/val",
                                                      "names": dict(enumerate(CANONICAL_CLASSES))}), encoding="utf-8")
    for kind, source in (("cameras", CAMERA_FILE), ("standards", STANDARD_FILE)):
        (folder / kind).mkdir()
        shutil.copyfile(source, folder / kind / source.name)
    copied = sorted((folder / "images" / "val").glob("*.jpg"))
    verdicts = verdicts if verdicts is not None else current_verdicts(copied)
    with open(folder / "verdicts.jsonl", "w", encoding="utf-8") as out:
        for photo, verdict in zip(copied, verdicts):
            out.write(json.dumps({"image": f"images/val/{photo.name}", "camera_file": f"cameras/{CAMERA_FILE.name}",
                                  "standard_file": f"standards/{STANDARD_FILE.name}", "verdict": verdict,
                                  "split": "val"}) + "\n")
    return folder


def make_candidate(registry: Path, name: str, copy_files: bool = False, **card_changes) -> Path:
    """The bundled model under another name in `registry`, its card changed as given (e.g. a
    confidence of 0.95: the same network finding less). Weights linked unless copy_files."""
    source = REGISTRY_DIR / DEFAULT_MODEL
    target = registry / name
    target.mkdir(parents=True)
    card = read_card(source / "card.yaml")
    backend_files = dict.fromkeys(spec.file for spec in card.backends.values())  # the INT8 file, once
    for file_name in dict.fromkeys([card.weights, *([card.onnx] if card.onnx else []), *backend_files]):
        if copy_files:
            shutil.copyfile(source / file_name, target / file_name)
        else:
            os.symlink(source / file_name, target / file_name)
    return write_card(card.model_copy(update={"name": name, "version": "1.0.1", **card_changes}), target / "card.yaml")
