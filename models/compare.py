"""Comparing a candidate model with the current one, and the gate a promotion must pass.

`compare_models` runs both models over the same held-out labelled folder(s), each through the
product's own detector path (models/evaluation.py: the card's backend, input size and thresholds):
mAP50 and per-class recall at each card's own thresholds; and, where a folder has `verdicts.jsonl`
(a corrections export, models/corrections_dataset.py), each supervisor-confirmed verdict against
the one `inspect` gives with that model and the stored camera and standard files: the share of
identical verdicts and Cohen's kappa (agreement beyond what the verdicts' frequencies give by
chance). The result is plain data, saved as JSON, naming both models by fingerprint.

`judge` turns a comparison into checks, one per figure and folder: passed when the candidate is
no worse than the current model beyond the tolerance, None when the figure was not measured (no
confirmed verdicts; a class with too few labelled items to tell). `promote` (models/versions.py)
refuses on any failed check.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from inspector.errors import InspectorError, ModelError
from models.evaluation import find_images, label_path

COMPARISON_KIND = "desk-inspector model comparison"
VERDICTS_FILE = "verdicts.jsonl"
VERDICTS = ("pass", "fail", "check")


class Tolerances(BaseModel):
    """How much worse than the current model a candidate may be on each figure, in absolute units
    (0.01 on mAP50 is one point)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    map50_drop: float = Field(0.01, ge=0.0, le=1.0, description="mAP50, per folder")
    recall_drop: float = Field(0.05, ge=0.0, le=1.0, description="each class's recall at its card's threshold")
    agreement_drop: float = Field(0.02, ge=0.0, le=1.0, description="share of verdicts identical to the confirmed ones")
    kappa_drop: float = Field(0.05, ge=0.0, le=2.0, description="Cohen's kappa against the confirmed verdicts")
    min_instances: int = Field(10, ge=1, description="a class's recall is judged only with this many labelled items: "
                                                     "on 3 items one miss is a 0.33 drop")


DEFAULT_TOLERANCES = Tolerances()


# -- agreement ----------------------------------------------------------------------------------
def cohen_kappa(first: list[str], second: list[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items: (p_o - p_e) / (1 - p_e), p_e from each
    rater's own label frequencies. None when undefined: no items, or both always give one label."""
    if len(first) != len(second):
        raise ValueError("give both raters' labels for the same items")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second)) / n
    labels = set(first) | set(second)
    expected = sum((first.count(label) / n) * (second.count(label) / n) for label in labels)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


# -- measuring ----------------------------------------------------------------------------------
def _identity(card_path: Path) -> dict:
    from models.versions import identify

    return identify(card_path).model_dump()


