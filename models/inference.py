"""Pre- and post-processing shared by every detector backend, so backends differ only in the engine.

Letterbox to the network's input (a square `imgsz`, or height x width for a model trained on the
frames' own aspect; grey padding, as YOLO was trained), run the network, decode the
(1, 4 + classes, anchors) output (centre-x, centre-y, width, height in input pixels, then class
scores), keep the best class per anchor over the confidence threshold, class-wise NMS, and map
the boxes back to the original image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114
# Same-class boxes overlapping more than this are one item. 0.5, not ultralytics' 0.7: thin pens
# give near-twin boxes at 0.6-0.7 overlap; chosen on the training set's validation split
# (v0.10.0: pen precision 0.778 -> 0.841 at recall 0.852 -> 0.850; README "The bundled model").
NMS_IOU = 0.5


def scaled_input_hw(input_hw: tuple[int, int], imgsz: int, stride: int = 32) -> tuple[int, int]:
    """The (height, width) input of the same aspect with long side `imgsz`, rounded up to the stride."""
    height, width = input_hw
    scale = imgsz / max(height, width)
    return (math.ceil(height * scale / stride) * stride, math.ceil(width * scale / stride) * stride)


@dataclass(frozen=True)
class Letterbox:
    scale: float
    pad_x: float
    pad_y: float


def letterbox(image_bgr: np.ndarray, input_hw: int | tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """BGR uint8 image -> (1, 3, H, W) float32 RGB blob in 0..1, and how it was placed; `input_hw`
    is (H, W), or one size for a square input."""
    input_h, input_w = (input_hw, input_hw) if isinstance(input_hw, int) else input_hw
    height, width = image_bgr.shape[:2]
    scale = min(input_w / width, input_h / height)
    new_w, new_h = int(round(width * scale)), int(round(height * scale))
    pad_x, pad_y = (input_w - new_w) / 2, (input_h - new_h) / 2
    resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (width, height) else image_bgr
    top, left = int(round(pad_y - 0.1)), int(round(pad_x - 0.1))
    canvas = cv2.copyMakeBorder(resized, top, input_h - new_h - top, left, input_w - new_w - left,
                                cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    blob = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(blob), Letterbox(scale, left, top)


def prepare(image_bgr: np.ndarray, detector_input: int | tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """What every backend feeds its network, and INT8 calibration too: `detector_input` is a fixed
    (height, width), or one long side for each frame at its own aspect."""
    input_hw = scaled_input_hw(image_bgr.shape[:2], detector_input) if isinstance(detector_input, int) else detector_input
    return letterbox(image_bgr, input_hw)


def postprocess(
    output: np.ndarray, placement: Letterbox, image_size: tuple[int, int], confidence: float | np.ndarray,
    iou: float = NMS_IOU, max_detections: int = 300,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes xyxy in image px, scores, class indices) from a (1, 4 + nc, N) network output.
    `confidence`: one threshold, or one per class index."""
    predictions = output[0].T  # (N, 4 + nc)
    scores_all = predictions[:, 4:]
    classes = scores_all.argmax(axis=1)
    scores = scores_all[np.arange(len(classes)), classes]
    thresholds = np.asarray(confidence, dtype=float)
    keep = scores > (thresholds[classes] if thresholds.ndim else thresholds)
    if not keep.any():
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int)
    boxes_cxcywh, scores, classes = predictions[keep, :4], scores[keep], classes[keep]
    xywh = np.column_stack([boxes_cxcywh[:, 0] - boxes_cxcywh[:, 2] / 2, boxes_cxcywh[:, 1] - boxes_cxcywh[:, 3] / 2,
                            boxes_cxcywh[:, 2], boxes_cxcywh[:, 3]])
    chosen = cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), classes.tolist(), float(thresholds.min()), iou)
    chosen = np.asarray(chosen, dtype=int).ravel()[:max_detections]
    xyxy = np.column_stack([xywh[chosen, 0], xywh[chosen, 1], xywh[chosen, 0] + xywh[chosen, 2], xywh[chosen, 1] + xywh[chosen, 3]])
    xyxy = (xyxy - [placement.pad_x, placement.pad_y, placement.pad_x, placement.pad_y]) / placement.scale
    width, height = image_size
    xyxy = np.clip(xyxy, 0, [width, height, width, height])
    return xyxy, scores[chosen], classes[chosen]
