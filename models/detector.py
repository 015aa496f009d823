"""Detectors: image -> Detections. Two backends behind one interface, sharing pre/post-processing
(`models/inference.py`) so that they differ only in the engine: PyTorch (through ultralytics'
model) and ONNX Runtime. Weights load once per process (at construction), never per image, and
only from a registry card or a path the user gave.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

# Ultralytics checks hubs, fonts and versions online unless told not to; this product runs offline.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")

from inspector.classes import CANONICAL_CLASSES  # noqa: E402
from inspector.errors import ModelError  # noqa: E402
from inspector.records import Detection, ModelRef  # noqa: E402
from models.inference import letterbox, postprocess  # noqa: E402


class Detector(Protocol):
    ref: ModelRef

    def detect(self, image_bgr: np.ndarray) -> tuple[Detection, ...]: ...


def map_class_names(names: dict[int, str], class_map: dict[str, str], extra_ids: set[str], source: str) -> dict[int, str]:
    """Model class index -> canonical id; a class that maps to no known id is a ModelError."""
    known = set(CANONICAL_CLASSES) | extra_ids
    mapped: dict[int, str] = {}
    unknown = []
    for index, name in names.items():
        canonical = class_map.get(name, name)
        if canonical not in known:
            unknown.append(name)
        mapped[int(index)] = canonical
    if unknown:
        raise ModelError(
            f"model classes {unknown} map to no item id; add them to the card's class_map "
            f"(known ids: {', '.join(sorted(known))})",
            source,
        )
    return mapped


class _Backend:
    """Common part: letterbox, engine call (`_forward`), decode, map class indices to ids."""

    ref: ModelRef
    imgsz: int | tuple[int, int]  # network input: one side (square) or (height, width)
    confidence: float  # the threshold of every class not in class_confidence
    class_confidence: dict[str, float]  # item id -> its own threshold
    class_ids: dict[int, str]

    def _set_thresholds(self, confidence: float, class_confidence: dict[str, float] | None, source: str) -> None:
        self.confidence, self.class_confidence = confidence, dict(class_confidence or {})
        unknown = sorted(set(self.class_confidence) - set(self.class_ids.values()))
        if unknown:
            raise ModelError(f"class_confidence names {unknown}, which are not this model's classes", source)
        # indexed by the network's class index, so post-processing compares in one vector step
        self._thresholds = np.array([self.class_confidence.get(self.class_ids[i], confidence)
                                     for i in range(max(self.class_ids) + 1)])

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def detect(self, image_bgr: np.ndarray) -> tuple[Detection, ...]:
        blob, placement = letterbox(image_bgr, self.imgsz)
        output = self._forward(blob)
        boxes, scores, classes = postprocess(output, placement, (image_bgr.shape[1], image_bgr.shape[0]), self._thresholds)
        return tuple(
            Detection(self.class_ids[int(c)], float(s), tuple(float(v) for v in box))
            for box, s, c in zip(boxes, scores, classes)
        )


class TorchDetector(_Backend):
    """A YOLO checkpoint run with PyTorch on the CPU."""

    def __init__(self, weights: str | Path, ref: ModelRef, imgsz: int | tuple[int, int] = 640, confidence: float = 0.25,
                 class_map: dict[str, str] | None = None, extra_ids: set[str] | None = None,
                 class_confidence: dict[str, float] | None = None):
        path = Path(weights)
        if not path.is_file():
            raise ModelError("model file not found", str(path))
        try:
            import torch
            from ultralytics import YOLO

            model = YOLO(str(path), task="detect")
            names = dict(model.names)
            self._network = model.model.float().eval()
            self._torch = torch
        except Exception as error:  # torch/pickle/zip errors all mean: not a usable model file
            raise ModelError(f"not a usable YOLO model file ({type(error).__name__}: {error})", str(path)) from None
        self.class_ids = map_class_names(names, class_map or {}, extra_ids or set(), str(path))
        self.ref, self.imgsz = ref, imgsz
        self._set_thresholds(confidence, class_confidence, str(path))

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            output = self._network(self._torch.from_numpy(blob))
        output = output[0] if isinstance(output, (list, tuple)) else output
        return output.numpy()


class OnnxDetector(_Backend):
    """The same network exported to ONNX, run with ONNX Runtime."""

    def __init__(self, weights: str | Path, ref: ModelRef, imgsz: int | tuple[int, int], confidence: float, classes: list[str],
                 class_map: dict[str, str] | None = None, extra_ids: set[str] | None = None, threads: int | None = None,
                 class_confidence: dict[str, float] | None = None):
        path = Path(weights)
        if not path.is_file():
            raise ModelError("model file not found", str(path))
        try:
            import onnxruntime as ort

            options = ort.SessionOptions()
            if threads:
                options.intra_op_num_threads = threads
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self._input = self._session.get_inputs()[0].name
        except Exception as error:
            raise ModelError(f"not a usable ONNX model ({type(error).__name__}: {error})", str(path)) from None
        self.class_ids = map_class_names(dict(enumerate(classes)), class_map or {}, extra_ids or set(), str(path))
        self.ref, self.imgsz = ref, imgsz
        self._set_thresholds(confidence, class_confidence, str(path))

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: blob})[0]

