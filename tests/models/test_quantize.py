"""INT8 and OpenVINO backends (models/quantize.py, the card's `backends`): made from the card's ONNX
export, recorded with their sha256, refused when stale, close to FP32, and calibrated on training
images only."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspector.errors import ModelError
from inspector.frames import read_image_file
from models import quantize
from models.registry import BACKEND_ENV, DEFAULT_MODEL, load_detector, read_card, resolve_card, write_card
from models.training import export_onnx

EXAMPLE_PHOTOS = sorted((Path(__file__).resolve().parents[2] / "examples" / "front-counter" / "photos").glob("*.jpg"))
needs_openvino = pytest.mark.skipif(importlib.util.find_spec("openvino") is None, reason="OpenVINO not installed")


def _real_set(root: Path) -> Path:
    """A real set in YOLO layout with two sources in its training split and a validation split."""
    rng = np.random.default_rng(0)
    for split, names in {"train": ["shop__a", "shop__b", "office__c", "office__d"], "val": ["shop__v", "office__w"]}.items():
        (root / "images" / split).mkdir(parents=True)
        for name in names:
            cv2.imwrite(str(root / "images" / split / f"{name}.jpg"), rng.integers(0, 255, (90, 160, 3), np.uint8))
    return root


def _renders(root: Path, count: int = 6) -> Path:
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    for i in range(count):
        cv2.imwrite(str(root / f"render_{i}.jpg"), rng.integers(0, 255, (90, 160, 3), np.uint8))
    return root


@pytest.fixture(scope="module")
def quantised(tiny_model, tmp_path_factory):
    """The tiny model exported to ONNX and quantised; the images the calibration read."""
    folder = tmp_path_factory.mktemp("quantised") / "tiny"
    shutil.copytree(tiny_model.parent, folder)
    card_path = folder / "card.yaml"
    write_card(read_card(card_path).model_copy(update={"frame_aspect": True}), card_path)
    export_onnx(str(card_path))
    data = tmp_path_factory.mktemp("data")
    real, renders = _real_set(data / "real"), _renders(data / "renders")
    read: list[str] = []
    original = cv2.imread

    def spying_imread(path, *args):
        read.append(str(path))
        return original(path, *args)

    mp = pytest.MonkeyPatch()
    mp.setattr(quantize.cv2, "imread", spying_imread)
    try:
        # minmax: an untrained network has constant activations a histogram method cannot bin
        result = quantize.quantize_card(str(card_path), renders, real, renders_count=6, real_count=4,
                                        method="minmax", command="python -m models.quantize (test)")
    finally:
        mp.undo()
    return card_path, result, read, real


def test_calibration_reads_renders_and_real_training_photos_never_validation(quantised):
    card_path, result, read, real = quantised
    assert result.calibration_images == 10 and len(read) == 10
    assert not [p for p in read if "/images/val/" in p]
    assert sum("/images/train/" in p for p in read) == 4
    # every source of the training split takes part
    assert {Path(p).name.split("__")[0] for p in read if "/images/train/" in p} == {"shop", "office"}


def test_calibration_without_a_training_split_is_refused_not_taken_from_validation(tmp_path):
    real = _real_set(tmp_path / "real")
    shutil.rmtree(real / "images" / "train")
    with pytest.raises(ModelError, match="images/train"):
        quantize.calibration_images(None, real, 0, 10)


def test_a_quantised_backend_is_recorded_in_the_card_and_loads(quantised):
    card_path, result, _, _ = quantised
    card = read_card(card_path)
    spec = card.backends["onnx-int8"]
    assert spec.engine == "onnxruntime" and spec.precision == "int8" and spec.file == result.path.name
    assert spec.source_sha256 == card.onnx_sha256 and spec.made_with.startswith("python -m models.quantize")
    assert card.default_backend != "onnx-int8"  # only --default (a measured win) makes it the default
    frame = np.random.default_rng(2).integers(0, 255, (90, 160, 3), np.uint8)
    int8, fp32 = load_detector(str(card_path), backend="onnx-int8"), load_detector(str(card_path), backend="onnx")
    blob = _blob(frame, card)
    assert int8._forward(blob).shape == fp32._forward(blob).shape
    int8.detect(frame)


def _blob(frame, card):
    from models.inference import prepare

    return prepare(frame, card.detector_input)[0]


def test_a_changed_int8_file_is_refused(quantised, tmp_path):
    card_path, result, _, _ = quantised
    folder = tmp_path / "copy"
    shutil.copytree(card_path.parent, folder)
    with open(folder / result.path.name, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        load_detector(str(folder / "card.yaml"), backend="onnx-int8")


def test_an_int8_file_made_from_another_onnx_export_is_refused_as_stale(quantised, tmp_path):
    card_path, _, _, _ = quantised
    folder = tmp_path / "copy"
    shutil.copytree(card_path.parent, folder)
    import onnx

    from models.registry import sha256_of

    # a new export of the network (here: the same graph saved with another doc string), recorded in the card
    network = onnx.load(str(folder / "weights.onnx"))
    network.doc_string = "exported again"
    onnx.save(network, str(folder / "weights.onnx"))
    card = read_card(folder / "card.yaml")
    write_card(card.model_copy(update={"onnx_sha256": sha256_of(folder / "weights.onnx")}), folder / "card.yaml")
    with pytest.raises(ModelError, match="another ONNX export"):
        load_detector(str(folder / "card.yaml"), backend="onnx-int8")
    load_detector(str(folder / "card.yaml"), backend="onnx")  # the new export itself loads


def test_the_backend_variable_picks_what_auto_means(quantised, monkeypatch):
    card_path, _, _, _ = quantised
    monkeypatch.setenv(BACKEND_ENV, "onnx-int8")
    assert load_detector(str(card_path))._session._model_path.endswith("-int8.onnx")
    assert load_detector(str(card_path), backend="onnx")._session._model_path.endswith("weights.onnx")  # named wins
    monkeypatch.setenv(BACKEND_ENV, "no-such")
    with pytest.raises(ModelError, match=BACKEND_ENV):
        load_detector(str(card_path))


@needs_openvino
def test_openvino_runs_the_onnx_file_at_each_frame_shape_as_onnx_runtime_does(quantised, tmp_path):
    card_path, _, _, _ = quantised
    folder = tmp_path / "copy"
    shutil.copytree(card_path.parent, folder)
    quantize.add_openvino(str(folder / "card.yaml"), name="openvino", run="onnx")
    card = read_card(folder / "card.yaml")
    assert card.backends["openvino"].engine == "openvino" and card.backends["openvino"].sha256 == card.onnx_sha256
    openvino, onnx = (load_detector(str(folder / "card.yaml"), backend=b) for b in ("openvino", "onnx"))
    rng = np.random.default_rng(3)
    for shape in [(360, 640, 3), (300, 300, 3), (360, 640, 3)]:  # a compiled shape is kept and reused
        blob = _blob(rng.integers(0, 255, shape, np.uint8), card)
        np.testing.assert_allclose(openvino._forward(blob), onnx._forward(blob), atol=2e-3, rtol=1e-3)
    assert len(openvino._compiled) == 2


def test_an_openvino_backend_without_openvino_installed_says_which_package_is_missing(quantised, tmp_path,
                                                                                      monkeypatch):
    card_path, _, _, _ = quantised
    folder = tmp_path / "copy"
    shutil.copytree(card_path.parent, folder)
    quantize.add_openvino(str(folder / "card.yaml"), name="openvino-int8", run="onnx-int8")
    card = read_card(folder / "card.yaml")
    spec = card.backends["openvino-int8"]
    assert spec.precision == "int8" and spec.file == card.backends["onnx-int8"].file
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` fails as where it is not installed
    with pytest.raises(ModelError, match=r"desk-inspector\[openvino\]"):
        load_detector(str(folder / "card.yaml"), backend="openvino-int8")


# --- the bundled model's INT8 backend --------------------------------------------------------------

def _int8_backends() -> list[str]:
    """The bundled card's INT8 backends whose engine is installed (OpenVINO is an optional extra)."""
    card = read_card(resolve_card(DEFAULT_MODEL))
    return [name for name, spec in card.backends.items() if spec.precision == "int8" and spec.engine_installed]


