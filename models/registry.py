"""The model registry: each model is a weights file plus a card (classes, image size, version, sha256).

Bundled models live in `models/registry/<name>/card.yaml`; `--model` also takes a card path or a
weights file with a card beside it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inspector.errors import ModelError
from inspector.records import ModelRef
from inspector.uncertainty import BoxError

REGISTRY_DIR = Path(__file__).resolve().parent / "registry"
CARD_NAME = "card.yaml"
DEFAULT_MODEL = "desk-yolov8n-coco"
REGISTRY_ENV = "DESK_INSPECTOR_REGISTRY"  # a site's own (writable) registry, searched first
# the backend "auto" stands for, when set: how `batch --backend` and `serve --backend` reach their
# worker processes, and how a site picks one for every command without touching the card
BACKEND_ENV = "DESK_INSPECTOR_BACKEND"
BUILT_IN_BACKENDS = ("torch", "onnx")  # the card's `weights` and `onnx` files; more under its `backends`


class SideErrorStats(BaseModel):
    """How far one class's predicted box sides fall from the labelled ones (models/box_error.py), as
    shares of the true box: x for the left/right sides (of its width), y for top/bottom (height)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(description="matched boxes")
    rel_x: float = Field(description="robust sigma, bias folded in: hypot(median, half the 16-84 % range)")
    rel_y: float
    bias_x: float = Field(description="median signed error (pred - true) / size")
    bias_y: float
    p95: float = Field(description="95th percentile of |error| / size over all four sides")


class SetBoxError(BaseModel):
    """Box side errors measured on one labelled set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str
    split: str | None
    images: int
    floor_px: float | None = Field(description="robust sigma of side errors on small boxes, px; None: too few")
    small_sides: int = Field(description="side errors the floor comes from")
    pooled: SideErrorStats | None = Field(description="all classes together")
    per_class: dict[str, SideErrorStats] = Field(default_factory=dict)


class CombinedBoxError(BaseModel):
    """What the pipeline uses (inspector.uncertainty.BoxError): per class the larger sigma of the
    sets with enough matches, else the pooled one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    floor_px: float
    default_rel: tuple[float, float]
    rel: dict[str, tuple[float, float]] = Field(default_factory=dict)
    source: str = ""

    def as_box_error(self) -> BoxError:
        return BoxError(self.floor_px, tuple(self.default_rel), dict(self.rel), self.source)


class CardBoxError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    measured_at: str
    iou_threshold: float
    sets: dict[str, SetBoxError]
    combined: CombinedBoxError


