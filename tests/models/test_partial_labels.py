"""Partial labels in training: the classification loss of a class an image's source does not label
is left out, except where the image has a box of it; mosaic tiles come from the image's own source."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models.partial_labels import PartialLabelLoss, SameSourceMosaic, _MaskedBCE, _same_source_mosaic


def test_unlabelled_classes_teach_nothing_where_the_image_has_no_box_of_them():
    bce = _MaskedBCE()
    logits = torch.tensor([[[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]]])  # 1 image, 2 anchors, 3 classes
    targets = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.8]]])  # a box of class 2 at anchor 1
    full = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    torch.testing.assert_close(bce(logits, targets), full)  # no mask: plain BCE
    bce.labelled = torch.tensor([[[True, False, False]]])  # the source labels class 0 only
    masked = bce(logits, targets)
    torch.testing.assert_close(masked[0, :, 0], full[0, :, 0])  # labelled: every anchor counts
    assert masked[0, 0, 1] == 0 and masked[0, 1, 1] == 0  # never boxed: nothing
    assert masked[0, 0, 2] == 0 and masked[0, 1, 2] == full[0, 1, 2]  # its one box still teaches it


def test_the_loss_takes_each_images_mask_from_its_file_name():
    from ultralytics.nn.tasks import DetectionModel

    model = DetectionModel("yolov8n.yaml", nc=3, verbose=False)
    from ultralytics.cfg import get_cfg

    model.args = get_cfg()
    loss = PartialLabelLoss(model, {"pens": np.array([False, False, True])})
    images = torch.zeros(2, 3, 64, 64)
    preds = model.train()(images)
    batch = {"im_file": ["/x/images/train/pens__a.jpg", "/x/images/train/synth__b.jpg"],
             "batch_idx": torch.zeros(0), "cls": torch.zeros(0, 1), "bboxes": torch.zeros(0, 4)}
    loss(preds, batch)
    assert loss.bce.labelled[:, 0].tolist() == [[False, False, True], [True, True, True]]


def test_mosaic_tiles_come_from_the_main_images_source(monkeypatch):
    files = ["a__1.jpg", "b__1.jpg", "a__2.jpg", "b__2.jpg", "a__3.jpg"]
    asked = []

    class Dataset:
        cache = "ram"
        im_files = files

        def get_image_and_label(self, index):
            asked.append(index)
            return {"im_file": files[index]}

    from ultralytics.data.augment import Compose, Mosaic

    mosaic = Mosaic(Dataset(), imgsz=64, p=1.0, n=4)
    pipeline = Compose([Compose([mosaic])])
    _same_source_mosaic(pipeline, {"a": [0, 2, 4], "b": [1, 3]})
    assert isinstance(mosaic, SameSourceMosaic)
    # the tiling itself is ultralytics'; here only which images it is asked to tile
    monkeypatch.setattr(Mosaic, "get_params", lambda self, labels: [self.dataset.get_image_and_label(i)
                                                                     for i in self.get_indexes()])
    for main, allowed in (("/data/images/train/a__9.jpg", {0, 2, 4}), ("/data/images/train/b__9.jpg", {1, 3})):
        asked.clear()
        for _ in range(10):  # the tiles a mosaic of `main` is made of
            mosaic.get_params({"im_file": main})
        assert len(asked) == 30 and set(asked) <= allowed
