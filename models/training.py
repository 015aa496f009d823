"""Model work: train (from a model yaml or by fine-tuning a registry model), evaluate on any
YOLO-format labelled folder, export to ONNX. Thin wrappers over ultralytics that keep everything
offline and write each trained model into the registry with its card.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import yaml  # noqa: E402

from inspector.errors import ModelError  # noqa: E402
from models.evaluation import find_images  # noqa: E402
from models.inference import scaled_input_hw  # noqa: E402
from models.registry import REGISTRY_DIR, ModelCard, read_card, resolve_card, sha256_of, write_card  # noqa: E402
from models.versions import check_new_model_name  # noqa: E402
from models.train_extra import require_training_extra  # noqa: E402



def _offline_ultralytics():
    """Import ultralytics with its online features off (hub sync, update checks)."""
    require_training_extra("training")
    from ultralytics import YOLO
    from ultralytics.utils import SETTINGS

    SETTINGS.update({"sync": False})
    return YOLO


# -- train --------------------------------------------------------------------------------------
def train(
    data: Path,
    name: str,
    base: str = "yolov8n.yaml",
    imgsz: int = 320,
    epochs: int = 30,
    batch: int = 16,
    workers: int = 2,
    seed: int = 0,
    resume: bool = False,
    runs_dir: Path = Path("runs"),
    registry: Path = REGISTRY_DIR,
    version: str = "0.1.0",
    recipe: dict | None = None,
    device: str = "cpu",
    cache: str | bool = "ram",
    hours: float | None = None,
    rect: bool = False,
    threads: int | None = None,
    freeze: int = 0,
    lr0: float | None = None,
) -> Path:
    """Train or fine-tune; resumable from the run's last checkpoint. Returns the new card path.

    `threads`: PyTorch's CPU threads (default: every core). Ultralytics would set cores - 1,
    which on a 2-core machine is one: half the machine idle (7.2 s against 3.7 s per batch of 16
    at 640x384 in the bundled model's training logs).

    `base` "coco" (or the COCO bridge's registry name) starts from the COCO network with a head for
    the data's classes, each started from COCO's matching classes (models/coco_start.item_start).
    Data whose data.yaml has `labelled_classes` is trained with partial labels
    (models/partial_labels.py). `freeze`: keep the first N layers as they are (10: the backbone).

    `rect` trains on the images' own aspect (a 16:9 frame at imgsz 640 is 640x384, not 640x640
    with 40 % grey): 1.7x fewer pixels per image at the same scale, so small items can be learnt at
    a higher resolution for the same cost. Ultralytics then skips mosaic and keeps batches in order.
    """
    YOLO = _offline_ultralytics()
    from ultralytics.utils import torch_utils

    from models.partial_labels import PartialLabelTrainer

    # select_device() resets torch's thread count to this module constant for CPU training
    torch_utils.NUM_THREADS = threads or os.cpu_count() or 1
    check_new_model_name(name, registry)  # before hours of training, not after
    run_dir = runs_dir / name
    last = run_dir / "weights" / "last.pt"
    if resume:
        if not last.is_file():
            raise ModelError("nothing to resume: no last.pt in the run folder", str(run_dir))
        model = YOLO(str(last))
        model.train(resume=True, trainer=PartialLabelTrainer)
        base_card = None
    else:
        from_scratch = base.endswith((".yaml", ".yml")) and not Path(base).is_file()
        base_card = None if from_scratch else _base_card(base, registry)  # its thresholds are kept
        if from_scratch:
            model = YOLO(base)  # an architecture from the ultralytics package, random init
        else:
            model = YOLO(str(_start_weights(base, data, run_dir, registry)))
        model.train(data=str(data), imgsz=imgsz, epochs=epochs, batch=batch, workers=workers, seed=seed,
                    device=device, project=str(runs_dir.resolve()), name=name, exist_ok=True, plots=False,
                    amp=False, deterministic=True, verbose=True, val=True, patience=max(epochs, 50), cache=cache,
                    close_mosaic=max(2, epochs // 5), rect=rect, trainer=PartialLabelTrainer,
                    # a fine-tuned model is trained already: the default 3 warm-up epochs would spend a
                    # short CPU run's best part at a crawling learning rate
                    warmup_epochs=3.0 if from_scratch else 0.5,
                    **({"freeze": freeze} if freeze else {}), **({"lr0": lr0} if lr0 else {}),
                    # A time budget makes ultralytics refit the epoch count and LR schedule after epoch 1,
                    # so a CPU session can plan a run that ends before the session does.
                    **({"time": hours} if hours else {}))
    best = run_dir / "weights" / "best.pt"
    if not best.is_file():
        raise ModelError("training ended without a best.pt", str(run_dir))
    return register(best, name=name, version=version, data=data, imgsz=imgsz, thresholds_from=base_card,
                    input_hw=rect_input_hw(data, imgsz) if rect else None, recipe={
        **(recipe or {}), "base": base, "epochs": epochs, **({"freeze": freeze} if freeze else {}),
        **({"lr0": lr0} if lr0 else {}), **({"hours": hours} if hours else {}), "batch": batch, "seed": seed, "imgsz": imgsz,
        **({"rect": True} if rect else {}), "data": str(data), "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }, registry=registry)


COCO_ALIASES = ("coco",)


def _base_card(base: str, registry: Path) -> ModelCard | None:
    """The card of a registry model a fine-tune starts from (None for the COCO bridge or plain weights)."""
    if base in COCO_ALIASES:
        return None
    for folder in dict.fromkeys([registry, REGISTRY_DIR]):
        try:
            card = read_card(resolve_card(base, folder))
        except ModelError:
            continue
        return None if card.drop_unmapped else card
    return None


def _start_weights(base: str, data: Path, run_dir: Path, registry: Path) -> Path:
    """The weights a fine-tune starts from: a registry model's own, or, for the COCO bridge (a card
    with drop_unmapped), the COCO network with a head for the data's classes, written into the run."""
    from models.coco_start import BRIDGE_NAME, item_start, save_checkpoint

    base = BRIDGE_NAME if base in COCO_ALIASES else base
    try:
        card_path = resolve_card(base, registry)
    except ModelError:  # a registry of one's own still starts from the bundled models
        if registry == REGISTRY_DIR:
            raise
        card_path = resolve_card(base, REGISTRY_DIR)
    card = read_card(card_path)
    weights = card_path.parent / card.weights
    if not card.drop_unmapped:
        return weights
    from ultralytics.nn.tasks import load_checkpoint

    names = yaml.safe_load(Path(data).read_text(encoding="utf-8"))["names"]
    names = [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)
    network, _ = load_checkpoint(str(weights))
    start = item_start(network, card.classes, card.class_map, names)
    return save_checkpoint(start, run_dir / "coco-start.pt")