def _held_out_images(folder: Path, split: str | None) -> list[Path]:
    """The folder's images of the split; never another split's (an export's empty val folder must
    not fall back to its training images)."""
    from inspector.frames import IMAGE_SUFFIXES

    if not folder.is_dir():
        raise ModelError("not a folder", str(folder))
    images_dir = folder / "images"
    if split and (images_dir / split).is_dir():
        images = sorted(p for p in (images_dir / split).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise ModelError(f"no images in images/{split} (the held-out split); give another --split", str(folder))
        return images
    if split and images_dir.is_dir() and any(p.is_dir() for p in images_dir.iterdir()):
        splits = ", ".join(sorted(p.name for p in images_dir.iterdir() if p.is_dir()))
        raise ModelError(f"no images/{split} folder (it has {splits}): give --split", str(folder))
    return find_images(folder, None)


def _read_verdicts(folder: Path, split: str | None) -> list[dict]:
    path = folder / VERDICTS_FILE
    if not path.is_file():
        return []
    lines = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelError(f"line {number}: not JSON ({error.msg})", str(path)) from None
        missing = [key for key in ("image", "camera_file", "standard_file", "verdict") if key not in line]
        if missing or line["verdict"] not in VERDICTS:
            raise ModelError(f"line {number}: needs image, camera_file, standard_file and a verdict of "
                             f"{', '.join(VERDICTS)}", str(path))
        if split and line.get("split") not in (None, split):
            continue  # the held-out split only, as for the boxes
        lines.append(line)
    return lines


def _check_folder(folder: Path, split: str | None) -> tuple[list[Path], list[dict]]:
    images = _held_out_images(folder, split)
    verdicts = _read_verdicts(folder, split)
    if not any(label_path(image).is_file() for image in images) and not verdicts:
        raise ModelError("not a labelled YOLO folder: none of its images has a labels/…/<name>.txt beside it "
                         f"(class cx cy w h lines), and it has no {VERDICTS_FILE}", str(folder))
    return images, verdicts


def _box_figures(card_path: Path, folder: Path, split: str | None, work: Path) -> dict:
    """mAP50 and per-class recall at the card's thresholds (models.evaluation, the product's path)."""
    from models.evaluation import evaluate

    metrics = evaluate(str(card_path), folder, split, out_dir=work)
    recall = {name: row["recall"] for name, row in metrics["per_class"].items() if row["instances"]}
    instances = {name: row["instances"] for name, row in metrics["per_class"].items() if row["instances"]}
    return {"images": metrics["images"], "mAP50": metrics["mAP50"], "mAP50-95": metrics["mAP50-95"],
            "classes_judged": metrics["classes_judged"], "recall": recall, "instances": instances,
            "confidence": metrics["confidence"], "class_confidence": metrics.get("class_confidence", {})}


def _verdict_figures(card_path: Path, folder: Path, lines: list[dict]) -> dict:
    """Re-inspect each confirmed image with the model and the stored camera and standard files."""
    from calibration.camera import load_camera
    from inspector.frames import load_frame
    from inspector.pipeline import inspect
    from models.registry import load_detector
    from rules.standard import load_standard

    cameras, standards = {}, {}
    for line in lines:
        if line["camera_file"] not in cameras:
            cameras[line["camera_file"]] = load_camera(folder / line["camera_file"])
        if line["standard_file"] not in standards:
            standards[line["standard_file"]] = load_standard(folder / line["standard_file"])
    extra_ids = set().union(*(s.permitted_classes for s in standards.values()))
    detector = load_detector(str(card_path), extra_ids=extra_ids)
    confirmed, given, disagreements = [], [], []
    for line in lines:
        camera = cameras[line["camera_file"]]
        frame = load_frame(folder / line["image"], camera.camera_id)
        verdict = inspect(frame, camera, standards[line["standard_file"]], detector=detector).verdict
        confirmed.append(line["verdict"])
        given.append(verdict)
        if verdict != line["verdict"]:
            disagreements.append({"image": line["image"], "confirmed": line["verdict"], "model": verdict})
    kappa = cohen_kappa(confirmed, given)
    return {"images": len(lines),
            "agreement": round(sum(a == b for a, b in zip(confirmed, given)) / len(lines), 4),
            "kappa": None if kappa is None else round(kappa, 4),
            "table": {f"{a}->{b}": sum(1 for x, y in zip(confirmed, given) if (x, y) == (a, b))
                      for a in VERDICTS for b in VERDICTS},
            "disagreements": disagreements}


def compare_models(candidate: str, current: str, folders: list[Path] | dict[str, Path], split: str | None = "val",
                   registry: Path | None = None, progress=None) -> dict:
    """Both models' figures on the same held-out folders (see the module docstring). `folders`: paths,
    or {name: path}. Every folder is checked before any model runs: a bad one costs nothing."""
    from models.versions import find_card, verify_files

    started = time.perf_counter()
    named = dict(folders) if isinstance(folders, dict) else {}
    if not isinstance(folders, dict):
        for folder in folders:
            name = Path(folder).resolve().name or str(folder)
            named[name if name not in named else str(folder)] = Path(folder)
    if not named:
        raise ModelError("give at least one held-out labelled folder", "compare")
    cards = {"candidate": find_card(candidate, registry), "current": find_card(current, registry)}
    identities = {side: _identity(card) for side, card in cards.items()}
    if identities["candidate"]["fingerprint"] == identities["current"]["fingerprint"]:
        raise ModelError("the candidate and the current model are the same model", candidate)
    checked = {name: _check_folder(Path(folder), split) for name, folder in named.items()}
    for card in cards.values():  # missing or altered weights: said now, not after minutes of the other model
        verify_files(card)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="desk-compare-") as work:
        for name, folder in named.items():
            images, verdict_lines = checked[name]
            entry: dict[str, Any] = {"path": str(Path(folder).resolve()), "images": len(images),
                                     "confirmed_verdicts": len(verdict_lines)}
            for side, card in cards.items():
                if progress:
                    progress(f"{side} {identities[side]['name']} on {name}")
                figures = _box_figures(card, Path(folder), split, Path(work) / name / side)
                figures["verdicts"] = _verdict_figures(card, Path(folder), verdict_lines) if verdict_lines else None
                entry[side] = figures
            results[name] = entry
    return {"kind": COMPARISON_KIND, "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "split": split, "candidate": identities["candidate"], "current": identities["current"],
            "folders": results, "seconds": round(time.perf_counter() - started, 1)}


