"""The accelerator script, dry-run on this CPU with tiny settings: renders generated, the mix built
from real-looking photos of two partially labelled sources, a COCO-started model trained, exported
and left, with its card, in OUT. (On the device the same script runs at full size.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.registry import read_card

from .test_mix import _photo_set

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_device_script_runs_end_to_end_on_the_cpu(tmp_path):
    _photo_set(tmp_path / "real")
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "REAL": str(tmp_path / "real"), "RENDERS": "6",
           "EPOCHS": "1", "IMGSZ": "64", "BATCH": "4", "HOURS": "0.05", "WORK": str(tmp_path / "work"),
           "PYTHON": sys.executable, "NAME": "dry-run"}
    result = subprocess.run(["bash", str(ROOT / "models" / "device" / "train.sh")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["card.yaml", "mix.json", "train.log", "weights.onnx", "weights.pt"]
    card = read_card(out / "card.yaml")
    assert card.name == "dry-run" and card.training["base"] == "coco" and card.onnx == "weights.onnx"
    assert card.frame_aspect and len(card.classes) == 14
    assert not (ROOT / "models" / "registry" / "dry-run").exists()  # the checkout's registry is untouched


def test_the_device_script_says_when_the_real_photos_are_missing(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "out"), "REAL": str(tmp_path / "none"), "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(ROOT / "models" / "device" / "train.sh")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no real photos" in result.stderr
