"""Load benchmark of the service: N concurrent clients upload the example photo for D seconds.

Starts `python -m service` on 127.0.0.1 and a free port (a temporary data folder, a copy of the
example camera), then N client threads POST the photo (with its detections, unless a model is
used) as fast as answers come back. Prints requests/s, latency percentiles and the error count.
Bounded in time (--duration) and in count (--max-requests); only ever talks to 127.0.0.1.

    .venv/bin/python bench/load_service.py --duration 60 --clients 8
    .venv/bin/python bench/load_service.py --model desk-yolov8n-coco --night out/bench-night/night --batch

With `--night` the clients upload a bench night's snapshots in turn (bench/batch_night.py makes it),
and `--batch` runs the batch over the same snapshots with as many worker processes as the server
has (same cores), side by side. Before the load, single requests on the idle server give its p50
latency, compared with `inspect` of the same photo in one process. The resident memory of each
server process is sampled during the load (start, end, peak).
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


def night_inputs(site: Path, night: Path, count: int) -> list[tuple[str, str, bytes]]:
    """(camera id, file name, photo) of the first `count` snapshots of a bench night
    (bench/batch_night.py), taken in turn from each camera, whose calibrations and reference frames
    are copied for the server."""
    shutil.copytree(night / "cameras", site / "cameras", dirs_exist_ok=True)
    shutil.copytree(night / "reference", site / "reference", dirs_exist_ok=True)
    per_camera = [sorted(folder.glob("*.jpg")) for folder in sorted((night / "photos").iterdir()) if folder.is_dir()]
    chosen = [files[k] for k in range(max(map(len, per_camera))) for files in per_camera if k < len(files)][:count]
    return [(path.parent.name, path.name, path.read_bytes()) for path in chosen]


class InspectAlone:
    """What `desk-inspector inspect` does for one photo, in this process: decode, inspect (the
    detector with every core, as the CLI loads it), and, apart, writing the report and both
    pictures. Called between the idle server's requests, so that both see the same machine."""

    def __init__(self, camera_file: Path, photo: bytes, name: str, model: str):
        sys.path.insert(0, str(REPO))
        from calibration.camera import load_camera
        from models.registry import load_detector
        from rules.standard import load_standard

        self.camera = load_camera(camera_file)
        self.standard = load_standard(REPO / "rules" / "standards" / "front-counter.yaml")
        self.detector = load_detector(model, extra_ids=set(self.standard.permitted_classes))
        self.photo, self.name = photo, name
        self.out = Path(tempfile.mkdtemp(prefix="desk-inspector-inspect-"))
        self.inspect_s: list[float] = []
        self.outputs_s: list[float] = []

    def __call__(self, keep: bool = True) -> None:
        from inspector.frames import decode_image
        from inspector.outputs import write_outputs
        from inspector.pipeline import inspect
        from inspector.records import Frame

        started = time.perf_counter()
        frame = Frame(image=decode_image(self.photo, self.name), source=self.name, camera_id=self.camera.camera_id)
        report = inspect(frame, self.camera, self.standard, detector=self.detector)
        middle = time.perf_counter()
        write_outputs(frame, report, self.camera, self.standard, self.out, f"x{len(self.inspect_s)}")
        if keep:
            self.inspect_s.append(middle - started)
            self.outputs_s.append(time.perf_counter() - middle)

    def figures(self) -> dict:
        shutil.rmtree(self.out, ignore_errors=True)
        if not self.inspect_s:
            return {}
        return {"inspect_ms": round(statistics.median(self.inspect_s) * 1000, 1),
                "inspect_and_outputs_ms": round(statistics.median(
                    [a + b for a, b in zip(self.inspect_s, self.outputs_s)]) * 1000, 1)}


