"""The COCO start: ultralytics' COCO-pretrained YOLOv8n, which reaches us only as an int8 TFLite
export, turned back into a float ultralytics checkpoint that can be run, evaluated and fine-tuned.

The TFLite graph holds the 63 learnable convolutions of `yolov8n.yaml` with BatchNorm folded into
them (weights int8, one scale per tensor; biases float) plus the fixed DFL convolution. We
  1. read every CONV_2D's dequantised weight and bias (no interpreter run is needed for that),
  2. pair them with the PyTorch convolutions by (weight shape, output size) in execution order —
     the TFLite op order is a topological order of the same graph, so convolutions of equal shape
     and resolution keep their relative order — and refuse anything that does not pair one to one,
  3. restore BatchNorm: fine-tuning needs running statistics (a BN left as identity wrecks the
     first epoch), so each BN gets the mean and variance its convolution gives on real images and
     gamma / beta chosen so that the float network computes exactly the folded one.
Nothing here touches the network; the TFLite file's sha256 is kept in the card as provenance.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np  # noqa: E402

from inspector.errors import ModelError  # noqa: E402

IMGSZ = 640  # the export's input size; output sizes used for pairing are measured at it


@dataclass(frozen=True)
class TfliteConv:
    weight: np.ndarray  # (out, in, kh, kw) float32, dequantised
    bias: np.ndarray  # (out,) float32
    output_hw: tuple[int, int]

    @property
    def key(self) -> tuple:
        return (tuple(self.weight.shape), self.output_hw)


def read_metadata(tflite_path: Path) -> dict:
    """The export's own metadata (names, imgsz, licence): a zip appended to the flatbuffer."""
    try:
        with zipfile.ZipFile(tflite_path) as archive:
            return json.loads(archive.read("metadata.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise ModelError(f"no ultralytics metadata in the TFLite file ({error})", str(tflite_path)) from None


def _interpreter(tflite_path: Path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ModelError("reading a TFLite file needs ai-edge-litert (pip install ai-edge-litert)") from None
    if not Path(tflite_path).is_file():
        raise ModelError("TFLite file not found", str(tflite_path))
    interpreter = Interpreter(model_path=str(tflite_path))
    interpreter.allocate_tensors()
    return interpreter


def read_tflite_convs(tflite_path: Path) -> list[TfliteConv]:
    """The learnable convolutions in graph order (the DFL's fixed 16 -> 1 convolution left out)."""
    interpreter = _interpreter(tflite_path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    convs = []
    for op in interpreter._get_ops_details():  # the public API has no op list; this one is stable
        if op["op_name"] != "CONV_2D":
            continue
        weight_info, bias_info = tensors[op["inputs"][1]], tensors[op["inputs"][2]]
        weight = interpreter.get_tensor(weight_info["index"]).astype(np.float32)
        quant = weight_info["quantization_parameters"]
        if len(quant["scales"]):  # int8: real = scale * (q - zero point), per output channel
            scales = quant["scales"].reshape(-1, 1, 1, 1).astype(np.float32)
            weight = (weight - quant["zero_points"].reshape(-1, 1, 1, 1)) * scales
        output_shape = tensors[op["outputs"][0]]["shape"]  # NHWC
        conv = TfliteConv(np.ascontiguousarray(weight.transpose(0, 3, 1, 2)),  # OHWI -> OIHW
                          interpreter.get_tensor(bias_info["index"]).astype(np.float32),
                          (int(output_shape[1]), int(output_shape[2])))
        if conv.weight.shape[:2] == (1, 16):  # the DFL: a fixed arange, not learnt
            continue
        convs.append(conv)
    return convs


def _torch_convs_in_execution_order(model) -> list[tuple[str, object, tuple[int, int]]]:
    """(name, nn.Conv2d, output (h, w)) of every learnable convolution, in forward order at IMGSZ."""
    import torch

    order, handles = [], []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d) and not name.endswith("dfl.conv"):
            handles.append(module.register_forward_hook(
                lambda mod, _inp, out, name=name: order.append((name, mod, tuple(out.shape[2:])))))
    try:
        with torch.inference_mode():
            model.eval()(torch.zeros(1, 3, IMGSZ, IMGSZ))
    finally:
        for handle in handles:
            handle.remove()
    return order


def pair_convs(tflite_convs: list[TfliteConv], torch_convs: list[tuple[str, object, tuple[int, int]]]):
    """[(torch name, torch conv, TfliteConv)]: the k-th conv of a (shape, output size) in one graph with
    the k-th of the same key in the other. Raises if the two graphs do not hold the same convolutions."""
    if len(tflite_convs) != len(torch_convs):
        raise ModelError(f"the TFLite graph has {len(tflite_convs)} learnable convolutions, yolov8n.yaml "
                         f"{len(torch_convs)}: not a YOLOv8n export")
    queues: dict[tuple, list[TfliteConv]] = {}
    for conv in tflite_convs:
        queues.setdefault(conv.key, []).append(conv)
    pairs = []
    for name, module, output_hw in torch_convs:
        key = (tuple(module.weight.shape), output_hw)
        if not queues.get(key):
            raise ModelError(f"no TFLite convolution of shape {key[0]} at {output_hw} for {name}")
        pairs.append((name, module, queues[key].pop(0)))
    return pairs


def build_float_model(tflite_path: Path, calibration_images: list[np.ndarray]):
    """An ultralytics DetectionModel (yolov8n, 80 COCO classes) with the TFLite weights and BatchNorm
    statistics restored from `calibration_images` (BGR uint8, any size; letterboxed to IMGSZ)."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    if not calibration_images:
        raise ModelError("BatchNorm statistics need at least one calibration image")
    names = {int(k): v for k, v in read_metadata(tflite_path)["names"].items()}
    model = DetectionModel("yolov8n.yaml", nc=len(names), verbose=False)
    model.names = names
    pairs = pair_convs(read_tflite_convs(tflite_path), _torch_convs_in_execution_order(model))
    modules = dict(model.named_modules())
    batchnorms = []  # (bn, folded bias) of each Conv -> BN -> SiLU block
    with torch.no_grad():
        for name, conv, source in pairs:
            conv.weight.copy_(torch.from_numpy(source.weight))
            parent = modules.get(name.rsplit(".", 1)[0]) if name.endswith(".conv") else None
            bn = getattr(parent, "bn", None)
            if bn is None:  # the head's last 1x1 convolutions carry their own bias
                conv.bias.copy_(torch.from_numpy(source.bias))
                continue
            # BN as "add the folded bias" for now: mean 0, variance 1, gamma sqrt(1 + eps)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0)
            bn.weight.fill_(float(np.sqrt(1.0 + bn.eps)))
            bn.bias.copy_(torch.from_numpy(source.bias))
            batchnorms.append((conv, bn, torch.from_numpy(source.bias)))
    _restore_batchnorm(model, batchnorms, calibration_images)
    return model.eval()


def _restore_batchnorm(model, batchnorms, images: list[np.ndarray]) -> None:
    """Give each BN the per-channel mean m and variance v of its convolution's output on real images,
    with gamma = sqrt(v + eps) and beta = b + m, so that BN(y) = y + b still: the same network, with
    statistics that fine-tuning can start from."""
    import torch

    from models.inference import letterbox

    sums = {id(conv): [0.0, 0.0, 0] for conv, _, _ in batchnorms}  # sum, sum of squares, count per channel

    def collect(conv, _inputs, output):
        y = output.detach().double()
        total = sums[id(conv)]
        total[0] = total[0] + y.sum(dim=(0, 2, 3))
        total[1] = total[1] + (y * y).sum(dim=(0, 2, 3))
        total[2] += y.shape[0] * y.shape[2] * y.shape[3]

    handles = [conv.register_forward_hook(collect) for conv, _, _ in batchnorms]
    try:
        with torch.inference_mode():
            for image in images:
                model(torch.from_numpy(letterbox(image, IMGSZ)[0]))
    finally:
        for handle in handles:
            handle.remove()
    with torch.no_grad():
        for conv, bn, folded_bias in batchnorms:
            total, squares, count = sums[id(conv)]
            mean = total / count
            variance = (squares / count - mean * mean).clamp(min=1e-12)
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(variance.float())
            bn.weight.copy_(torch.sqrt(variance + bn.eps).float())
            bn.bias.copy_((folded_bias.double() + mean).float())


def tflite_outputs(tflite_path: Path, image_bgr: np.ndarray) -> np.ndarray:
    """The LiteRT interpreter's raw (84, 8400) output for one image, boxes in input pixels (the
    export normalises them to 0..1)."""
    from models.inference import letterbox

    interpreter = _interpreter(tflite_path)
    blob = letterbox(image_bgr, IMGSZ)[0]  # (1, 3, H, W)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], blob.transpose(0, 2, 3, 1).copy())
    interpreter.invoke()
    output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0].copy()
    output[:4] *= IMGSZ
    return output


def torch_outputs(model, image_bgr: np.ndarray) -> np.ndarray:
    """The float network's raw (84, 8400) output for one image, boxes in input pixels."""
    import torch

    from models.inference import letterbox

    with torch.inference_mode():
        output = model.eval()(torch.from_numpy(letterbox(image_bgr, IMGSZ)[0]))
    output = output[0] if isinstance(output, (list, tuple)) else output
    return output[0].float().numpy()


# -- the COCO bridge: the COCO network's classes onto our item ids -------------------------------
COCO_FOOD = ("banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake")
# COCO class -> item id. COCO has no desk telephone, pen, ink pad, document camera or name plate.
COCO_TO_ITEM = {"cup": "cup", "bottle": "bottle", "cell phone": "mobile_phone", "keyboard": "keyboard",
                "mouse": "mouse", "tv": "monitor", "book": "brochure", "handbag": "bag", "backpack": "bag",
                "suitcase": "bag", **{food: "food" for food in COCO_FOOD}}
BRIDGE_NAME = "coco-yolov8n"
LICENCE = "AGPL-3.0 (Ultralytics YOLOv8n, COCO-pretrained; any model fine-tuned from it carries the same licence)"


def save_checkpoint(model, path: Path, date: str | None = None) -> Path:
    """An ultralytics checkpoint (what `YOLO(path)` loads), float16 as ultralytics stores its own.
    `date` (default now): a fixed one makes the same network give the same bytes."""
    from copy import deepcopy
    from datetime import datetime, timezone

    import torch
    import ultralytics

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"date": date or datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "version": ultralytics.__version__, "license": "AGPL-3.0", "model": deepcopy(model).half(),
                "train_args": {}}, path)
    return path


