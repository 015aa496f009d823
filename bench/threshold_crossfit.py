"""How optimistic are recall and precision at thresholds tuned on the very split they are reported on?

    python bench/threshold_crossfit.py ../shared/data/real-desk [--model MODEL] [--split val] [--min-recall R]

The split is cut in two halves by source photo (Roboflow's copies of one photo, `<stem>_jpg.rf.<hash>`,
stay together); each half's thresholds are tuned (`tune-confidence --keep-others`, the way the card's
were) on one half and judged on the other, and the two judged halves are pooled. Compare with
`evaluate` on the whole split at the card's own thresholds: the difference is what tuning on the
reported split buys. Nothing in the card changes (the tuning runs on temporary copies).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.evaluation import (dataset_class_names, evaluate, find_images, label_path,  # noqa: E402
                               labelled_classes_by_source, tune_confidence)
from models.registry import DEFAULT_MODEL, read_card, resolve_card  # noqa: E402

ROBOFLOW_COPY = re.compile(r"_(jpg|jpeg|png)\.rf\.[0-9a-f]+$")


def photo_key(image: Path) -> str:
    return ROBOFLOW_COPY.sub("", image.stem)


def write_half(folder: Path, split: str, images: list[Path], target: Path) -> Path:
    names = dataset_class_names(folder)
    masks = labelled_classes_by_source(folder, len(names)) or {}
    for kind in ("images", "labels"):
        (target / kind / split).mkdir(parents=True)
    for image in images:
        (target / "images" / split / image.name).symlink_to(image.resolve())
        shutil.copy(label_path(image), target / "labels" / split / label_path(image).name)
    # the whole split's partial labels, not what one half happens to hold
    spec = {"names": dict(enumerate(names)),
            "labelled_classes": {s: [n for n, on in zip(names, mask) if on] for s, mask in masks.items()}}
    (target / "data.yaml").write_text(yaml.safe_dump(spec))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--split", default="val")
    parser.add_argument("--min-recall", type=float, default=None)
    args = parser.parse_args()

    images = find_images(args.folder, args.split)
    halves = ([], [])
    for image in images:
        halves[int(hashlib.md5(photo_key(image).encode()).hexdigest(), 16) % 2].append(image)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        folders = [write_half(args.folder, args.split, half, root / f"half{i}") for i, half in enumerate(halves)]
        pooled: dict[str, list[int]] = {}
        for tuned, judged in ((0, 1), (1, 0)):
            registry = root / f"registry{tuned}"
            shutil.copytree(resolve_card(args.model).parent, registry / "model")
            card = registry / "model" / "card.yaml"
            tune_confidence(str(card), folders[tuned], args.split, record=True, keep_others=True,
                            min_recall=args.min_recall)
            thresholds = read_card(card).class_confidence
            metrics = evaluate(str(card), folders[judged], args.split, out_dir=root / f"eval{judged}")
            print(f"tuned on half {tuned} ({len(halves[tuned])} images), judged on half {judged} "
                  f"({len(halves[judged])} images): mAP50 {metrics['mAP50']}")
            for name, row in metrics["per_class"].items():
                if not row["instances"]:
                    continue
                found = round(row["recall"] * row["instances"])
                predicted = round(found / row["precision"]) if row["precision"] else 0
                totals = pooled.setdefault(name, [0, 0, 0])
                totals[0] += found; totals[1] += row["instances"]; totals[2] += predicted
                print(f"  {name:14} threshold {thresholds.get(name, read_card(card).confidence):.3f}  "
                      f"P {row['precision']}  R {row['recall']}  (n={row['instances']})")
        print("pooled over both judged halves:")
        for name, (found, instances, predicted) in pooled.items():
            precision = found / predicted if predicted else float("nan")
            print(f"  {name:14} recall {found / instances:.3f} ({found}/{instances})  precision {precision:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
