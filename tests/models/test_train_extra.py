"""The runtime install (`pip install desk-inspector`, no PyTorch): inspect, batch and serve must run on
ONNX Runtime alone, and a path that needs the training extra must say so. Each check runs in a
subprocess where torch, ultralytics and the rest of the [train] extra cannot be imported."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "front-counter"

# what `pip install desk-inspector[train]` adds and the runtime must do without
TRAIN_ONLY = ("torch", "torchvision", "ultralytics", "onnx", "matplotlib", "scipy")

BLOCKER = textwrap.dedent(
    f"""
    import sys

    class _NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {TRAIN_ONLY!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}} (the runtime install leaves it out)")
            return None

    sys.meta_path.insert(0, _NotInstalled())
    """
)


@pytest.fixture
def runtime_env(tmp_path) -> dict[str, str]:
    """Environment of a process that behaves as a runtime install: the blocker loads at start-up."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["HOME"] = str(tmp_path)  # nothing of ultralytics' settings either
    return env


def _cli(env: dict[str, str], *args) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "import sys; from inspector.cli import app; sys.argv[0] = 'desk-inspector'; app()"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)


def _python(env: dict[str, str], script: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=REPO, env=env)


def test_the_blocker_works(runtime_env):
    result = _python(runtime_env, "import torch")
    assert result.returncode != 0 and "runtime install leaves it out" in result.stderr


def test_inspect_runs_the_bundled_model_without_pytorch(runtime_env, tmp_path):
    out = tmp_path / "out"
    result = _cli(runtime_env, "inspect", EXAMPLE / "photos", "-c", REPO / "calibration/cameras/window-01.yaml",
                  "-s", REPO / "rules/standards/front-counter.yaml", "-o", out)
    assert result.returncode == 1, result.stdout + result.stderr  # violations found, nothing failed
    assert "0 could not be inspected" in result.stdout, result.stdout
    verdicts = {}
    for path in out.glob("*.report.json"):
        report = json.loads(path.read_text())
        assert report["model"]["name"] == "desk-yolov8n-coco"
        verdicts[path.name.split("_")[1][:16]] = (report["verdict"], {v["rule"] for v in report["violations"]})
    _assert_example_verdicts(verdicts)
    assert (out / "window-01_2026-11-20T10-15-00.annotated.jpg").is_file()


def _assert_example_verdicts(verdicts: dict[str, tuple[str, set[str]]]) -> None:
    """The example's scenarios (examples/front-counter/truth) as the bundled model judges them."""
    assert set(verdicts) == {"2026-11-20T08-30", "2026-11-20T10-15", "2026-11-20T13-45", "2026-11-20T16-20"}
    assert verdicts["2026-11-20T08-30"] == ("check", set())  # compliant; the monitor is within its uncertainty
    assert verdicts["2026-11-20T10-15"][0] == "fail"
    assert {"front-margin", "pass-through-clear"} <= verdicts["2026-11-20T10-15"][1]
    assert verdicts["2026-11-20T13-45"][0] == "fail"
    assert {"only-listed-items", "name-plate-shown"} <= verdicts["2026-11-20T13-45"][1]
    assert verdicts["2026-11-20T16-20"] == ("fail", {"monitor-in-place"})


def test_batch_runs_the_bundled_model_without_pytorch(runtime_env, tmp_path):
    site = yaml.safe_load((REPO / "examples/site/front-counter.yaml").read_text(encoding="utf-8"))
    site["defaults"]["standard"] = str(REPO / "rules/standards/front-counter.yaml")
    camera = site["halls"][0]["cameras"][0]
    camera["calibration"] = str(REPO / "calibration/cameras/window-01.yaml")
    camera["snapshots"] = str(EXAMPLE / "photos" / "window-01_*.jpg")
    del camera["detections"]  # the detector this time: the bundled model, as a real site runs
    camera["model"] = "desk-yolov8n-coco"
    site["snapshot_roots"][0]["folder"] = str(EXAMPLE / "photos")
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    result = _cli(runtime_env, "batch", tmp_path / "site.yaml", "-o", out, "--workers", 2, "--no-progress",
                  "--db", f"sqlite:///{tmp_path / 'history.db'}")
    assert result.returncode == 1, result.stdout + result.stderr  # violations found, nothing failed
    assert "0 could not be inspected" in result.stdout, result.stdout
    with (out / "snapshots.csv").open(encoding="utf-8") as rows:
        verdicts = {Path(row["image"]).stem.split("_")[1][:16]: (row["verdict"], set(filter(None, row["rules_failed"].split(";"))))
                    for row in csv.DictReader(rows)}
    _assert_example_verdicts(verdicts)


def test_the_service_loads_and_judges_without_pytorch(runtime_env, tmp_path):
    script = """
        import sys
        from pathlib import Path

        from fastapi.testclient import TestClient

        import service.main
        from service.config import Settings
        from service.state import ServiceState

        data, repo = Path(sys.argv[1]), Path(sys.argv[2])
        settings = Settings(data_dir=data, cameras_dir=repo / "calibration/cameras", api_keys=["runtime-key-0123456789"],
                            database_url=f"sqlite:///{data / 'history.db'}", model="auto")
        state = ServiceState.load(settings)
        # with PyTorch out of reach, a loaded model is the card's ONNX file on ONNX Runtime
        assert state.detector is not None and "desk-yolov8n-coco" in state.model_note, state.model_note
        app = service.main.create_app(settings, state)
        photo = repo / "examples/front-counter/photos/window-01_2026-11-20T10-15-00.jpg"
        with TestClient(app) as client:
            assert client.get("/api/v1/health").status_code == 200
            response = client.post("/api/v1/inspections", data={"camera_id": "window-01"},
                                   files={"image": (photo.name, photo.read_bytes(), "image/jpeg")},
                                   headers={"X-API-Key": "runtime-key-0123456789"})
        assert response.status_code == 201, response.text
        body = response.json()
        print("verdict", body["report"]["verdict"] if "report" in body else body["verdict"])
    """
    result = _python(runtime_env, script, tmp_path / "data", REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict fail" in result.stdout, result.stdout


def test_the_cli_commands_of_the_runtime_load(runtime_env):
    for command in (["serve", "--help"], ["batch", "--help"], ["calibrate", "--help"], ["models"]):
        result = _cli(runtime_env, *command)
        assert result.returncode == 0, (command, result.stdout + result.stderr)


def test_a_pytorch_path_names_the_training_extra(runtime_env, tmp_path):
    result = _cli(runtime_env, "inspect", EXAMPLE / "photos", "-c", REPO / "calibration/cameras/window-01.yaml",
                  "-s", REPO / "rules/standards/front-counter.yaml", "--backend", "torch", "-o", tmp_path / "out")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install 'desk-inspector[train]'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_runtime_dependencies_leave_the_training_extra_out():
    import re
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower() for requirement in project["dependencies"]}
    assert not runtime & {"torch", "torchvision", "ultralytics", "onnx", "matplotlib", "scipy"}, runtime
    assert "onnxruntime" in runtime
    extras = project["optional-dependencies"]
    assert any(requirement.startswith("ultralytics") for requirement in extras["train"])
    assert "desk-inspector[train]" in extras["test"]  # the quick start's install trains and exports in the tests
