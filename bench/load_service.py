"""Load benchmark of the service: N concurrent clients upload the example photo for D seconds.

Starts `python -m service` on 127.0.0.1 and a free port (a temporary data folder, a copy of the
example camera), then N client threads POST the photo (with its detections, unless a model is
used) as fast as answers come back. Prints requests/s, latency percentiles and the error count.
Bounded in time (--duration) and in count (--max-requests); only ever talks to 127.0.0.1.

    .venv/bin/python bench/load_service.py --duration 60 --clients 8
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "front-counter"
EXAMPLE_CAMERA = REPO / "calibration" / "cameras" / "window-01.yaml"
HOST = "127.0.0.1"  # never anything else


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def example_inputs(site: Path) -> tuple[str, bytes, bytes]:
    """(camera id, photo, detections): the front-counter example, else the tests' hand-made scene."""
    photos = sorted((EXAMPLE / "photos").glob("*.jpg")) if EXAMPLE.is_dir() else []
    for photo in photos:
        detections = EXAMPLE / "detections" / f"{photo.stem}.json"
        if detections.is_file() and EXAMPLE_CAMERA.is_file():
            shutil.copy(EXAMPLE_CAMERA, site / "cameras" / EXAMPLE_CAMERA.name)
            import yaml

            camera_id = yaml.safe_load(EXAMPLE_CAMERA.read_text(encoding="utf-8"))["camera_id"]
            return camera_id, photo.read_bytes(), detections.read_bytes()
    sys.path.insert(0, str(REPO))
    from calibration.camera import save_camera
    from tests.service import scene

    camera = scene.make_camera()
    save_camera(camera, site / "cameras" / f"{scene.CAMERA_ID}.yaml")
    photo, detections = scene.make_photo(camera)
    return scene.CAMERA_ID, photo, json.dumps(detections).encode()


def start_server(site: Path, port: int, key: str, model: str, threads: int, processes: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DESK_INSPECTOR_DATA_DIR": str(site / "data"),
        "DESK_INSPECTOR_CAMERAS_DIR": str(site / "cameras"),
        "DESK_INSPECTOR_STANDARDS_DIR": str(REPO / "rules" / "standards"),
        "DESK_INSPECTOR_API_KEYS": key,
        "DESK_INSPECTOR_MODEL": model,
        "DESK_INSPECTOR_INFERENCE_WORKERS": str(threads),
        "YOLO_OFFLINE": "1",
    }
    env.pop("DESK_INSPECTOR_SETTINGS_FILE", None)
    process = subprocess.Popen([sys.executable, "-m", "service", "--host", HOST, "--port", str(port),
                                "--workers", str(processes)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited at start-up:\n{process.stderr.read()}")
        try:
            if httpx.get(f"http://{HOST}:{port}/api/v1/ready", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not become ready within 120 s")


def run(args: argparse.Namespace) -> dict:
    site = Path(tempfile.mkdtemp(prefix="desk-inspector-bench-"))
    (site / "cameras").mkdir()
    camera_id, photo, detections = example_inputs(site)
    key = secrets.token_urlsafe(16)
    port = free_port()
    process = start_server(site, port, key, args.model, args.threads, args.processes)
    url = f"http://{HOST}:{port}/api/v1/inspections"
    files = {"image": ("desk.jpg", photo, "image/jpeg")}
    if args.model == "none":
        files["detections"] = ("desk.json", detections, "application/json")

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    issued = 0
    stop_at = time.monotonic() + args.duration

    def client() -> None:
        nonlocal issued
        with httpx.Client(headers={"X-API-Key": key}, timeout=60) as session:
            while time.monotonic() < stop_at:
                with lock:
                    if issued >= args.max_requests:
                        return
                    issued += 1
                started = time.perf_counter()
                try:
                    response = session.post(url, data={"camera_id": camera_id}, files=files)
                    ok = response.status_code == 201
                    problem = "" if ok else f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as error:
                    ok, problem = False, f"{type(error).__name__}: {error}"
                elapsed = time.perf_counter() - started
                with lock:
                    (latencies.append(elapsed) if ok else errors.append(problem))

    try:
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall_s = time.perf_counter() - began
        ready = httpx.get(f"http://{HOST}:{port}/api/v1/ready", timeout=10).json()
    finally:
        process.terminate()  # uvicorn's supervisor stops its worker processes on SIGTERM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if not args.keep_data:
            shutil.rmtree(site, ignore_errors=True)

    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000 if ordered else float("nan")

    return {
        "clients": args.clients,
        "duration_s": round(wall_s, 1),
        "server_processes": args.processes,
        "server_threads": args.threads,
        "detector": ready["model"]["name"] if ready.get("model") else "detections file (no model)",
        "photo_bytes": len(photo),
        "requests_ok": len(latencies),
        "errors": len(errors),
        "requests_per_s": round(len(latencies) / wall_s, 2) if wall_s else 0.0,
        "latency_ms": {
            "p50": round(percentile(50), 1),
            "p95": round(percentile(95), 1),
            "p99": round(percentile(99), 1),
            "mean": round(statistics.fmean(ordered) * 1000, 1) if ordered else float("nan"),
            "max": round(ordered[-1] * 1000, 1) if ordered else float("nan"),
        },
        "first_errors": errors[:3],
        "cpu_count": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="server worker processes (default: one per CPU)")
    parser.add_argument("--threads", type=int, default=2, help="inspection threads per server process (default 2)")
    parser.add_argument("--model", default="none", help="'none' = send the example's detections; else a model name/path")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not (0 < args.duration <= 3600 and 0 < args.clients <= 64 and args.max_requests > 0):
        parser.error("--duration must be in (0, 3600], --clients in 1..64, --max-requests > 0")
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    latency = result["latency_ms"]
    print(f"{result['clients']} clients, {result['duration_s']} s, {result['cpu_count']} CPUs, "
          f"server {result['server_processes']} process(es) x {result['server_threads']} thread(s), "
          f"detector: {result['detector']}")
    print(f"requests: {result['requests_ok']} ok, {result['errors']} errors  ->  {result['requests_per_s']} req/s")
    print(f"latency ms: p50 {latency['p50']}  p95 {latency['p95']}  p99 {latency['p99']}  "
          f"mean {latency['mean']}  max {latency['max']}")
    for problem in result["first_errors"]:
        print(f"error: {problem}")
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