def save_comparison(comparison: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(comparison, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def load_comparison(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError("comparison file not found", str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"unreadable comparison file: {error}", str(path)) from None
    if not isinstance(data, dict) or data.get("kind") != COMPARISON_KIND or not isinstance(data.get("folders"), dict):
        raise ModelError("not a comparison file (desk-inspector models compare --out FILE writes one)", str(path))
    return data


def check_models(comparison: dict, candidate, current) -> None:
    """ModelError unless the comparison was made for exactly these two models (by fingerprint: the
    weights' sha256, thresholds and sizes; a card edited since, or another current model, needs a
    new comparison)."""
    for side, model in (("candidate", candidate), ("current", current)):
        measured = comparison.get(side) or {}
        if measured.get("fingerprint") != model.fingerprint:
            what = f"{measured.get('name')} v{measured.get('version')}" if measured else "no model"
            raise ModelError(f"the comparison's {side} is {what} (fingerprint {str(measured.get('fingerprint'))[:12]}…), "
                             f"not {model.label()} ({model.fingerprint[:12]}…) as it is now: compare again",
                             "comparison")


# -- the gate -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One figure on one folder: the candidate against the current model."""

    folder: str
    figure: str  # "mAP50", "recall cup", "verdict agreement", "verdict kappa"
    candidate: float | None
    current: float | None
    tolerance: float  # the largest drop allowed
    passed: bool | None  # None: not measured
    note: str = ""

    @property
    def change(self) -> float | None:
        if self.candidate is None or self.current is None:
            return None
        return round(self.candidate - self.current, 4)

    def describe(self) -> str:
        def cell(value):
            return "-" if value is None else f"{value:.3f}"
        if self.passed is None:
            return f"{self.folder}: {self.figure} not judged ({self.note})"
        word = "ok" if self.passed else "WORSE"
        return (f"{self.folder}: {self.figure} {cell(self.candidate)} vs {cell(self.current)} "
                f"(change {self.change:+.3f}, allowed -{self.tolerance:.3f}): {word}")

    def as_dict(self) -> dict:
        return {**asdict(self), "change": self.change}


def _drop_check(folder: str, figure: str, candidate, current, tolerance: float, unmeasured: str) -> Check:
    if candidate is None or current is None:
        return Check(folder, figure, candidate, current, tolerance, None, unmeasured)
    # a drop of exactly the tolerance passes; the 1e-9 keeps 0.30 - 0.25 == 0.05 from failing on rounding
    return Check(folder, figure, candidate, current, tolerance, candidate >= current - tolerance - 1e-9)


def judge(comparison: dict, tolerances: Tolerances = DEFAULT_TOLERANCES) -> list[Check]:
    """The gate's checks, folder by folder (each folder must pass on its own)."""
    checks = []
    for name, folder in comparison.get("folders", {}).items():
        new, old = folder.get("candidate") or {}, folder.get("current") or {}
        checks.append(_drop_check(name, "mAP50", new.get("mAP50"), old.get("mAP50"), tolerances.map50_drop,
                                  "no labelled items"))
        instances = {**old.get("instances", {}), **new.get("instances", {})}
        for item in sorted(set(new.get("recall", {})) | set(old.get("recall", {}))):
            count = instances.get(item, 0)
            if count < tolerances.min_instances:
                checks.append(Check(name, f"recall {item}", new.get("recall", {}).get(item),
                                    old.get("recall", {}).get(item), tolerances.recall_drop, None,
                                    f"{count} labelled, fewer than {tolerances.min_instances}"))
                continue
            checks.append(_drop_check(name, f"recall {item}", new.get("recall", {}).get(item),
                                      old.get("recall", {}).get(item), tolerances.recall_drop, "not measured"))
        new_v, old_v = new.get("verdicts") or {}, old.get("verdicts") or {}
        none = "no supervisor-confirmed verdicts in the folder"
        checks.append(_drop_check(name, "verdict agreement", new_v.get("agreement"), old_v.get("agreement"),
                                  tolerances.agreement_drop, none))
        checks.append(_drop_check(name, "verdict kappa", new_v.get("kappa"), old_v.get("kappa"), tolerances.kappa_drop,
                                  none if not new_v else "kappa undefined: every verdict the same"))
    return checks


def gate_passed(checks: list[Check]) -> bool:
    """No figure worse beyond its tolerance, and at least one measured."""
    return not any(check.passed is False for check in checks) and any(check.passed for check in checks)


def parse_tolerances(pairs: list[str], base: Tolerances = DEFAULT_TOLERANCES) -> Tolerances:
    """`map50_drop=0.02`-style overrides (the CLI's --tolerance)."""
    from pydantic import ValidationError

    values = base.model_dump()
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in values:
            raise InspectorError(f"--tolerance takes NAME=VALUE with NAME one of {', '.join(values)}; got {pair!r}")
        values[key] = value.strip()
    try:
        return Tolerances.model_validate(values)
    except ValidationError as error:
        raise InspectorError(f"bad --tolerance: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}") from None
