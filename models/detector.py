"""Detectors: image -> Detections. Three engines behind one interface, sharing pre/post-processing
(`models/inference.py`) so that they differ only in the engine: PyTorch (through ultralytics'
model), ONNX Runtime (the FP32 export or its INT8 quantisation, `models/quantize.py`) and
OpenVINO. Weights load once per process (at construction), never per image, and only from a
registry card or a path the user gave.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

# Ultralytics checks hubs, fonts and versions online unless told not to; this product runs offline.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")

from inspector.classes import CANONICAL_CLASSES  # noqa: E402
from inspector.errors import ModelError  # noqa: E402
from inspector.records import Detection, ModelRef  # noqa: E402
from inspector.uncertainty import DEFAULT_BOX_ERROR, BoxError  # noqa: E402
from models.inference import postprocess, prepare  # noqa: E402


class Detector(Protocol):
    ref: ModelRef

    @property
    def box_error(self) -> BoxError: ...

    def detect(self, image_bgr: np.ndarray) -> tuple[Detection, ...]: ...


def map_class_names(names: dict[int, str], class_map: dict[str, str], extra_ids: set[str], source: str,
                    drop_unmapped: bool = False) -> dict[int, str]:
    """Model class index -> canonical id; a class that maps to no known id is a ModelError, or, with
    `drop_unmapped`, left out (a class class_map does not name)."""
    known = set(CANONICAL_CLASSES) | extra_ids
    mapped: dict[int, str] = {}
    unknown = []
    for index, name in names.items():
        if drop_unmapped and name not in class_map:
            continue
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
    if not mapped:
        raise ModelError("no model class maps to an item id", source)
    return mapped


@dataclass(frozen=True)
class ClassGroups:
    """How a network's class scores become item scores: item k scores the best of rows[k]. The
    identity for our own models; for a COCO network, its 80 classes onto a dozen ids (handbag,
    backpack and suitcase all 'bag'; person, car... dropped)."""

    ids: tuple[str, ...]
    rows: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, class_ids: dict[int, str]) -> "ClassGroups":
        grouped: dict[str, list[int]] = {}
        for index in sorted(class_ids):
            grouped.setdefault(class_ids[index], []).append(index)
        return cls(tuple(grouped), tuple(tuple(rows) for rows in grouped.values()))

    def is_identity(self, n_classes: int) -> bool:
        return self.rows == tuple((i,) for i in range(n_classes))

    def reduce(self, output: np.ndarray) -> np.ndarray:
        """(1, 4 + n_classes, N) -> (1, 4 + len(ids), N)."""
        scores = output[:, 4:, :]
        merged = [scores[:, rows, :].max(axis=1) if len(rows) > 1 else scores[:, rows[0], :] for rows in self.rows]
        return np.concatenate([output[:, :4, :], np.stack(merged, axis=1)], axis=1)


class _Backend:
    """Common part: letterbox, engine call (`_forward`), decode, map class indices to ids."""

    ref: ModelRef
    imgsz: int | tuple[int, int]  # network input: (height, width), or one long side for each frame's own aspect
    confidence: float  # the threshold of every class not in class_confidence
    class_confidence: dict[str, float]  # item id -> its own threshold
    class_ids: dict[int, str]  # index of the (reduced) score rows -> item id
    _groups: ClassGroups | None  # None: the network's own rows are the items'
    _box_error: BoxError | None = None  # measured on labelled sets (the card's box_error)

    @property
    def box_error(self) -> BoxError:
        """How far this model's box sides fall from the true ones: the card's measured figures, or
        a middle-of-the-road default for a model never measured."""
        return self._box_error if self._box_error is not None else DEFAULT_BOX_ERROR

    def _set_classes(self, network_ids: dict[int, str], n_classes: int) -> None:
        groups = ClassGroups.of(network_ids)
        self._groups = None if groups.is_identity(n_classes) else groups
        self.class_ids = dict(enumerate(groups.ids)) if self._groups else network_ids

    def _set_thresholds(self, confidence: float, class_confidence: dict[str, float] | None, source: str) -> None:
        self.confidence, self.class_confidence = confidence, dict(class_confidence or {})
        unknown = sorted(set(self.class_confidence) - set(self.class_ids.values()))
        if unknown:
            raise ModelError(f"class_confidence names {unknown}, which are not this model's classes", source)
        # indexed by the score row, so post-processing compares in one vector step
        self._thresholds = np.array([self.class_confidence.get(self.class_ids[i], confidence)
                                     for i in range(max(self.class_ids) + 1)])

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def detect(self, image_bgr: np.ndarray) -> tuple[Detection, ...]:
        blob, placement = prepare(image_bgr, self.imgsz)
        output = self._forward(blob)
        if self._groups:
            output = self._groups.reduce(output)
        boxes, scores, classes = postprocess(output, placement, (image_bgr.shape[1], image_bgr.shape[0]), self._thresholds)
        return tuple(
            Detection(self.class_ids[int(c)], float(s), tuple(float(v) for v in box))
            for box, s, c in zip(boxes, scores, classes)
        )


class TorchDetector(_Backend):
    """A YOLO checkpoint run with PyTorch on the CPU."""

    def __init__(self, weights: str | Path, ref: ModelRef, imgsz: int | tuple[int, int] = 640, confidence: float = 0.25,
                 class_map: dict[str, str] | None = None, extra_ids: set[str] | None = None,
                 class_confidence: dict[str, float] | None = None, drop_unmapped: bool = False,
                 box_error: BoxError | None = None):
        path = Path(weights)
        if not path.is_file():
            raise ModelError("model file not found", str(path))
        self._box_error = box_error
        from models.train_extra import require_training_extra

        require_training_extra("the PyTorch backend", str(path), instead="run the card's ONNX file (--backend onnx; "
                               "`desk-inspector export` makes one where the extra is installed)")
        try:
            import torch
            from ultralytics import YOLO

            model = YOLO(str(path), task="detect")
            names = dict(model.names)
            self._network = model.model.float().eval()
            self._torch = torch
        except Exception as error:  # torch/pickle/zip errors all mean: not a usable model file
            raise ModelError(f"not a usable YOLO model file ({type(error).__name__}: {error})", str(path)) from None
        self._set_classes(map_class_names(names, class_map or {}, extra_ids or set(), str(path), drop_unmapped), len(names))
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
                 class_confidence: dict[str, float] | None = None, drop_unmapped: bool = False,
                 box_error: BoxError | None = None):
        path = Path(weights)
        if not path.is_file():
            raise ModelError("model file not found", str(path))
        self._box_error = box_error
        try:
            import onnxruntime as ort

            options = ort.SessionOptions()
            if threads:
                options.intra_op_num_threads = threads
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            self._input = self._session.get_inputs()[0].name
        except Exception as error:
            raise ModelError(f"not a usable ONNX model ({type(error).__name__}: {error})", str(path)) from None
        self._set_classes(map_class_names(dict(enumerate(classes)), class_map or {}, extra_ids or set(), str(path),
                                          drop_unmapped), len(classes))
        self.ref, self.imgsz = ref, imgsz
        self._set_thresholds(confidence, class_confidence, str(path))

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: blob})[0]



class OpenVinoDetector(_Backend):
    """An ONNX (or OpenVINO IR) network run with OpenVINO's CPU plugin. `precision` "fp32" asks the
    plugin for f32 arithmetic: on CPUs with bf16 it would otherwise pick bf16 by itself, and the
    detections would differ from the other backends' by more than rounding.

    The network is compiled for each input shape it meets (a frame-aspect model's input follows
    the frame's aspect; a camera keeps one): with a dynamic shape the plugin runs at about half
    the speed, and an INT8 (QDQ) network gives wrong boxes. The first frame of a new shape pays the
    compilation (under a second); the last `MAX_SHAPES` shapes are kept. One infer request per
    thread and shape: the service inspects in several threads with one detector."""

    MAX_SHAPES = 8

    def __init__(self, weights: str | Path, ref: ModelRef, imgsz: int | tuple[int, int], confidence: float, classes: list[str],
                 class_map: dict[str, str] | None = None, extra_ids: set[str] | None = None, threads: int | None = None,
                 class_confidence: dict[str, float] | None = None, drop_unmapped: bool = False,
                 box_error: BoxError | None = None, precision: str = "fp32"):
        path = Path(weights)
        if not path.is_file():
            raise ModelError("model file not found", str(path))
        self._box_error = box_error
        try:
            import openvino as ov
        except ImportError:
            raise ModelError("this backend needs OpenVINO: pip install 'desk-inspector[openvino]'", str(path)) from None
        self._path = path
        self._config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
        if threads:
            self._config["INFERENCE_NUM_THREADS"] = threads
        try:
            self._core = ov.Core()
            self._core.read_model(str(path))  # a file OpenVINO cannot read fails here, not at the first frame
        except Exception as error:
            raise ModelError(f"not a usable OpenVINO model ({type(error).__name__}: {error})", str(path)) from None
        self._compiled: OrderedDict[tuple[int, ...], object] = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._set_classes(map_class_names(dict(enumerate(classes)), class_map or {}, extra_ids or set(), str(path),
                                          drop_unmapped), len(classes))
        self.ref, self.imgsz = ref, imgsz
        self._set_thresholds(confidence, class_confidence, str(path))

    def _compiled_for(self, shape: tuple[int, ...]):
        with self._lock:
            compiled = self._compiled.get(shape)
            if compiled is None:
                try:
                    model = self._core.read_model(str(self._path))
                    model.reshape({model.inputs[0]: list(shape)})
                    compiled = self._core.compile_model(model, "CPU", self._config)
                except Exception as error:
                    raise ModelError(f"OpenVINO cannot compile the model for input {shape} "
                                     f"({type(error).__name__}: {error})", str(self._path)) from None
                self._compiled[shape] = compiled
                while len(self._compiled) > self.MAX_SHAPES:
                    self._compiled.popitem(last=False)
            self._compiled.move_to_end(shape)
            return compiled

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        compiled = self._compiled_for(tuple(blob.shape))
        requests = self._local.__dict__.setdefault("requests", {})
        entry = requests.get(blob.shape)
        if entry is None or entry[0] is not compiled:  # recompiled after leaving the cache
            entry = requests[blob.shape] = (compiled, compiled.create_infer_request())
        # a copy: the request reuses its output buffer on the next call
        return entry[1].infer({0: blob})[0].copy()
