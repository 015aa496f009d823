"""Training on partially labelled photos: each public photo set labels only its own classes, so a
mug in a pen photo carries no box. Plain YOLO training would learn from it that mugs are background.

Here a source (file-name prefix `<source>__`, data.yaml `labelled_classes`) teaches "not an item"
only for the classes it labels: the classification loss of every other class is left out on its
images, except where the image does have a box of that class (a pseudo-label or a pasted item),
which still teaches it. Mosaic tiles an image only with images of the same source, so one mask
holds for the whole mosaic. Everything else is ultralytics' own detection training.

This module imports ultralytics at import time; `models.training` imports it only to train.
"""

from __future__ import annotations

import random
from copy import deepcopy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from ultralytics.data.augment import Mosaic
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils.loss import v8DetectionLoss

from models.evaluation import source_of


class _MaskedBCE(torch.nn.Module):
    """BCE with logits, elementwise, zeroed where a class is not labelled for that image and the
    image has no box of it at that anchor. `labelled` (batch, 1, classes) is set per batch."""

    def __init__(self):
        super().__init__()
        self.labelled: torch.Tensor | None = None

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        if self.labelled is None:
            return loss
        return loss * (self.labelled | (targets > 0)).to(loss.dtype)


class PartialLabelLoss(v8DetectionLoss):
    def __init__(self, model, labelled_by_source: dict[str, np.ndarray]):
        super().__init__(model)
        self.bce = _MaskedBCE()
        self.labelled_by_source = {source: torch.as_tensor(mask, dtype=torch.bool)
                                   for source, mask in labelled_by_source.items()}
        self.everything = torch.ones(self.nc, dtype=torch.bool)

    def __call__(self, preds, batch):
        masks = [self.labelled_by_source.get(source_of(Path(name)), self.everything) for name in batch["im_file"]]
        self.bce.labelled = torch.stack(masks)[:, None, :].to(self.device)
        return super().__call__(preds, batch)


class SameSourceMosaic(Mosaic):
    """Mosaic whose other tiles come from the main image's own source (see the module docstring)."""

    groups: dict[str, list[int]]
    _source: str = ""

    def get_params(self, labels):
        self._source = source_of(Path(labels["im_file"]))
        return super().get_params(labels)

    def get_indexes(self):
        return random.choices(self.groups[self._source], k=self.n - 1)


def _same_source_mosaic(transform, groups: dict[str, list[int]]) -> None:
    """Turn every Mosaic inside a (nested) Compose into a SameSourceMosaic."""
    for inner in getattr(transform, "transforms", []):
        if isinstance(inner, Mosaic):
            inner.__class__ = SameSourceMosaic
            inner.groups = groups
        else:
            _same_source_mosaic(inner, groups)


class PartialLabelTrainer(DetectionTrainer):
    """ultralytics' DetectionTrainer with partial labels from data.yaml `labelled_classes`, and which
    trains the very network it is given when its classes match the data (a COCO-started head is
    wider than the yaml's own and would be rebuilt, and its COCO knowledge lost, otherwise)."""

    def _labelled_by_source(self) -> dict[str, np.ndarray]:
        names = [self.data["names"][i] for i in range(self.data["nc"])]
        return {source: np.array([name in labelled for name in names])
                for source, labelled in (self.data.get("labelled_classes") or {}).items()}

    def get_model(self, cfg=None, weights=None, verbose=True):
        if isinstance(weights, torch.nn.Module) and getattr(weights.model[-1], "nc", None) == self.data["nc"]:
            model = deepcopy(weights).float()
            model.names = dict(self.data["names"])
            return model
        return super().get_model(cfg=cfg, weights=weights, verbose=verbose)

    def set_model_attributes(self):
        super().set_model_attributes()
        self.model.criterion = PartialLabelLoss(self.model, self._labelled_by_source())

    def read_results_csv(self):
        """results.csv as {column: [values]}, read with the standard library: ultralytics reads it with
        polars, which the accelerator's image lacks (models/device/train.sh)."""
        import csv

        try:
            with open(self.csv, newline="") as handle:
                rows = list(csv.DictReader(handle))
        except OSError:
            return {}
        table: dict[str, list] = {}
        for row in rows:
            for key, value in row.items():
                try:
                    table.setdefault(key.strip(), []).append(float(value))
                except (TypeError, ValueError):
                    table.setdefault(key.strip(), []).append(value)
        return table

    def build_dataset(self, img_path, mode="train", batch=None):
        dataset = super().build_dataset(img_path, mode, batch)
        if mode == "train":
            groups: dict[str, list[int]] = {}
            for index, name in enumerate(dataset.im_files):
                groups.setdefault(source_of(Path(name)), []).append(index)
            _same_source_mosaic(dataset.transforms, groups)
        return dataset