class BackendWeights(BaseModel):
    """One more way to run the card's network: a weights file derived from its ONNX export (an
    INT8 quantisation, an OpenVINO model) and the engine that runs it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(description="weights file, relative to the card")
    sha256: str
    engine: Literal["onnxruntime", "openvino"]
    precision: str = Field(default="fp32", description="fp32, int8 (weights and activations), ... as made")
    source_sha256: str | None = Field(
        default=None, description="sha256 of the card's ONNX file it was made from: after a new export it is "
                                  "stale and refuses to load")
    made_with: str = Field(default="", description="the command that made it")
    notes: str = ""

    @property
    def engine_installed(self) -> bool:
        return importlib.util.find_spec(self.engine) is not None


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    weights: str = Field(description="PyTorch (ultralytics) weights file, relative to the card")
    sha256: str
    onnx: str | None = Field(default=None, description="the same network exported to ONNX, relative to the card")
    onnx_sha256: str | None = None
    default_backend: str = Field(default="onnx", description="used when the caller asks for 'auto': torch, onnx (torch "
                                                             "when the card names no ONNX file) or a key of backends")
    backends: dict[str, BackendWeights] = Field(
        default_factory=dict, description="more backends by name (e.g. onnx-int8, openvino): their file, sha256 "
                                          "and engine (python -m models.quantize)")
    imgsz: int = 640
    input_hw: tuple[int, int] | None = Field(
        default=None, description="network input (height, width) px when not imgsz x imgsz: a model trained on "
                                  "16:9 frames' own aspect (train --rect) at imgsz 640 takes 384 x 640")
    frame_aspect: bool = Field(
        default=False, description="letterbox each frame to its own aspect, long side imgsz rounded up to 32 (a "
                                   "16:9 frame at 800 is 800 x 480, a square one 800 x 800), instead of one fixed "
                                   "input; models trained on square mosaics run this way")
    confidence: float = 0.25
    class_confidence: dict[str, float] = Field(
        default_factory=dict, description="item id -> a threshold replacing `confidence` for that class "
                                          "(tune-confidence --per-class; a class absent here uses `confidence`)")
    classes: list[str]
    class_map: dict[str, str] = Field(default_factory=dict)
    drop_unmapped: bool = Field(
        default=False, description="model classes that class_map does not name are dropped, not an error (a COCO "
                                   "network knows 80 classes, most of them no desk item); several classes mapped "
                                   "to one id count as that id (the best of their scores)")
    synthetic_only: bool = True
    training: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    box_error: CardBoxError | None = Field(
        default=None, description="how far its box sides fall from labelled ones, per set and combined "
                                  "(desk-inspector box-error --record); None: not measured")
    notes: str = ""

    @model_validator(mode="after")
    def _backend_names(self) -> "ModelCard":
        shadowing = sorted(set(self.backends) & {"auto", *BUILT_IN_BACKENDS})
        if shadowing:
            raise ValueError(f"backends may not be named {shadowing}: those names are built in")
        if self.default_backend not in (*BUILT_IN_BACKENDS, *self.backends):
            raise ValueError(f"default_backend {self.default_backend!r} is none of this card's backends "
                             f"({', '.join(self.backend_names)})")
        return self

    @property
    def backend_names(self) -> list[str]:
        return [*BUILT_IN_BACKENDS, *self.backends]

    @property
    def network_input(self) -> tuple[int, int]:
        """The network's input (height, width) px (for a frame-aspect model, a square frame's)."""
        return tuple(self.input_hw) if self.input_hw else (self.imgsz, self.imgsz)

    @property
    def detector_input(self) -> int | tuple[int, int]:
        """What a detector letterboxes to: a fixed (height, width), or, frame by frame, one long side."""
        return self.imgsz if self.frame_aspect else self.network_input

    @property
    def item_ids(self) -> list[str]:
        """The item ids the detector reports, in order: one per model class, or, for a model with
        drop_unmapped, one per distinct mapped id in the order of its first class."""
        if not self.drop_unmapped:
            return [self.class_map.get(name, name) for name in self.classes]
        return list(dict.fromkeys(self.class_map[name] for name in self.classes if name in self.class_map))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(card_path: Path) -> ModelCard:
    try:
        data = yaml.safe_load(card_path.read_text(encoding="utf-8"))
        return ModelCard.model_validate(data)
    except FileNotFoundError:
        raise ModelError("model card not found", str(card_path)) from None
    except (yaml.YAMLError, ValidationError, OSError) as error:
        raise ModelError(f"invalid model card: {error}", str(card_path)) from None


def write_card(card: ModelCard, card_path: Path) -> Path:
    card_path.parent.mkdir(parents=True, exist_ok=True)
    data = card.model_dump()
    if data["box_error"] is None:  # cards never measured keep the shape they had
        del data["box_error"]
    if not data["backends"]:
        del data["backends"]
    card_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return card_path


def list_cards(registry: Path = REGISTRY_DIR) -> list[tuple[Path, ModelCard]]:
    if not registry.is_dir():
        return []
    return [(p, read_card(p)) for p in sorted(registry.glob(f"*/{CARD_NAME}"))]


def search_path(registry: Path = REGISTRY_DIR) -> list[Path]:
    """The registry folders a model name is looked up in: the one given; for the bundled one, a site's
    own registry ($DESK_INSPECTOR_REGISTRY: trained candidates, promoted.yaml) before it."""
    site = os.environ.get(REGISTRY_ENV, "").strip()
    if site and Path(registry) == REGISTRY_DIR and Path(site).expanduser().resolve() != REGISTRY_DIR:
        return [Path(site).expanduser(), REGISTRY_DIR]
    return [Path(registry)]


def resolve_card(name_or_path: str, registry: Path = REGISTRY_DIR) -> Path:
    """A registry name, a card path, or a weights file with card.yaml beside it."""
    path = Path(name_or_path)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        return path
    if path.is_file():
        card = path.parent / CARD_NAME
        if card.is_file():
            return card
        raise ModelError(f"no {CARD_NAME} beside the weights; every model needs its card", str(path))
    if path.is_dir() and (path / CARD_NAME).is_file():
        return path / CARD_NAME
    for folder in search_path(registry):
        candidate = folder / name_or_path / CARD_NAME
        if candidate.is_file():
            return candidate
    known = ", ".join(dict.fromkeys(card.name for folder in search_path(registry) for _, card in list_cards(folder))) or "none"
    raise ModelError(
        f"no such model (registry models: {known}); give --model PATH, or --detections FILE to skip the detector",
        name_or_path,
    )


def _verified(card_path: Path, file_name: str, expected_sha256: str | None, what: str = "weights") -> Path:
    path = (card_path.parent / file_name).resolve()
    if not path.is_file():
        raise ModelError(f"{what} file named by the card is missing", str(path))
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ModelError(f"{what} sha256 {actual[:12]}… does not match the card's {str(expected_sha256)[:12]}… (corrupt or replaced)", str(path))
    return path


def load_detector(name_or_path: str, registry: Path = REGISTRY_DIR, extra_ids: set[str] | None = None,
                  confidence: float | None = None, backend: str = "auto", threads: int | None = None):
    """Load a detector by registry name or path, after checking the weights' sha256 against the card.

    backend: "torch", "onnx", a name from the card's `backends` (e.g. "onnx-int8"), or "auto" (the
    backend $DESK_INSPECTOR_BACKEND names, else the card's default_backend; torch when that is onnx
    and the card names no ONNX file).
    threads: the engine's intra-op threads (default: every core); worker processes sharing the
    machine give their share, else each would start a thread per core and oversubscribe it."""
    card_path = resolve_card(name_or_path, registry)
    card = read_card(card_path)
    from_env = backend == "auto" and bool(os.environ.get(BACKEND_ENV, "").strip())
    if from_env:
        backend = os.environ[BACKEND_ENV].strip()
    if backend == "auto":
        backend = card.default_backend if (card.default_backend != "onnx" or card.onnx) else "torch"
    if backend not in card.backend_names:
        named = f" (from ${BACKEND_ENV})" if from_env else ""
        raise ModelError(f"unknown backend {backend!r}{named} for {card.name} (auto, {', '.join(card.backend_names)})",
                         str(card_path))
    ref = ModelRef(name=card.name, version=card.version, sha256=card.sha256)
    # a confidence the caller gives is one threshold for every class; else the card's, per class
    threshold = confidence if confidence is not None else card.confidence
    per_class = {} if confidence is not None else card.class_confidence
    box_error = card.box_error.combined.as_box_error() if card.box_error else None
    from models.detector import OnnxDetector, OpenVinoDetector, TorchDetector

    common = dict(class_map=card.class_map, extra_ids=extra_ids, threads=threads, class_confidence=per_class,
                  drop_unmapped=card.drop_unmapped, box_error=box_error)
    if backend in card.backends:
        spec = card.backends[backend]
        if spec.source_sha256 and spec.source_sha256 != card.onnx_sha256:
            raise ModelError(f"backend {backend!r} ({spec.file}) was made from another ONNX export than the card's "
                             f"{card.onnx}; make it again (python -m models.quantize)", str(card_path))
        path = _verified(card_path, spec.file, spec.sha256, what=f"{backend} weights")
        if spec.engine == "openvino":
            return OpenVinoDetector(path, ref, card.detector_input, threshold, card.classes, precision=spec.precision,
                                    **common)
        return OnnxDetector(path, ref, card.detector_input, threshold, card.classes, **common)
    if backend == "onnx":
        if not card.onnx:
            raise ModelError("the card names no ONNX file; run `desk-inspector export` first", str(card_path))
        path = _verified(card_path, card.onnx, card.onnx_sha256)
        return OnnxDetector(path, ref, card.detector_input, threshold, card.classes, **common)
    path = _verified(card_path, card.weights, card.sha256)
    return TorchDetector(path, ref, card.detector_input, threshold, card.class_map, extra_ids, class_confidence=per_class,
                         drop_unmapped=card.drop_unmapped, box_error=box_error)