def batch_rate(night: Path, uploads: list[tuple[str, str, bytes]], model: str, workers: int) -> dict:
    """The batch (bench/batch_night.py's run) over exactly the photos the clients upload."""
    sys.path.insert(0, str(REPO / "bench"))
    from batch_night import batch_run, write_site

    root = Path(tempfile.mkdtemp(prefix="desk-inspector-batch-"))
    try:
        shutil.copytree(night / "cameras", root / "cameras")
        shutil.copytree(night / "reference", root / "reference")
        for camera_id, name, data in uploads:
            (root / "photos" / camera_id).mkdir(parents=True, exist_ok=True)
            (root / "photos" / camera_id / name).write_bytes(data)
        return batch_run(write_site(root, model), root / "run", workers, progress=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(REPO / "bench"))
    from memory import RssSampler

    site = Path(tempfile.mkdtemp(prefix="desk-inspector-bench-"))
    (site / "cameras").mkdir()
    if args.night:
        uploads = night_inputs(site, args.night, args.night_snapshots)
        detections = None
    else:
        camera_id, photo, detections = example_inputs(site)
        uploads = [(camera_id, "desk.jpg", photo)]
        if args.model != "none":  # the server's detector finds the items
            detections = None
    if args.model == "none" and detections is None:
        raise SystemExit("--night needs a model (--model NAME): the night has no detections files")
    alone = None
    if args.model != "none":
        camera_file = (args.night / "cameras" / f"{uploads[0][0]}.yaml") if args.night else EXAMPLE_CAMERA
        alone = InspectAlone(camera_file, uploads[0][2], uploads[0][1], args.model)
    key = secrets.token_urlsafe(16)
    port = free_port()
    process = start_server(site, port, key, args.model, args.threads, args.processes)
    url = f"http://{HOST}:{port}/api/v1/inspections"

    def files_of(k: int) -> tuple[str, dict]:
        camera_id, name, photo = uploads[k % len(uploads)]
        files = {"image": (name, photo, "image/jpeg")}
        if detections is not None:
            files["detections"] = ("desk.json", detections, "application/json")
        return camera_id, files

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    issued = 0

    def post(session: httpx.Client, k: int) -> tuple[bool, str, float]:
        camera_id, files = files_of(k)
        started = time.perf_counter()
        try:
            response = session.post(url, data={"camera_id": camera_id}, files=files)
            ok = response.status_code == 201
            problem = "" if ok else f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as error:
            ok, problem = False, f"{type(error).__name__}: {error}"
        return ok, problem, time.perf_counter() - started

    def client() -> None:
        nonlocal issued
        with httpx.Client(headers={"X-API-Key": key}, timeout=60) as session:
            while time.monotonic() < stop_at:
                with lock:
                    if issued >= args.max_requests:
                        return
                    k = issued
                    issued += 1
                ok, problem, elapsed = post(session, k)
                with lock:
                    (latencies.append(elapsed) if ok else errors.append(problem))

    idle: list[float] = []
    try:
        # one client, one request at a time, on the idle server: the first photo again and again,
        # each request followed by `inspect` of the same photo here (the first of each warms up)
        with httpx.Client(headers={"X-API-Key": key}, timeout=60) as session:
            for k in range(args.idle_requests + 1):
                ok, problem, elapsed = post(session, 0)
                if not ok:
                    errors.append(problem)
                elif k:
                    idle.append(elapsed)
                if alone is not None:
                    alone(keep=k > 0)
        with RssSampler(process.pid, interval_s=0.5) as sampler:
            stop_at = time.monotonic() + args.duration
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

    result = {
        "clients": args.clients,
        "duration_s": round(wall_s, 1),
        "server_processes": args.processes,
        "server_threads": args.threads,
        "detector": ready["model"]["name"] if ready.get("model") else "detections file (no model)",
        "photos": len(uploads),
        "photo_bytes": len(uploads[0][2]),
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
        "idle_p50_ms": round(statistics.median(idle) * 1000, 1) if idle else None,
        "server_memory": [{"pid": pid, **trend} for pid, trend in sorted(sampler.trends().items())],
        "first_errors": errors[:3],
        "cpu_count": os.cpu_count(),
    }
    if alone is not None:
        result["inspect_same_photo"] = alone.figures()
    if args.batch:
        if not args.night:
            raise SystemExit("--batch needs --night: the batch inspects each file once")
        result["batch"] = batch_rate(args.night, uploads[:args.night_snapshots], args.model, args.processes)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="server worker processes (default: one per CPU)")
    parser.add_argument("--threads", type=int, default=2, help="inspection threads per server process (default 2)")
    parser.add_argument("--model", default="none", help="'none' = send the example's detections; else a model name/path")
    parser.add_argument("--night", type=Path, help="upload the snapshots of this bench night (bench/batch_night.py's "
                        "out/bench-night/night), each in turn, instead of the example photo (needs --model)")
    parser.add_argument("--night-snapshots", type=int, default=400, help="how many of the night's snapshots (default 400)")
    parser.add_argument("--batch", action="store_true", help="also run the batch over the same snapshots, with as many "
                        "worker processes as the server has, and print the ratio (needs --night)")
    parser.add_argument("--idle-requests", type=int, default=20,
                        help="single requests on the idle server before the load, for its p50 (default 20)")
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
    for m in result["server_memory"]:
        print(f"server process {m['pid']}: resident memory start {m['start_mb']:.0f} MiB, end {m['end_mb']:.0f} MiB, "
              f"peak {m['peak_mb']:.0f} MiB, growth {m['growth_mb']:+.1f} MiB over {m['seconds']:.0f} s")
    if "inspect_same_photo" in result:
        alone = result["inspect_same_photo"]
        print(f"idle server, one request at a time: p50 {result['idle_p50_ms']} ms; `inspect` of the same photo in one "
              f"process, in turn with them: {alone['inspect_ms']} ms, with its report and pictures written {alone['inspect_and_outputs_ms']} ms "
              f"-> ratio {result['idle_p50_ms'] / alone['inspect_ms']:.2f} / "
              f"{result['idle_p50_ms'] / alone['inspect_and_outputs_ms']:.2f} (goal <= 1.2)")
    if "batch" in result:
        batch = result["batch"]
        print(f"batch over the same {batch['images']} snapshots, {batch['workers']} worker process(es): "
              f"{batch['images_per_s']} images/s -> service / batch {result['requests_per_s'] / batch['images_per_s']:.2f} "
              f"(goal >= 0.85)")
    for problem in result["first_errors"]:
        print(f"error: {problem}")
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
