"""Models trained on the frames' own aspect (train --rect): a (height, width) network input, end to end."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
import yaml

from models.inference import letterbox, postprocess
from models.registry import load_detector, read_card, write_card
from models.training import export_onnx, rect_input_hw


def test_letterbox_into_a_16_9_input_fills_it_but_for_the_stride_padding():
    image = np.zeros((720, 1280, 3), np.uint8)
    blob, placement = letterbox(image, (384, 640))
    assert blob.shape == (1, 3, 384, 640)
    assert (placement.scale, placement.pad_x, placement.pad_y) == (0.5, 0, 12)
    # a 4:3 frame in the same input: padded left and right instead
    blob, placement = letterbox(np.zeros((960, 1280, 3), np.uint8), (384, 640))
    assert blob.shape == (1, 3, 384, 640) and (placement.scale, placement.pad_x, placement.pad_y) == (0.4, 64, 0)
    # a square size still means a square input
    assert letterbox(image, 320)[0].shape == (1, 3, 320, 320)


def test_boxes_map_back_through_a_rect_letterbox():
    _, placement = letterbox(np.zeros((720, 1280, 3), np.uint8), (384, 640))
    # one anchor: class 0 at input centre (320, 192), 100 x 50 input px
    output = np.zeros((1, 4 + 2, 1), np.float32)
    output[0, :, 0] = [320, 192, 100, 50, 0.9, 0.1]
    boxes, scores, classes = postprocess(output, placement, (1280, 720), 0.25)
    assert boxes[0] == pytest.approx([540, 310, 740, 410])
    assert classes[0] == 0 and scores[0] == pytest.approx(0.9)


def test_rect_input_follows_the_training_images_aspect(tmp_path):
    (tmp_path / "images" / "train").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "train" / "a.jpg"), np.zeros((360, 640, 3), np.uint8))
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"path": str(tmp_path), "train": "images/train", "val": "images/train",
                                    "names": {0: "cup"}}))
    assert rect_input_hw(data, 640) == (384, 640)
    assert rect_input_hw(data, 416) == (256, 416)  # 234 rounded up to the stride


def test_torch_and_onnx_agree_on_a_rect_input(tiny_model, tmp_path):
    folder = tmp_path / "tiny-rect"
    shutil.copytree(tiny_model.parent, folder)
    card_path = folder / "card.yaml"
    write_card(read_card(card_path).model_copy(update={"input_hw": (96, 160)}), card_path)
    export_onnx(str(card_path))
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "weights.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, 3, 96, 160]
    image = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    torch_detector, onnx_detector = (load_detector(str(card_path), backend=b) for b in ("torch", "onnx"))
    assert torch_detector.imgsz == onnx_detector.imgsz == (96, 160)
    blob, _ = letterbox(image, torch_detector.imgsz)
    out_torch, out_onnx = torch_detector._forward(blob), onnx_detector._forward(blob)
    # 96 x 160 input: (96/8 * 160/8) + (96/16 * 160/16) + (96/32 * 160/32) = 315 anchors
    assert out_torch.shape == out_onnx.shape == (1, 4 + 14, 315)
    assert np.allclose(out_torch, out_onnx, atol=1e-3)
    assert len(torch_detector.detect(image)) > 0 and len(onnx_detector.detect(image)) > 0


def test_an_input_scaled_to_a_new_long_side_keeps_the_aspect_rounded_up_to_the_stride():
    from models.inference import scaled_input_hw

    assert scaled_input_hw((384, 640), 800) == (480, 800)
    assert scaled_input_hw((384, 640), 960) == (576, 960)
    assert scaled_input_hw((96, 160), 224) == (160, 224)  # 134.4 rounded up
    assert scaled_input_hw((640, 480), 320) == (320, 256)  # a portrait input keeps its long side


def test_export_at_a_new_size_runs_both_backends_there_and_clears_the_old_metrics(tiny_model, tmp_path):
    folder = tmp_path / "tiny-rect"
    shutil.copytree(tiny_model.parent, folder)
    card_path = folder / "card.yaml"
    write_card(read_card(card_path).model_copy(update={"input_hw": (96, 160), "metrics": {"mAP50": 0.5}}), card_path)
    export_onnx(str(card_path), imgsz=224)
    card = read_card(card_path)
    assert (card.imgsz, card.input_hw, card.metrics) == (224, (160, 224), {})
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "weights.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, 3, 160, 224]
    assert load_detector(str(card_path), backend="torch").imgsz == (160, 224)
    from inspector.errors import ModelError

    with pytest.raises(ModelError, match="multiple of the network stride"):
        export_onnx(str(card_path), imgsz=300)
    assert read_card(card_path).imgsz == 224  # a refused size leaves the card as it was


def test_a_frame_aspect_model_runs_each_frame_at_its_own_shape_on_both_backends(tiny_model, tmp_path):
    folder = tmp_path / "tiny-frame"
    shutil.copytree(tiny_model.parent, folder)
    card_path = folder / "card.yaml"
    write_card(read_card(card_path).model_copy(update={"frame_aspect": True, "imgsz": 160}), card_path)
    export_onnx(str(card_path))
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "weights.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[2:] == ["height", "width"]
    frames = {"16:9": np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8),
              "square": np.random.default_rng(1).integers(0, 255, (300, 300, 3), dtype=np.uint8)}
    torch_detector = load_detector(str(card_path), backend="torch")  # the untrained net at the card's 1e-9
    onnx_detector = load_detector(str(card_path), backend="onnx")
    assert torch_detector.imgsz == onnx_detector.imgsz == 160
    from models.inference import scaled_input_hw

    for name, frame in frames.items():  # the same network output at (96, 160) and at (160, 160)
        input_hw = scaled_input_hw(frame.shape[:2], 160)
        assert input_hw == {"16:9": (96, 160), "square": (160, 160)}[name]
        blob, _ = letterbox(frame, input_hw)
        a, b = torch_detector._forward(blob), onnx_detector._forward(blob)
        assert a.shape == b.shape == (1, 4 + 14, (input_hw[0] * input_hw[1]) // 64 * 21 // 16)
        np.testing.assert_allclose(a, b, atol=1e-3, rtol=1e-3)
        assert torch_detector.detect(frame) and onnx_detector.detect(frame)