CONFIDENT = 0.5  # boxes this sure on FP32 must be found by INT8 too; nearer the thresholds either may flip
BOX_TOLERANCE_PX = 4.0  # on 1280 x 720 photos INT8 moves a side by at most 2.2 px (ONNX Runtime and OpenVINO)


@pytest.mark.parametrize("backend", _int8_backends())
def test_the_bundled_int8_backend_finds_what_fp32_finds_on_the_example_photos(backend):
    fp32, int8 = load_detector(DEFAULT_MODEL, backend="onnx"), load_detector(DEFAULT_MODEL, backend=backend)
    for photo in EXAMPLE_PHOTOS:
        image = read_image_file(photo)
        a, b = fp32.detect(image), int8.detect(image)
        for sure, other, which in ((a, b, "FP32"), (b, a, "INT8")):
            for detection in (d for d in sure if d.confidence >= CONFIDENT):
                same = [d for d in other if d.class_name == detection.class_name]
                assert same, (photo.name, which, detection)
                sides = [float(np.abs(np.subtract(d.bbox_px, detection.bbox_px)).max()) for d in same]
                assert min(sides) <= BOX_TOLERANCE_PX, (photo.name, which, detection, min(sides))


def test_batch_and_serve_pass_their_backend_to_their_workers_through_the_environment(monkeypatch):
    from inspector.cli import _use_backend

    monkeypatch.setenv(BACKEND_ENV, "")  # recorded, so that the test leaves the variable as it found it
    monkeypatch.delenv(BACKEND_ENV)
    _use_backend("auto")
    assert BACKEND_ENV not in os.environ  # auto leaves a site's own choice alone
    _use_backend("onnx-int8")
    assert os.environ[BACKEND_ENV] == "onnx-int8"
