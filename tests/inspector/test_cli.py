import json
import shutil
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from inspector.cli import app

from .conftest import COMPLIANT_DESK, STANDARD

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_compliant_photo_exits_0_and_writes_outputs(tmp_path, camera_file, write_scene, simple_standard_file):
    image, detections = write_scene("ok", COMPLIANT_DESK)
    result = _run("inspect", image, "-c", camera_file, "-s", simple_standard_file, "--detections", detections,
                  "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    report = json.loads((tmp_path / "out" / "ok.report.json").read_text())
    assert report["compliant"] is True and report["camera"] == "window-test"
    assert (tmp_path / "out" / "ok.annotated.jpg").stat().st_size > 10_000
    assert (tmp_path / "out" / "ok.deskmap.png").stat().st_size > 10_000


def test_a_photo_to_check_by_eye_exits_1_and_says_why(tmp_path, camera_file, write_scene):
    image, detections = write_scene("ok", COMPLIANT_DESK)
    result = _run("inspect", image, "-c", camera_file, "-s", STANDARD, "--detections", detections, "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert "CHECK ok.jpg" in result.output and "monitor-in-place" in result.output and "±" in result.output
    assert "1 to check by eye" in result.output and "0 with violations" in result.output
    report = json.loads((tmp_path / "out" / "ok.report.json").read_text())
    assert report["verdict"] == "check" and report["compliant"] is False and report["conditional_passes"]


def test_violation_exits_1_with_measured_value(tmp_path, camera_file, write_scene):
    image, detections = write_scene("cup", [s for s in COMPLIANT_DESK if s[0] != "cup"] + [("cup", (149, 6), (8, 8, 10))])
    result = _run("inspect", image, "-c", camera_file, "-s", STANDARD, "--detections", detections, "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "front-margin" in result.output and "2.0 cm" in result.output


def test_bad_image_in_a_folder_is_reported_and_the_others_inspected(tmp_path, camera_file, write_scene,
                                                                   simple_standard_file):
    write_scene("a", COMPLIANT_DESK)
    write_scene("b", COMPLIANT_DESK)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (tmp_path / "detections" / "broken.json").write_text("[]")
    result = _run("inspect", tmp_path, "-c", camera_file, "-s", simple_standard_file, "--detections", tmp_path / "detections",
                  "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "broken.jpg" in result.output
    assert (tmp_path / "out" / "a.report.json").exists() and (tmp_path / "out" / "b.report.json").exists()
    assert "2 compliant" in result.output and "1 could not be inspected" in result.output


def test_wrong_size_image_and_outside_box_are_clear_errors(tmp_path, camera_file, write_scene):
    image, detections = write_scene("small", COMPLIANT_DESK, size=(640, 360))
    result = _run("inspect", image, "-c", camera_file, "-s", STANDARD, "--detections", detections, "-o", tmp_path)
    assert result.exit_code == 2 and "640x360" in result.output
    image, detections = write_scene("outside", COMPLIANT_DESK)
    detections.write_text(json.dumps([{"class": "cup", "confidence": 0.9, "bbox_px": [1200, 10, 1400, 80]}]))
    result = _run("inspect", image, "-c", camera_file, "-s", STANDARD, "--detections", detections, "-o", tmp_path)
    assert result.exit_code == 2 and "outside the 1280x720 image" in result.output


@pytest.mark.parametrize("target, change, message", [
    ("camera", {"image_size": "wide"}, "image_size"),
    ("standard", {"rules": [{"id": "m", "kind": "edge_margin", "min_cm": 5, "classes": ["spaceship"]}]}, "spaceship"),
])
def test_bad_camera_or_standard_exit_2_naming_file_and_field(tmp_path, camera_file, write_scene, target, change, message):
    image, detections = write_scene("x", COMPLIANT_DESK)
    source = camera_file if target == "camera" else STANDARD
    data = yaml.safe_load(open(source))
    data.update(change)
    bad = tmp_path / f"bad-{target}.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    args = ["-c", bad, "-s", STANDARD] if target == "camera" else ["-c", camera_file, "-s", bad]
    result = _run("inspect", image, *args, "--detections", detections, "-o", tmp_path)
    assert result.exit_code == 2
    assert str(bad) in result.output and message in result.output


def test_calibrate_from_four_corners_prints_errors(tmp_path, camera):
    import cv2
    import numpy as np

    snapshot = tmp_path / "snap.png"
    cv2.imwrite(str(snapshot), np.zeros((720, 1280, 3), np.uint8))
    corners = " ".join(f"{x:.3f},{y:.3f}" for x, y in camera.desk_to_image([[0, 0], [160, 0], [160, 80], [0, 80]]))
    out = tmp_path / "cam.yaml"
    result = _run("calibrate", "--camera-id", "w9", "--image", snapshot, "--desk", "160x80", "--corners", corners, "-o", out)
    assert result.exit_code == 0, result.output
    assert "reprojection error" in result.output and "estimated" in result.output
    saved = yaml.safe_load(out.read_text())
    assert saved["fit"]["pose"]["camera_height_cm"] == pytest.approx(camera.spec.fit.pose.camera_height_cm, abs=0.01)
    bad = _run("calibrate", "--camera-id", "w9", "--image", snapshot, "--desk", "160x80",
               "--corners", "10,10 20,20 30,30 40,40", "-o", tmp_path / "bad.yaml")
    assert bad.exit_code == 2 and "collinear" in bad.output


def test_console_script_is_installed():
    exe = shutil.which("desk-inspector") or str(__import__("pathlib").Path(sys.executable).parent / "desk-inspector")
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "inspect" in result.stdout


def test_model_commands_reject_a_missing_folder_or_model_with_exit_2(tmp_path):
    for command in ("evaluate", "tune-confidence"):
        result = _run(command, tmp_path / "nowhere")
        assert result.exit_code == 2 and "not a folder" in result.output, (command, result.output)
    (tmp_path / "images").mkdir()
    result = _run("tune-confidence", tmp_path, "--model", "no-such-model")
    assert result.exit_code == 2 and "no-such-model" in result.output, result.output
    result = _run("tune-confidence", tmp_path, "--min-recall", "1.5")
    assert result.exit_code == 2 and "--min-recall" in result.output, result.output


def test_models_lists_the_bundled_model_and_shows_its_card():
    listed = _run("models")
    assert listed.exit_code == 0, listed.output
    assert "desk-yolov8n-coco" in listed.output and "pytorch + onnx + onnx-int8 + openvino-int8 + openvino (default onnx)" in listed.output
    assert "mAP50 real-val 0.4189, synth-heldout 0.9399" in listed.output  # figures per set, real photos first
    assert "coco-yolov8n" in listed.output
    shown = _run("models", "desk-yolov8n-coco")
    assert shown.exit_code == 0 and "sha256:" in shown.output and "mAP50" in shown.output
    missing = _run("models", "no-such-model")
    assert missing.exit_code == 2 and "no-such-model" in missing.output


def test_a_nan_in_the_camera_file_is_exit_2_printed_literally(tmp_path, camera_file, write_scene):
    image, detections = write_scene("ok", COMPLIANT_DESK)
    data = yaml.safe_load(open(camera_file, encoding="utf-8"))
    data["layout"]["zones"]["cup"][1] = [float("nan"), 12.0]
    bad = tmp_path / "nan-camera.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = _run("inspect", image, "-c", bad, "-s", STANDARD, "--detections", detections, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "layout.zones.cup.1.0" in result.output and "finite number" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out" / "ok.report.json").exists()


def test_bracketed_values_in_messages_are_printed_as_they_are(tmp_path, camera_file, write_scene):
    image, detections = write_scene("ok", COMPLIANT_DESK)
    detections.write_text(json.dumps([{"class": "cup", "confidence": 0.9, "bbox_px": [10, 10, 20, 20],
                                       "polygon_px": [[1, 2], [3, 4]]}]))
    result = _run("inspect", image, "-c", camera_file, "-s", STANDARD, "--detections", detections, "-o", tmp_path / "out")
    assert result.exit_code == 2 and "[0.polygon_px]" in result.output, result.output
