"""The train command for real: one short epoch from the model yaml on a few rendered desks, on the
CPU, writing weights and a card into a registry; then resuming a finished run says so."""

from __future__ import annotations

import pytest
import torch

from inspector.errors import ModelError
from models.registry import load_detector, read_card
from models.synth.dataset import DatasetSettings, write_dataset
from models.training import train


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("desks")
    write_dataset(folder, 6, DatasetSettings(seed=5, imgsz=128, val_fraction=0.34))
    return folder


def test_one_epoch_from_yaml_registers_a_loadable_model_using_every_core(rendered, tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    card_path = train(data=rendered / "data.yaml", name="tiny-trained", base="yolov8n.yaml", imgsz=64, epochs=1,
                      batch=4, workers=0, runs_dir=tmp_path / "runs", registry=tmp_path / "registry", cache=False,
                      version="0.0.9")
    # ultralytics alone would have left cores - 1 threads (one, on a 2-core machine)
    assert torch.get_num_threads() == 2
    card = read_card(card_path)
    assert card.name == "tiny-trained" and card.version == "0.0.9" and card.imgsz == 64
    assert card.training["base"] == "yolov8n.yaml" and card.training["epochs"] == 1
    assert (tmp_path / "runs" / "tiny-trained" / "weights" / "last.pt").is_file()
    detector = load_detector(str(card_path), confidence=0.01)
    assert detector.ref.version == "0.0.9" and detector.class_ids[0] == "cup"


def test_resume_without_a_checkpoint_names_the_run_folder(tmp_path):
    with pytest.raises(ModelError, match="nothing to resume") as error:
        train(data=tmp_path / "data.yaml", name="never-ran", resume=True, runs_dir=tmp_path / "runs",
              registry=tmp_path / "registry")
    assert "never-ran" in str(error.value)
