"""The COCO start: pairing TFLite convolutions with PyTorch ones, restoring BatchNorm without
changing the network, a head for our items started from COCO's rows, and, where the shared TFLite
file and ai-edge-litert are here, the bundled float checkpoint agreeing with the LiteRT interpreter."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inspector.classes import CANONICAL_CLASSES
from inspector.errors import ModelError
from models.coco_start import (COCO_TO_ITEM, IMGSZ, TfliteConv, _restore_batchnorm, item_start, pair_convs,
                               tflite_outputs, torch_outputs)
from models.registry import read_card, resolve_card, sha256_of

SHARED = Path(__file__).resolve().parents[3] / "shared"
TFLITE = SHARED / "models" / "yolov8n-coco-int8" / "yolov8n_int8.tflite"
REAL = SHARED / "data" / "real-desk" / "images" / "val"


def _conv(out_ch, in_ch, k, hw, value=0.0):
    return TfliteConv(np.full((out_ch, in_ch, k, k), value, np.float32), np.zeros(out_ch, np.float32), hw)


def test_convolutions_of_one_shape_and_size_pair_in_execution_order():
    torch_convs = [("a", torch.nn.Conv2d(3, 8, 3), (4, 4)), ("b", torch.nn.Conv2d(8, 8, 3), (4, 4)),
                   ("c", torch.nn.Conv2d(8, 8, 3), (4, 4)), ("d", torch.nn.Conv2d(8, 8, 3), (2, 2))]
    # the TFLite graph lists the 2x2 one first (another branch), then the two 4x4 twins in order
    tflite = [_conv(8, 8, 3, (2, 2), 4.0), _conv(8, 3, 3, (4, 4), 1.0), _conv(8, 8, 3, (4, 4), 2.0),
              _conv(8, 8, 3, (4, 4), 3.0)]
    pairs = pair_convs(tflite, torch_convs)
    assert [(name, float(source.weight.flat[0])) for name, _, source in pairs] == [
        ("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)]


def test_graphs_that_do_not_pair_one_to_one_are_refused():
    torch_convs = [("a", torch.nn.Conv2d(3, 8, 3), (4, 4))]
    with pytest.raises(ModelError, match="not a YOLOv8n export"):
        pair_convs([], torch_convs)
    with pytest.raises(ModelError, match="no TFLite convolution"):
        pair_convs([_conv(8, 3, 3, (2, 2))], torch_convs)


def test_restored_batchnorm_keeps_the_folded_network_and_holds_real_statistics():
    from ultralytics.nn.modules import Conv

    torch.manual_seed(0)
    block = Conv(3, 4, 3).eval()
    folded_bias = torch.tensor([0.5, -1.0, 0.0, 2.0])
    with torch.no_grad():  # BN as "add the folded bias", as build_float_model leaves it
        block.bn.running_mean.zero_(); block.bn.running_var.fill_(1.0)
        block.bn.weight.fill_(math.sqrt(1.0 + block.bn.eps)); block.bn.bias.copy_(folded_bias)
    images = [np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8) for i in range(3)]
    x = torch.rand(1, 3, 16, 16)
    before = block(x)

    class Wrapper(torch.nn.Module):  # what _restore_batchnorm feeds: letterboxed 640 blobs
        def forward(self, blob):
            return block(blob)

    _restore_batchnorm(Wrapper(), [(block.conv, block.bn, folded_bias)], images)
    torch.testing.assert_close(block(x), before, atol=1e-4, rtol=1e-4)
    from models.inference import letterbox

    with torch.no_grad():
        raw = torch.cat([block.conv(torch.from_numpy(letterbox(im, IMGSZ)[0])) for im in images])
    torch.testing.assert_close(block.bn.running_mean, raw.mean(dim=(0, 2, 3)), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(block.bn.running_var, raw.var(dim=(0, 2, 3), unbiased=False), atol=1e-4, rtol=1e-3)


def test_item_head_starts_from_cocos_matching_rows():
    from ultralytics.nn.modules import Detect

    card = read_card(resolve_card("coco-yolov8n"))
    from ultralytics.nn.tasks import load_checkpoint

    coco, _ = load_checkpoint(str(resolve_card("coco-yolov8n").parent / card.weights))
    start = item_start(coco, card.classes, card.class_map, list(CANONICAL_CLASSES))
    head, coco_head = start.model[-1], coco.model[-1]
    assert isinstance(head, Detect) and head.nc == 14 and head.no == 14 + 64
    for level in range(3):
        new, old = head.cv3[level][-1], coco_head.cv3[level][-1]
        assert new.out_channels == 14 and new.in_channels == old.in_channels == 80  # COCO's branch width kept
        cup = card.classes.index("cup")
        torch.testing.assert_close(new.weight[CANONICAL_CLASSES.index("cup")], old.weight[cup])
        bags = [card.classes.index(name) for name in ("handbag", "backpack", "suitcase")]
        torch.testing.assert_close(new.bias[CANONICAL_CLASSES.index("bag")], old.bias[bags].mean())
        prior = math.log(5 / 14 / (640 / float(coco_head.stride[level])) ** 2)
        assert float(new.bias[CANONICAL_CLASSES.index("pen")].detach()) == pytest.approx(prior)
    output = start.eval()(torch.zeros(1, 3, 160, 160))
    output = output[0] if isinstance(output, (list, tuple)) else output
    assert output.shape[1] == 4 + 14


def test_the_bridge_card_maps_cocos_classes_and_names_its_source():
    card = read_card(resolve_card("coco-yolov8n"))
    assert card.drop_unmapped and len(card.classes) == 80 and not card.synthetic_only
    assert card.class_map == {coco: item for coco, item in COCO_TO_ITEM.items()}
    assert card.item_ids == ["bag", "bottle", "cup", "food", "monitor", "mouse", "keyboard", "mobile_phone", "brochure"]
    assert "AGPL-3.0" in card.training["licence"]
    assert card.training["source"]["sha256"] == "be21c7fcabb121b26b75a33d6662556e364d1881079b945e0c1425d46595e9e1"


@pytest.mark.skipif(not TFLITE.is_file() or not REAL.is_dir(), reason="needs ../shared (the TFLite file and real photos)")
def test_the_bundled_float_checkpoint_agrees_with_the_litert_interpreter():
    pytest.importorskip("ai_edge_litert", reason="needs ai-edge-litert (pip install ai-edge-litert)")
    assert sha256_of(TFLITE) == read_card(resolve_card("coco-yolov8n")).training["source"]["sha256"]
    from ultralytics.nn.tasks import load_checkpoint

    model, _ = load_checkpoint(str(resolve_card("coco-yolov8n").parent / "weights.pt"))
    photos = sorted(REAL.glob("*.jpg"))
    for photo in (photos[0], photos[len(photos) // 2], photos[-1]):
        image = cv2.imread(str(photo))
        reference, ours = tflite_outputs(TFLITE, image), torch_outputs(model, image)
        assert reference.shape == ours.shape == (84, 8400)
        assert np.corrcoef(reference[4:].ravel(), ours[4:].ravel())[0, 1] > 0.99
        confident = reference[4:].max(axis=0) > 0.25
        if confident.any():  # the same objects in the same places, to a few pixels of int8 rounding
            assert np.abs(reference[:4, confident] - ours[:4, confident]).max() < 16
            assert (ours[4:, confident].argmax(axis=0) == reference[4:, confident].argmax(axis=0)).mean() > 0.9


@pytest.mark.skipif(not TFLITE.is_file() or not REAL.is_dir(), reason="needs ../shared (the TFLite file and real photos)")
def test_converting_the_shared_file_again_gives_the_bundled_checkpoint_bit_for_bit(tmp_path):
    pytest.importorskip("ai_edge_litert", reason="needs ai-edge-litert (pip install ai-edge-litert)")
    from models.coco_start import make_coco_start

    card_path = make_coco_start(TFLITE, REAL.parent / "train", registry=tmp_path)
    assert read_card(card_path).sha256 == read_card(resolve_card("coco-yolov8n")).sha256
