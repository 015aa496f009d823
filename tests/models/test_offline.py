"""No code path may try the network: load and run the detector with every socket call trapped."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import socket, sys
    attempts = []
    def trap(*args, **kwargs):
        attempts.append(args[:2])
        raise OSError("network disabled by the offline test")
    socket.socket.connect = trap
    socket.socket.connect_ex = trap
    socket.create_connection = trap
    socket.getaddrinfo = trap
    socket.gethostbyname = trap

    import numpy as np
    from models.registry import load_detector
    detector = load_detector(sys.argv[1], backend=sys.argv[2])
    detections = detector.detect(np.zeros((720, 1280, 3), np.uint8))
    print("detections", len(detections))
    print("attempts", len(attempts), attempts[:3])
    sys.exit(1 if attempts else 0)
    """
)


def _run_offline(card, backend):
    return subprocess.run([sys.executable, "-c", SCRIPT, str(card), backend], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(card.parent)})


def test_torch_detector_never_touches_the_network(tiny_model):
    result = _run_offline(tiny_model, "torch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "attempts 0" in result.stdout


def test_onnx_export_and_detector_never_touch_the_network(tiny_model, tmp_path):
    import shutil

    from models.training import export_onnx

    folder = tmp_path / "tiny-onnx"
    shutil.copytree(tiny_model.parent, folder)
    export_onnx(str(folder / "card.yaml"))
    result = _run_offline(folder / "card.yaml", "onnx")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "attempts 0" in result.stdout
