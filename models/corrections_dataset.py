"""Supervisors' corrections as a YOLO training set, and one training set from several folders.

`export`: every inspection a person has looked at as a whole (a correction with the verdict
confirmed or rejected), its photo and the whole image's boxes as corrected, in the ultralytics
layout. The split is by camera and capture day: a fixed camera's frames of one day are nearly the
same picture, and one in train with its twin in val would make the val figures a memory test.
Beside the images: `verdicts.jsonl` (each confirmed verdict with the camera and standard files it
was judged with, for `models compare`), copies of those files, and a dataset card with counts per
class, split and source. Written into a temporary folder and renamed at the end: an export that
fails leaves nothing behind, and an export never writes into a folder that already holds files.

`combine`: several labelled folders (an export, the renderer's output, ../shared/data/real-desk)
as one data.yaml, files linked not copied, each source's labelled classes kept (a public set that
labels only pens must not teach that every cup in it is background; see models/training.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import yaml

from inspector.classes import CANONICAL_CLASSES
from inspector.errors import InspectorError
from inspector.history import History, InspectionRow, latest_corrections, original_photo
from models.evaluation import SOURCE_SEPARATOR, dataset_class_names, find_images, label_path, labelled_classes_by_source, \
    source_of

EXPORT_SOURCE = "corrections"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


class DatasetError(InspectorError):
    """An export or combine that cannot run: a non-empty output folder, nothing to export, ..."""


@dataclass(frozen=True)
class ExportSummary:
    out_dir: Path
    images: dict[str, int]  # split -> images
    boxes: dict[str, dict[str, int]]  # split -> class -> boxes
    skipped: dict[str, int]  # reason -> inspections left out
    seconds: float


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise DatasetError("the output folder exists and is not empty; give a new or empty folder", str(out_dir))


def _group_of(row: InspectionRow) -> str:
    moment = row.captured_at or row.inspected_at
    return f"{row.camera_id}/{moment:%Y-%m-%d}"


def _publish(work: Path, out_dir: Path) -> None:
    """Move the finished work folder into place, all at once; out_dir must still be new or empty
    (nobody filled it meanwhile)."""
    _check_out_dir(out_dir)
    if out_dir.exists():
        out_dir.rmdir()
    os.replace(work, out_dir)


def split_groups(groups: list[str], val_fraction: float) -> set[str]:
    """The camera-days that go to val: a fixed share of them, chosen by a hash of their names (the
    same groups whatever else is exported), at least one when there are two or more."""
    unique = sorted(set(groups), key=lambda g: hashlib.sha256(g.encode()).hexdigest())
    if len(unique) < 2 or val_fraction <= 0:
        return set()
    count = min(max(1, round(val_fraction * len(unique))), len(unique) - 1)
    return set(unique[:count])


def _yolo_line(class_index: int, box, width: int, height: int) -> str:
    x1, y1, x2, y2 = (float(v) for v in box)
    x1, x2 = max(0.0, min(x1, width)), max(0.0, min(x2, width))
    y1, y2 = max(0.0, min(y1, height)), max(0.0, min(y2, height))
    return (f"{class_index} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
            f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")


def export(history: History, data_dir: Path, out_dir: Path, cameras_dir: Path, standards_dir: Path,
           val_fraction: float = 0.2, camera_id: str | None = None, since: datetime | None = None,
           progress=None) -> ExportSummary:
    """Write the confirmed corrections as a YOLO dataset in out_dir (see the module docstring)."""
    started = time.perf_counter()
    _check_out_dir(out_dir)
    latest = latest_corrections(history)
    looked_at = {i: c for i, c in latest.items() if c.verdict_confirmed is not None}
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    rows: list[tuple[InspectionRow, object]] = []
    skipped: Counter = Counter()
    skipped["corrected, verdict neither confirmed nor rejected"] = len(latest) - len(looked_at)
    for inspection_id, correction in sorted(looked_at.items()):
        row = history.get(inspection_id)
        if row is None or (camera_id is not None and row.camera_id != camera_id):
            continue
        when = row.captured_at or row.inspected_at
        if since is not None and (when if when.tzinfo else when.replace(tzinfo=timezone.utc)) < since:
            continue
        rows.append((row, correction))
    if not rows:
        raise DatasetError("no inspection a person has confirmed or rejected matches: nothing to export "
                           f"({len(latest)} corrected in all)", "history")
    val_groups = split_groups([_group_of(row) for row, _ in rows], val_fraction)
    names = list(CANONICAL_CLASSES)
    index_of = {name: i for i, name in enumerate(names)}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        images: Counter = Counter()
        boxes: dict[str, Counter] = {"train": Counter(), "val": Counter()}
        sources: dict[str, Counter] = {"train": Counter(), "val": Counter()}
        verdict_lines = []
        copied: dict[str, str] = {}
        for n, (row, correction) in enumerate(rows, start=1):
            photo = original_photo(data_dir, row)
            if photo is None:
                skipped["photo no longer on this server"] += 1
                continue
            report = correction.report()
            split = "val" if _group_of(row) in val_groups else "train"
            stem = f"{EXPORT_SOURCE}{SOURCE_SEPARATOR}{row.camera_id}-{row.id}"
            image_rel = Path("images") / split / f"{stem}{photo.suffix.lower()}"
            (work / image_rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, work / image_rel)
            image = cv2.imread(str(work / image_rel), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise DatasetError(f"the photo of inspection {row.id} does not decode", str(photo))
            height, width = image.shape[:2]
            lines = []
            for item in correction.items():
                if item["class"] not in index_of:
                    continue
                lines.append(_yolo_line(index_of[item["class"]], item["bbox_px"], width, height))
                boxes[split][item["class"]] += 1
            label = work / "labels" / split / f"{stem}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
            images[split] += 1
            sources[split][f"{row.origin}:{row.camera_id}"] += 1
            if correction.verdict_confirmed:
                files = {}
                for kind, folder, name in (("camera_file", cameras_dir, row.camera_id),
                                           ("standard_file", standards_dir, report["standard"]["id"])):
                    source_file = next((folder / f"{name}{s}" for s in (".yaml", ".yml", ".json")
                                        if (folder / f"{name}{s}").is_file()), None)
                    if source_file is None:
                        continue
                    target = Path("cameras" if kind == "camera_file" else "standards") / source_file.name
                    if str(target) not in copied:
                        (work / target).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(source_file, work / target)
                        copied[str(target)] = str(source_file)
                    files[kind] = target.as_posix()
                if len(files) == 2:
                    verdict_lines.append({"image": image_rel.as_posix(), **files, "verdict": correction.corrected_verdict,
                                          "inspection_id": row.id, "confirmed_by": correction.author,
                                          "model_version": correction.model_version, "split": split})
                else:
                    skipped["verdict kept out: camera or standard file not found"] += 1
            if progress is not None:
                progress(n, len(rows))
        if not images:
            raise DatasetError("none of the confirmed inspections' photos is still on this server: nothing to export",
                               str(data_dir))
        for split in ("train", "val"):  # ultralytics wants both folders
            (work / "images" / split).mkdir(parents=True, exist_ok=True)
            (work / "labels" / split).mkdir(parents=True, exist_ok=True)
        (work / "verdicts.jsonl").write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in verdict_lines),
                                             encoding="utf-8")
        card = {
            "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "what": "supervisor-confirmed corrections: every box of each image as a person left it",
            "split": f"by camera and capture day ({len(val_groups)} camera-days in val: {sorted(val_groups)})",
            "images": dict(images), "boxes": {s: dict(c) for s, c in boxes.items()},
            "sources": {s: dict(c) for s, c in sources.items()}, "confirmed_verdicts": len(verdict_lines),
            "skipped": {k: v for k, v in skipped.items() if v}, "copied_files": copied,
        }
        (work / "dataset.json").write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
        (work / "DATASET_CARD.md").write_text(_card_markdown(card), encoding="utf-8")
        _write_data_yaml(work, out_dir, names, {EXPORT_SOURCE: names})
        _publish(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _write_data_yaml(out_dir, out_dir, names, {EXPORT_SOURCE: names})  # the final path in data.yaml
    return ExportSummary(out_dir, dict(images), {s: dict(c) for s, c in boxes.items()},
                         {k: v for k, v in skipped.items() if v}, round(time.perf_counter() - started, 3))


def _write_data_yaml(folder: Path, path_in_file: Path, names: list[str], labelled: dict[str, list[str]]) -> None:
    spec = {"path": str(path_in_file.resolve()), "train": "images/train", "val": "images/val", "nc": len(names),
            "names": {i: n for i, n in enumerate(names)}, "labelled_classes": labelled}
    (folder / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _card_markdown(card: dict) -> str:
    lines = ["# Dataset card: supervisors' corrections", "", card["what"] + ".", "",
             f"Made {card['made_at']}. Split {card['split']}.", "",
             "| class | train boxes | val boxes |", "|---|---:|---:|"]
    for name in CANONICAL_CLASSES:
        train, val = card["boxes"]["train"].get(name, 0), card["boxes"]["val"].get(name, 0)
        if train or val:
            lines.append(f"| {name} | {train} | {val} |")
    lines += ["", f"Images: train {card['images'].get('train', 0)}, val {card['images'].get('val', 0)}; "
              f"confirmed verdicts (verdicts.jsonl): {card['confirmed_verdicts']}.", "",
              "| source (origin:camera) | train | val |", "|---|---:|---:|"]
    for source in sorted(set(card["sources"]["train"]) | set(card["sources"]["val"])):
        lines.append(f"| {source} | {card['sources']['train'].get(source, 0)} | {card['sources']['val'].get(source, 0)} |")
    if card["skipped"]:
        lines += ["", "Left out: " + "; ".join(f"{k}: {v}" for k, v in card["skipped"].items()) + "."]
    return "\n".join(lines) + "\n"


def combine(folders: list[Path], out_dir: Path) -> dict:
    """One training set (data.yaml + linked files) from several YOLO folders with the canonical
    classes; each folder's sources keep the classes they label completely."""
    _check_out_dir(out_dir)
    names = list(CANONICAL_CLASSES)
    labelled: dict[str, list[str]] = {}
    counts: Counter = Counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        for folder in folders:
            folder = folder.resolve()
            folder_names = dataset_class_names(folder)
            if folder_names is not None and folder_names[:len(names)] != names[:len(folder_names)]:
                raise DatasetError(f"its classes {folder_names} are not the canonical ones in order", str(folder))
            images = find_images(folder, None)
            if not images:
                raise DatasetError("no images under images/<split>/", str(folder))
            masks = labelled_classes_by_source(folder, len(names))
            fallback = folder.name.replace(SOURCE_SEPARATOR, "_")
            for image in images:
                split = image.parent.name if image.parent.name in ("train", "val") else "train"
                source = source_of(image) or fallback
                name = image.name if source_of(image) else f"{fallback}{SOURCE_SEPARATOR}{image.name}"
                if source not in labelled:
                    mask = masks.get(source_of(image)) if masks else None
                    labelled[source] = [n for n, keep in zip(names, mask) if keep] if mask is not None else names
                target = work / "images" / split / name
                if target.exists():
                    raise DatasetError(f"two folders hold {split}/{name}", str(folder))
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(image, target)
                label = work / "labels" / split / f"{Path(name).stem}.txt"
                label.parent.mkdir(parents=True, exist_ok=True)
                source_label = label_path(image)
                label.write_text(source_label.read_text(encoding="utf-8") if source_label.is_file() else "", encoding="utf-8")
                counts[f"{source}/{split}"] += 1
        for split in ("train", "val"):
            (work / "images" / split).mkdir(parents=True, exist_ok=True)
            (work / "labels" / split).mkdir(parents=True, exist_ok=True)
        summary = {"folders": [str(f) for f in folders], "images": dict(sorted(counts.items())),
                   "labelled_classes": labelled}
        (work / "combined.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        _publish(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _write_data_yaml(out_dir, out_dir, names, labelled)
    return summary


def seconds_per_thousand(summary: ExportSummary) -> float:
    total = sum(summary.images.values())
    return math.inf if not total else summary.seconds / total * 1000