def rect_input_hw(data: Path, imgsz: int, stride: int = 32) -> tuple[int, int]:
    """The (height, width) input a model trained with rect=True at `imgsz` sees: the training
    images' aspect (their first image's), long side imgsz, rounded up to the network stride."""
    import cv2

    spec = yaml.safe_load(Path(data).read_text(encoding="utf-8"))
    train = spec["train"] if isinstance(spec["train"], str) else spec["train"][0]
    image = find_images(Path(spec.get("path") or Path(data).parent) / train, None)[0]  # an absolute train path stays
    return scaled_input_hw(cv2.imread(str(image)).shape[:2], imgsz, stride)


def register(weights: Path, name: str, version: str, data: Path, imgsz: int, recipe: dict,
             registry: Path = REGISTRY_DIR, input_hw: tuple[int, int] | None = None,
             thresholds_from: ModelCard | None = None) -> Path:
    """Copy the trained weights into the registry with a card. A model trained on square mosaics
    (no input_hw) runs each frame at its own aspect, long side imgsz: the scale it learnt at, and for
    a 16:9 frame 0.56 of the square's pixels. `thresholds_from`: the card of the model it was
    fine-tuned from, whose confidence thresholds it keeps (same classes only): a short fine-tune
    moves scores little, and a candidate judged at 0.25 everywhere against a tuned current model
    would be judged on its thresholds, not its weights."""
    YOLO = _offline_ultralytics()
    check_new_model_name(name, registry)
    target_dir = registry / name
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(weights, target_dir / "weights.pt")
    names = list(dict(YOLO(str(target_dir / "weights.pt")).names).values())
    thresholds = {}
    if thresholds_from is not None and list(thresholds_from.classes) == names:
        thresholds = {"confidence": thresholds_from.confidence, "class_confidence": dict(thresholds_from.class_confidence)}
        recipe = {**recipe, "thresholds": f"kept from {thresholds_from.name} v{thresholds_from.version} (desk-inspector "
                                          "tune-confidence on a validation split chooses its own)"}
    card = ModelCard(name=name, version=version, weights="weights.pt", sha256=sha256_of(target_dir / "weights.pt"),
                     imgsz=imgsz, input_hw=input_hw, frame_aspect=input_hw is None, classes=names,
                     default_backend="torch", training=recipe, **thresholds)
    return write_card(card, target_dir / "card.yaml")


# -- export -------------------------------------------------------------------------------------
def export_onnx(model: str, registry: Path = REGISTRY_DIR, opset: int = 17, imgsz: int | None = None) -> Path:
    """Export the card's PyTorch weights to ONNX next to them and record it in the card.

    `imgsz` changes the size the model runs at (both backends: the card's imgsz and input_hw, the
    aspect kept) before exporting: a detector trained at 640 finds more small items when the frame
    is given to it larger, for more time per frame. Choose it on a validation split; the card's
    metrics are cleared, as they were measured at the old size."""
    require_training_extra("ONNX export")
    import torch

    from ultralytics import YOLO

    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    if imgsz is not None and imgsz != card.imgsz:
        if imgsz < 32 or imgsz % 32:
            raise ModelError(f"imgsz must be a multiple of the network stride 32, got {imgsz}", str(card_path))
        input_hw = scaled_input_hw(card.input_hw, imgsz) if card.input_hw else None
        # the card's metrics were measured at the old size: they no longer describe it (re-run evaluate,
        # and tune-confidence: scores change with the size too)
        card = card.model_copy(update={"imgsz": imgsz, "input_hw": input_hw, "metrics": {}})
    network = YOLO(str(card_path.parent / card.weights)).model.float().eval()
    for module in network.modules():  # export-friendly head: one (1, 4 + nc, anchors) output
        if hasattr(module, "export"):
            module.export = True
        if hasattr(module, "format"):
            module.format = "onnx"
        if hasattr(module, "dynamic"):  # anchors from each input's own size, not the dummy's
            module.dynamic = card.frame_aspect
    target = card_path.parent / (Path(card.weights).stem + ".onnx")
    dummy = torch.zeros(1, 3, *card.network_input)
    # a frame-aspect model takes each frame's own (height, width): both dynamic in the graph
    dynamic = {"images": {2: "height", 3: "width"}, "output0": {2: "anchors"}} if card.frame_aspect else None
    torch.onnx.export(network, dummy, str(target), opset_version=opset, input_names=["images"],
                      output_names=["output0"], dynamo=False, dynamic_axes=dynamic)
    # ONNX Runtime is the faster CPU backend here (bench/detector_backends.py), so it becomes the default
    updated = card.model_copy(update={"onnx": target.name, "onnx_sha256": sha256_of(target), "default_backend": "onnx"})
    write_card(updated, card_path)
    return target