def calibration_images(folder: Path, count: int = 64) -> list[np.ndarray]:
    """`count` images spread evenly over a folder (sorted, so the same folder gives the same set)."""
    import cv2

    from inspector.frames import IMAGE_SUFFIXES

    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ModelError("no images for the BatchNorm statistics", str(folder))
    step = max(1, len(files) // count)
    images = [cv2.imread(str(p)) for p in files[::step][:count]]
    return [image for image in images if image is not None]


def make_coco_start(tflite_path: Path, images_folder: Path, registry: Path | None = None, name: str = BRIDGE_NAME,
                    images: int = 64, onnx: bool = False) -> Path:
    """Convert the TFLite file into the registry's COCO bridge model (PyTorch weights + card; `onnx`
    also exports ONNX, which the repository leaves out to stay small: `desk-inspector export
    coco-yolov8n` makes it). Returns the card."""
    from models.registry import REGISTRY_DIR, ModelCard, sha256_of, write_card
    from models.train_extra import require_training_extra
    from models.training import export_onnx

    require_training_extra("coco-start", str(tflite_path))
    registry = registry or REGISTRY_DIR
    for stale in ("weights.onnx", "card.yaml"):  # a re-conversion starts clean
        (registry / name / stale).unlink(missing_ok=True)
    tflite_path = Path(tflite_path)
    metadata = read_metadata(tflite_path)
    samples = calibration_images(images_folder, images)
    model = build_float_model(tflite_path, samples)
    target = registry / name
    # dated as the export, so that converting the same file again gives the same bytes (and sha256)
    weights = save_checkpoint(model, target / "weights.pt", date=metadata.get("date"))
    names = [metadata["names"][str(i)] for i in range(len(metadata["names"]))]
    card = ModelCard(
        name=name, version=f"coco-{metadata.get('version', 'unknown')}", weights="weights.pt",
        sha256=sha256_of(weights), default_backend="torch", imgsz=IMGSZ, confidence=0.25, classes=names,
        class_map={coco: item for coco, item in COCO_TO_ITEM.items() if coco in names}, drop_unmapped=True,
        synthetic_only=False,
        training={"base": "ultralytics YOLOv8n trained on COCO (80 classes); not trained by us",
                  "source": {"file": tflite_path.name, "sha256": sha256_of(tflite_path),
                             "origin": "int8 TFLite export by ultralytics " + str(metadata.get("version")),
                             "description": metadata.get("description", "")},
                  "licence": LICENCE,
                  "conversion": f"desk-inspector coco-start {tflite_path} --images {images_folder}: int8 weights "
                                f"dequantised, BatchNorm statistics from {len(samples)} real images",
                  "bridge": "COCO classes mapped onto our ids by class_map; the other COCO classes are dropped"})
    card_path = write_card(card, target / "card.yaml")
    if onnx:
        export_onnx(str(card_path), registry=registry)
    return card_path


def item_start(coco_network, coco_names: list[str], class_map: dict[str, str], item_names: list[str]):
    """The COCO network with a head for `item_names`: every layer kept, the class branch's last
    convolution cut to one output per item, each item's row started from the COCO classes mapped
    onto it (their mean: bag from handbag, backpack and suitcase), items COCO lacks (pen, desk
    telephone...) from ultralytics' own start (small random weights, a rare-object prior bias).
    The branch keeps COCO's width (80 channels; yolov8n.yaml would give a 14-class head 64), so the
    network must be trained as it is, not rebuilt from the yaml (models/partial_labels.py does)."""
    import math
    from copy import deepcopy

    import torch

    network = deepcopy(coco_network).float()
    head = network.model[-1]
    sources = {item: [coco_names.index(coco) for coco, mapped in class_map.items() if mapped == item]
               for item in item_names}
    with torch.no_grad():
        for level, branch in enumerate(head.cv3):
            old = branch[-1]
            new = torch.nn.Conv2d(old.in_channels, len(item_names), 1)
            prior = math.log(5 / len(item_names) / (IMGSZ / float(head.stride[level])) ** 2)
            for row, item in enumerate(item_names):
                rows = sources[item]
                if rows:
                    new.weight[row] = old.weight[rows].mean(dim=0)
                    new.bias[row] = old.bias[rows].mean()
                else:
                    new.bias[row] = prior
            branch[-1] = new
    head.nc = len(item_names)
    head.no = head.nc + head.reg_max * 4
    network.nc = len(item_names)
    network.names = dict(enumerate(item_names))
    network.yaml = {**network.yaml, "nc": len(item_names)}
    return network
