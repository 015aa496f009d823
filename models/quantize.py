"""INT8 for the CPU: ONNX Runtime static quantisation of a card's ONNX export, recorded in the card
as one more backend (`backends: {onnx-int8: {file, sha256, engine, ...}}`).

    python -m models.quantize --model desk-yolov8n-coco --renders data/synth-calib \\
        --real ../shared/data/real-desk [--renders-count 150] [--real-count 150] [--method percentile] \\
        [--keep-float decode+heads] [--per-tensor] [--ops all|conv] [--name onnx-int8] [--default]
    python -m models.quantize --model desk-yolov8n-coco --openvino onnx-int8 --name openvino-int8 [--default]

QDQ format, weights int8 per output channel (`--per-tensor`: one scale per tensor), activations
uint8 per tensor, ranges calibrated on frames prepared exactly as `detect()` prepares them
(`models.inference.prepare`: each frame at its own aspect, letterboxed): a mix of renders (generate
a calibration set of its own, with a seed no training or held-out set uses) and real photos from
the TRAINING split only, so that no validation or held-out image takes part. `--method`: minmax
(the extremes seen), percentile (99.999 % of each activation's histogram: a rare outlier no longer
coarsens every other value's step) or entropy. `--keep-float decode` leaves the detection head's
decoding (the distribution-to-box Softmax and convolution, anchors, sigmoid of the class scores,
the final Concat) in float: those few cheap nodes carry the box coordinates and scores that INT8
would round (with `none` the boxes and scores share one scale and nothing is found);
`decode+heads` also each head branch's last convolution, `decode+classes` / `decode+boxes` the
class-score / box-distribution branches whole.

`--openvino NAME` records an OpenVINO backend instead, running one of the card's ONNX files (the
FP32 export or an INT8 one already made) with OpenVINO's CPU plugin (an optional extra: pip install
'desk-inspector[openvino]'); nothing new is written. A card's default should be a backend every
install runs alike: detections must not change with the packages a machine happens to have.

Which backend is the card's default is chosen by measurement (bench/detector_backends.py for the
speed, `desk-inspector evaluate --backend NAME` for mAP50); `--default` makes the new backend the
default.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inspector.errors import ModelError
from inspector.frames import IMAGE_SUFFIXES
from models.inference import prepare
from models.registry import REGISTRY_DIR, BackendWeights, ModelCard, read_card, resolve_card, sha256_of, write_card

METHODS = ("minmax", "entropy", "percentile")
KEEP_FLOAT = ("none", "decode", "decode+heads", "decode+classes", "decode+boxes")
# which operators take INT8: every one ONNX Runtime can (convolutions, the SiLU's Sigmoid and Mul,
# Concat, Resize ...) or the convolutions alone, the activations between them left float
OPS = {"all": None, "conv": ["Conv"]}
SOURCE_SEPARATOR = "__"  # real-desk names files <source>__<name>: calibration draws from every source
_STRIDE = 10  # frames per calibration pass: histogram methods hold every activation of a pass in memory


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def calibration_images(renders: Path | None, real: Path | None, renders_count: int, real_count: int,
                       seed: int = 0) -> list[Path]:
    """Up to `renders_count` images from the renders folder (any of its images: make it a set of its
    own) and `real_count` from the real set's TRAINING split (`images/train`), drawn in turn from
    each source so that none dominates; renders and photos interleaved."""
    rng = np.random.default_rng(seed)
    chosen_renders: list[Path] = []
    if renders is not None and renders_count > 0:
        pool = _images_in(renders)
        if not pool:
            raise ModelError("no images in the calibration renders folder", str(renders))
        chosen_renders = [pool[i] for i in sorted(rng.permutation(len(pool))[:renders_count])]
    chosen_real: list[Path] = []
    if real is not None and real_count > 0:
        train = real / "images" / "train"
        pool = _images_in(train) if train.is_dir() else []
        if not pool:  # never fall back to another split: the validation photos judge the result
            raise ModelError("no training images under images/train of the real set", str(real))
        by_source: dict[str, list[Path]] = defaultdict(list)
        for path in pool:
            by_source[path.name.split(SOURCE_SEPARATOR)[0] if SOURCE_SEPARATOR in path.name else ""].append(path)
        queues = [list(np.array(paths, dtype=object)[rng.permutation(len(paths))]) for _, paths in sorted(by_source.items())]
        while len(chosen_real) < real_count and any(queues):
            for queue in queues:
                if queue and len(chosen_real) < real_count:
                    chosen_real.append(queue.pop())
    mixed = [p for pair in zip(chosen_renders, chosen_real) for p in pair]
    shorter = min(len(chosen_renders), len(chosen_real))
    mixed += chosen_renders[shorter:] + chosen_real[shorter:]
    if not mixed:
        raise ModelError("no calibration images: give --renders and/or --real")
    return mixed


class FrameReader:
    """ONNX Runtime's CalibrationDataReader over image files, each prepared as `detect()` prepares
    it; `set_range` lets the calibrator take them a few at a time."""

    def __init__(self, paths: list[Path], detector_input: int | tuple[int, int], input_name: str = "images"):
        self.paths, self.detector_input, self.input_name = list(paths), detector_input, input_name
        self._queue = iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._queue = iter(self.paths[start_index:end_index])

    def get_next(self) -> dict[str, np.ndarray] | None:
        path = next(self._queue, None)
        if path is None:
            return None
        image = cv2.imread(str(path))
        if image is None:
            raise ModelError("cannot read calibration image", str(path))
        blob, _ = prepare(image, self.detector_input)
        return {self.input_name: blob}

    def rewind(self) -> None:
        self._queue = iter(self.paths)


def float_nodes(model_path: Path, keep_float: str) -> list[str]:
    """Names of the nodes left in float. The detection head is the namespace of the node making the
    graph's output (ultralytics' export: `/model.22/...`); its per-scale branches (cv2.*, box
    distributions; cv3.*, class logits) are convolutions worth quantising, the rest is decoding."""
    import onnx

    if keep_float == "none":
        return []
    model = onnx.load(str(model_path), load_external_data=False)
    producers = {output: node for node in model.graph.node for output in node.output}
    last = producers[model.graph.output[0].name].name
    head = last[: last.rfind("/") + 1]
    if not head:
        raise ModelError("cannot tell the detection head from the node names (not an ultralytics export?)",
                         str(model_path))
    names = []
    for node in model.graph.node:
        if not node.name.startswith(head) or node.op_type == "Constant":
            continue
        branch = node.name[len(head):].split("/")[0]
        in_branch = branch.startswith(("cv2.", "cv3."))
        # the last convolution of each branch (cv2.0.2, cv3.1.2 ...) feeds the decoding directly
        last_conv = in_branch and node.op_type == "Conv" and node.name.split("/")[-2].endswith(".2")
        # decode+classes / decode+boxes: the class-score (cv3) or box-distribution (cv2) branches whole
        whole = (keep_float == "decode+classes" and branch.startswith("cv3.")) or \
            (keep_float == "decode+boxes" and branch.startswith("cv2."))
        if not in_branch or (keep_float == "decode+heads" and last_conv) or whole:
            names.append(node.name)
    return names


@dataclass(frozen=True)
class QuantizeResult:
    path: Path
    card_path: Path
    backend: str
    calibration_images: int
    float_nodes: int


def quantize_onnx(source: Path, target: Path, reader: FrameReader, method: str = "percentile",
                  keep_float: str = "decode+heads", preprocess: bool = True, per_channel: bool = True,
                  ops: str = "all") -> int:
    """Static QDQ quantisation of `source` into `target`; returns how many nodes stayed float."""
    try:
        import onnx  # noqa: F401  (ONNX Runtime's quantisation tools are built on it)
    except ImportError:
        raise ModelError("quantising needs the onnx package; this needs the training extra: "
                         "pip install 'desk-inspector[train]'", str(source)) from None
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in METHODS:
        raise ModelError(f"unknown calibration method {method!r} ({', '.join(METHODS)})")
    if keep_float not in KEEP_FLOAT:
        raise ModelError(f"unknown --keep-float {keep_float!r} ({', '.join(KEEP_FLOAT)})")
    if ops not in OPS:
        raise ModelError(f"unknown --ops {ops!r} ({', '.join(OPS)})")
    calibrate = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                 "percentile": CalibrationMethod.Percentile}[method]
    with tempfile.TemporaryDirectory() as scratch:
        model_in = source
        if preprocess:  # shape inference and graph optimisation first, as ONNX Runtime advises
            model_in = Path(scratch) / "preprocessed.onnx"
            # ONNX's own shape inference only: the symbolic one cannot follow anchors computed from
            # each frame's own (height, width) and gives up
            quant_pre_process(str(source), str(model_in), skip_symbolic_shape=True)
        excluded = float_nodes(model_in, keep_float)
        # a histogram method stacks a pass's activations into one array: frames of different aspects
        # (hence shapes) cannot share a pass, so those take one frame at a time
        stride = 1 if method != "minmax" else _STRIDE if len(reader) % _STRIDE == 0 else len(reader)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            quantize_static(str(model_in), str(target), reader, quant_format=QuantFormat.QDQ,
                            per_channel=per_channel, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                            calibrate_method=calibrate, nodes_to_exclude=excluded, op_types_to_quantize=OPS[ops],
                            extra_options={"CalibStridedMinMax": stride})
        except ValueError as error:  # e.g. a constant activation that a histogram cannot bin
            raise ModelError(f"calibration failed ({error}); --method minmax copes with constant activations",
                             str(source)) from None
    return len(excluded)


def quantize_card(model: str, renders: Path | None, real: Path | None, renders_count: int = 150,
                  real_count: int = 150, method: str = "percentile", keep_float: str = "decode+heads",
                  preprocess: bool = True, name: str = "onnx-int8", file_name: str | None = None,
                  make_default: bool = False, seed: int = 0, registry: Path = REGISTRY_DIR,
                  command: str = "", per_channel: bool = True, ops: str = "all") -> QuantizeResult:
    """Quantise the card's ONNX export to INT8 beside it and record it under `backends[name]`."""
    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    if not card.onnx:
        raise ModelError("the card names no ONNX file to quantise; run `desk-inspector export` first", str(card_path))
    source = card_path.parent / card.onnx
    if sha256_of(source) != card.onnx_sha256:
        raise ModelError("the ONNX file does not match the card's sha256", str(source))
    paths = calibration_images(renders, real, renders_count, real_count, seed)
    paths = paths[: max(_STRIDE, len(paths) // _STRIDE * _STRIDE)] if len(paths) >= _STRIDE else paths
    target = card_path.parent / (file_name or f"{Path(card.onnx).stem}-int8.onnx")
    kept = quantize_onnx(source, target, FrameReader(paths, card.detector_input), method, keep_float, preprocess,
                         per_channel, ops)
    n_renders = sum(1 for p in paths if renders is not None and p.is_relative_to(renders))
    spec = BackendWeights(
        file=target.name, sha256=sha256_of(target), engine="onnxruntime", precision="int8",
        source_sha256=card.onnx_sha256, made_with=command,
        notes=f"ONNX Runtime static quantisation, QDQ, weights int8 {'per channel' if per_channel else 'per tensor'}, "
              f"activations uint8; {'every operator' if ops == 'all' else 'convolutions only'}; {method} "
              f"calibration on {len(paths)} frames ({n_renders} renders, {len(paths) - n_renders} real training "
              f"photos); {kept} head nodes kept float ({keep_float})")
    _record(card, card_path, name, spec, make_default)
    return QuantizeResult(target, card_path, name, len(paths), kept)


def add_openvino(model: str, name: str = "openvino", run: str = "onnx", precision: str = "fp32",
                 make_default: bool = False, registry: Path = REGISTRY_DIR, command: str = "") -> Path:
    """Record backend `name`: the card's backend `run`'s ONNX file (onnx, or an INT8 one) on OpenVINO."""
    card_path = resolve_card(model, registry)
    card = read_card(card_path)
    if run == "onnx":
        if not card.onnx:
            raise ModelError("the card names no ONNX file; run `desk-inspector export` first", str(card_path))
        file, sha256, source_precision = card.onnx, card.onnx_sha256, "fp32"
    elif run in card.backends and card.backends[run].engine == "onnxruntime":
        file, sha256, source_precision = card.backends[run].file, card.backends[run].sha256, card.backends[run].precision
    else:
        raise ModelError(f"no ONNX backend {run!r} in the card to run on OpenVINO", str(card_path))
    spec = BackendWeights(file=file, sha256=sha256, engine="openvino",
                          precision=precision if source_precision == "fp32" else source_precision,
                          source_sha256=card.onnx_sha256, made_with=command,
                          notes=f"the {run} backend's file run with OpenVINO's CPU plugin, compiled for each "
                                f"input shape")
    _record(card, card_path, name, spec, make_default)
    return card_path


def _record(card: ModelCard, card_path: Path, name: str, spec: BackendWeights, make_default: bool) -> None:
    update = {"backends": {**card.backends, name: spec}}
    if make_default:
        update["default_backend"] = name
    write_card(card.model_copy(update=update), card_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.quantize", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="desk-yolov8n-coco", help="registry name or card path")
    parser.add_argument("--renders", type=Path, help="folder of calibration renders (a set of their own)")
    parser.add_argument("--real", type=Path, help="real YOLO set; only its images/train are used")
    parser.add_argument("--renders-count", type=int, default=150)
    parser.add_argument("--real-count", type=int, default=150)
    # the defaults: what held the bundled model's held-out mAP50 within 0.01 of FP32 (models/MODEL_CARD.md)
    parser.add_argument("--method", choices=METHODS, default="percentile")
    parser.add_argument("--keep-float", choices=KEEP_FLOAT, default="decode+heads")
    parser.add_argument("--no-preprocess", action="store_true", help="skip quant_pre_process")
    parser.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor, not per output channel")
    parser.add_argument("--ops", choices=list(OPS), default="all",
                        help="quantise every operator ONNX Runtime can, or the convolutions alone")
    parser.add_argument("--name", default="onnx-int8", help="backend name in the card")
    parser.add_argument("--file", default=None, help="weights file name (default: <onnx stem>-int8.onnx)")
    parser.add_argument("--seed", type=int, default=0, help="which calibration images are drawn")
    parser.add_argument("--openvino", metavar="RUN", default=None,
                        help="instead: record backend --name running backend RUN's ONNX file (onnx, onnx-int8) "
                             "on OpenVINO")
    parser.add_argument("--default", action="store_true", help="make the new backend the card's default")
    args = parser.parse_args(argv)
    command = "python -m models.quantize " + shlex.join(argv if argv is not None else sys.argv[1:])
    try:
        if args.openvino:
            card_path = add_openvino(args.model, args.name, args.openvino, make_default=args.default, command=command)
            print(f"recorded backend {args.name} (OpenVINO running {args.openvino}) in {card_path}")
            return 0
        result = quantize_card(args.model, args.renders, args.real, args.renders_count, args.real_count, args.method,
                               args.keep_float, not args.no_preprocess, args.name, args.file, args.default, args.seed,
                               command=command, per_channel=not args.per_tensor, ops=args.ops)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size_mb = result.path.stat().st_size / 1e6
    print(f"wrote {result.path} ({size_mb:.1f} MB; {result.calibration_images} calibration frames, "
          f"{result.float_nodes} nodes float) as backend {result.backend} in {result.card_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
