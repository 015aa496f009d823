"""The training mix: pasted items land with exact boxes and never hide a labelled item, CCTV
finishing keeps the frame, and a mix of two partially labelled sources and renders says which
classes each source labels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from models.mix import Cutout, MixSettings, build_mix, cctv_finish, cut_out, paste, pseudo_labels
from models.evaluation import LabelledImage
from inspector.records import Detection


def _cutout(width=20, height=10):
    pixels = np.full((height + 4, width + 4, 3), 200, np.uint8)
    return Cutout(3, pixels, np.ones(pixels.shape[:2], np.float32), (2.0, 2.0, 2.0 + width, 2.0 + height), "pens")


def test_a_pasted_item_gets_its_exact_box_at_the_asked_size():
    background = np.zeros((100, 200, 3), np.uint8)
    image, boxes, classes = paste(background, np.zeros((0, 4)), np.zeros(0, int), _cutout(), 40.0,
                                  np.random.default_rng(0))
    x1, y1, x2, y2 = boxes[-1]
    assert (x2 - x1, y2 - y1) == pytest.approx((40.0, 20.0)) and classes.tolist() == [3]
    inside = image[int(np.ceil(y1)):int(y2), int(np.ceil(x1)):int(x2)]
    assert inside.size and (inside > 0).all()  # the item is where its box says
    assert image.shape == background.shape and not background.any()  # the background is not edited


def test_an_item_never_hides_a_third_of_a_labelled_one():
    background = np.zeros((30, 30, 3), np.uint8)
    labelled = np.array([[5.0, 5.0, 25.0, 25.0]])  # a 24 x 14 cut-out hides >= 19 x 9 of it wherever it goes
    assert paste(background, labelled, np.array([1]), _cutout(), 20.0, np.random.default_rng(0)) is None


def test_cut_outs_skip_tiny_boxes_and_follow_the_item():
    image = np.full((120, 120, 3), 230, np.uint8)
    cv2.rectangle(image, (40, 50), (80, 70), (20, 20, 20), -1)  # a dark item on a light desk
    assert cut_out(image, np.array([10, 10, 20, 20.0]), 3, "x") is None  # 10 px: too small
    cutout = cut_out(image, np.array([40, 50, 80, 70.0]), 3, "x")
    assert cutout.pixels.shape[:2] == cutout.alpha.shape and cutout.class_id == 3
    x1, y1, x2, y2 = (int(v) for v in cutout.box)
    assert cutout.alpha[(y1 + y2) // 2, (x1 + x2) // 2] > 0.9 and cutout.alpha[0, 0] < 0.5


def test_cctv_finishing_keeps_the_frame_and_changes_its_pixels():
    image = np.random.default_rng(1).integers(0, 255, (90, 160, 3), dtype=np.uint8)
    finished = cctv_finish(image, np.random.default_rng(2))
    assert finished.shape == image.shape and finished.dtype == np.uint8
    assert np.abs(finished.astype(int) - image).mean() > 1


def test_pseudo_labels_add_unlabelled_classes_away_from_labelled_items():
    class Scripted:
        def detect(self, image):
            return (Detection("cup", 0.9, (60.0, 60.0, 80.0, 80.0)),  # a mug nobody labelled
                    Detection("cup", 0.9, (0.0, 0.0, 20.0, 20.0)),  # on the labelled pen: misnamed
                    Detection("pen", 0.9, (30.0, 30.0, 50.0, 50.0)),  # a labelled class: the labels rule
                    Detection("bottle", 0.3, (30.0, 60.0, 40.0, 80.0)))  # unsure
    truth = LabelledImage(None, np.array([[0.0, 0.0, 20.0, 20.0]]), np.array([3]))
    labelled = np.zeros(14, bool)
    labelled[3] = True
    boxes, classes = pseudo_labels(Scripted(), None, truth, labelled, 0.5)
    assert boxes.tolist() == [[60.0, 60.0, 80.0, 80.0]] and classes.tolist() == [0]


def _photo_set(root):
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, names in (("train", ["pens__a", "pens__b", "screens__c"]), ("val", ["pens__v"])):
        for name in names:
            cv2.imwrite(str(root / "images" / split / f"{name}.jpg"), rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
            line = "3 0.5 0.5 0.4 0.3\n" if name.startswith("pens") else "1 0.5 0.5 0.5 0.5\n"
            (root / "labels" / split / f"{name}.txt").write_text(line)


def test_a_mix_of_partial_photo_sets_and_renders_names_what_each_source_labels(tmp_path):
    from models.synth.dataset import DatasetSettings, write_dataset

    _photo_set(tmp_path / "real")
    write_dataset(tmp_path / "synth", 2, DatasetSettings(seed=3, imgsz=160, val_fraction=0.0))
    settings = MixSettings(composites_on_renders=3, composites_on_photos=2, pseudo_label_confidence=None)
    summary = build_mix(tmp_path / "real", tmp_path / "synth", tmp_path / "mix", settings)
    spec = yaml.safe_load((tmp_path / "mix" / "data.yaml").read_text())
    assert spec["labelled_classes"]["pens"] == ["pen"] and spec["labelled_classes"]["screens"] == ["monitor"]
    assert "synth" not in spec["labelled_classes"]  # renders label everything
    # a composite on a pen photo labels pens and whatever was pasted (pens and monitors here)
    assert spec["labelled_classes"].get("paste-pens", ["monitor", "pen"]) == ["monitor", "pen"]
    train = sorted(p.name for p in (tmp_path / "mix" / "images" / "train").iterdir())
    assert {"pens__a.jpg", "pens__b.jpg", "screens__c.jpg"} <= set(train)
    assert sum(name.startswith("synth__") for name in train) == 2
    assert sum(name.startswith("paste-") for name in train) == summary["images"]["train"] - 5
    assert [p.name for p in (tmp_path / "mix" / "images" / "val").iterdir()] == ["pens__v.jpg"]
    assert (tmp_path / "mix" / "images" / "val" / "pens__v.jpg").is_symlink()  # real photos linked, not copied
    for label in (tmp_path / "mix" / "labels" / "train").iterdir():
        for line in label.read_text().splitlines():
            c, *box = line.split()
            assert 0 <= int(c) < 14 and all(0 <= float(v) <= 1 for v in box)
