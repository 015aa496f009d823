"""`desk-inspector`: a thin command line over the core. Errors become messages and exit codes:
0 all compliant, 1 violations found, 2 usage or input error."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from inspector.errors import InspectorError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Inspect counter desks against a layout standard.")
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT = 0, 1, 2


def fail(error: InspectorError | str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(error))}")
    return typer.Exit(EXIT_INPUT)


def _print_report(report, elapsed_s: float) -> None:
    name = Path(report.image).name
    if report.verdict == "pass":
        console.print(f"[bold green]PASS[/] {escape(name)}  score {report.score:.2f}  {len(report.items)} items  ({elapsed_s:.2f} s)")
    elif report.verdict == "check":
        console.print(f"[bold yellow]CHECK[/] {escape(name)}  score {report.score:.2f}  nothing surely fails; "
                      f"{len(report.violations) + len(report.conditional_passes)} result(s) to check by eye  ({elapsed_s:.2f} s)")
    else:
        console.print(f"[bold red]FAIL[/] {escape(name)}  score {report.score:.2f}  {len(report.violations)} violation(s)  ({elapsed_s:.2f} s)")
    for v in sorted(report.violations, key=lambda v: v.decision != "fail"):
        colour = "yellow" if v.decision != "fail" else "red" if v.severity == "major" else "yellow"
        label = "check" if v.decision != "fail" else v.severity
        console.print(f"  [{colour}]{label:5}[/] {escape(v.rule)}: {escape(v.message_en)}")
        console.print(f"        {escape(v.message_zh)}")
    for v in report.conditional_passes:
        console.print(f"  [yellow]check[/] {escape(v.rule)}: {escape(v.message_en)}")
        console.print(f"        {escape(v.message_zh)}")
    for n in report.not_judged:
        console.print(f"  [dim]not judged[/] {escape(n.rule)} (items {', '.join(map(str, n.item_ids))}): {escape(n.reason_en)} / {escape(n.reason_zh)}")
    for warning in report.warnings:
        console.print(f"  [yellow]warn [/] {escape(warning)}")


@app.command("inspect")
def inspect_command(
    images: Annotated[list[Path], typer.Argument(help="Image files or folders of images.")],
    camera: Annotated[Path, typer.Option("--camera", "-c", help="Camera calibration file (YAML/JSON).")],
    standard: Annotated[Path, typer.Option("--standard", "-s", help="Standard file (rules YAML).")],
    detections: Annotated[Optional[Path], typer.Option(help="Detections JSON for one image, or a folder of <image stem>.json, used instead of the detector.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Registry model name, card or weights path (default: the current, promoted model).")] = None,
    backend: Annotated[str, typer.Option(help="Detector backend: auto ($DESK_INSPECTOR_BACKEND if set, else the card's default), torch, onnx or one the card lists (onnx-int8, openvino-int8, openvino).")] = "auto",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for reports and pictures.")] = Path("out"),
    pictures: Annotated[bool, typer.Option(help="Write the annotated photo and the desk map.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print each report JSON instead of the verdict lines.")] = False,
    photo_outlines: Annotated[bool, typer.Option(help="Find box-only items' outlines in the photo (GrabCut), which show how a flat item is turned; --no-photo-outlines places them from their boxes alone (faster, less exact for turned items).")] = True,
) -> None:
    """Inspect photos: one verdict per photo, plus report JSON, annotated photo and desk map in --out."""
    from calibration.camera import load_camera
    from inspector.detections_io import load_detections
    from inspector.frames import collect_images, load_frame
    from inspector.outlines import find_outlines
    from inspector.outputs import write_outputs
    from inspector.pipeline import inspect
    from rules.standard import load_standard

    try:
        cam = load_camera(camera)
        std = load_standard(standard)
        detector = None
        if detections is None:
            from models.registry import load_detector
            from models.versions import current_model

            detector = load_detector(model or current_model(), extra_ids=set(std.permitted_classes), backend=backend)
    except InspectorError as error:
        raise fail(error)
    files = collect_images(images)
    if not files:
        raise fail(f"no images found in {', '.join(map(str, images))}")

    finder = find_outlines if photo_outlines else None
    errors = 0
    violations = 0
    to_check = 0
    for path in files:
        started = time.perf_counter()
        try:
            frame = load_frame(path, cam.camera_id)
            if detections is None:
                report = inspect(frame, cam, std, detector=detector, outline_finder=finder)
            else:
                source = detections / f"{path.stem}.json" if detections.is_dir() else detections
                report = inspect(frame, cam, std, detections=load_detections(source), detections_source=str(source),
                                 outline_finder=finder)
            if pictures:
                write_outputs(frame, report, cam, std, out, path.stem)
            else:
                out.mkdir(parents=True, exist_ok=True)
                (out / f"{path.stem}.report.json").write_text(report.to_json(), encoding="utf-8")
        except InspectorError as error:
            errors += 1
            err_console.print(f"[bold red]error:[/] {escape(str(error))}")
            continue
        violations += report.verdict == "fail"
        to_check += report.verdict == "check"
        if as_json:
            sys.stdout.write(report.to_json() + "\n")
        else:
            _print_report(report, time.perf_counter() - started)
    if not as_json:
        console.print(
            f"{len(files)} image(s): {len(files) - errors - violations - to_check} compliant, {violations} with violations, "
            f"{to_check} to check by eye, {errors} could not be inspected. Outputs in {out}/"
        )
    # a photo to check by eye is not compliant either (SPEC: 0 only when all are)
    raise typer.Exit(EXIT_INPUT if errors else EXIT_VIOLATIONS if violations or to_check else EXIT_OK)


def _parse_corners(text: str) -> list[tuple[float, float]]:
    try:
        points = [tuple(float(v) for v in pair.split(",")) for pair in text.replace(";", " ").split()]
    except ValueError:
        raise fail(f"--corners must be 'x,y x,y x,y x,y', got {text!r}")
    if len(points) != 4 or any(len(p) != 2 for p in points):
        raise fail(f"--corners needs exactly 4 'x,y' pairs, got {text!r}")
    return points


def _parse_size(text: str) -> tuple[float, float]:
    try:
        width, depth = (float(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise fail(f"--desk must be WIDTHxDEPTH in cm, e.g. 160x80, got {text!r}")
    if width <= 0 or depth <= 0:
        raise fail(f"--desk sizes must be positive, got {text!r}")
    return width, depth


def _use_backend(backend: str) -> None:
    """The backend every detector of this run loads with: batch workers and server processes load
    their own, so it travels in the environment they inherit ("auto" leaves it as it is)."""
    from models.registry import BACKEND_ENV

    if backend != "auto":
        os.environ[BACKEND_ENV] = backend


@app.command("batch")
def batch_command(
    site: Annotated[Path, typer.Argument(help="Site file (YAML/JSON): halls, cameras, calibrations, standards, snapshot folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for the morning report and pictures.")] = Path("out/batch"),
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", help="Worker processes (default: one per core, at most 8).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-inspect snapshots already in the history (replaces their rows).")] = False,
    db: Annotated[Optional[str], typer.Option("--db", help="History database URL (default: site file's, $DESK_INSPECTOR_DATABASE_URL, else sqlite:///OUT/history.db).")] = None,
    since: Annotated[Optional[str], typer.Option(help="Only snapshots captured at or after this time (ISO, site time zone).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Only snapshots captured before this time.")] = None,
    night: Annotated[Optional[str], typer.Option(help="Only the snapshots of this night (YYYY-MM-DD).")] = None,
    pictures: Annotated[str, typer.Option(help="Annotated photos for: changes (default), violations, all (with desk maps), none.")] = "changes",
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
    backend: Annotated[str, typer.Option(help="Detector backend: auto ($DESK_INSPECTOR_BACKEND if set, else the card's default), torch, onnx or one the card lists (onnx-int8, openvino-int8, openvino).")] = "auto",
) -> None:
    """Overnight batch: inspect every new snapshot of a site (resumable, parallel) and write the morning report."""
    from inspector.batch.cli import batch_main

    _use_backend(backend)

    raise typer.Exit(batch_main(site, out=out, workers=workers, force=force, db=db, since=since, until=until,
                                night=night, pictures=pictures, progress=progress))


@app.command("calibrate")
def calibrate_command(
    camera_id: Annotated[str, typer.Option(help="Camera id, e.g. window-01.")],
    image: Annotated[Path, typer.Option(help="A snapshot from the camera (gives the image size; kept as the reference frame).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Camera file to write (YAML).")],
    desk: Annotated[Optional[str], typer.Option(help="Desk size WIDTHxDEPTH in cm, e.g. 160x80.")] = None,
    corners: Annotated[Optional[str], typer.Option(help="Pixel positions of the desk corners front-left, front-right, back-right, back-left: 'x,y x,y x,y x,y'.")] = None,
    points: Annotated[Optional[Path], typer.Option(help="YAML/JSON {points: [{image_px: [x,y], desk_cm: [x,y]}, ...]} (4 or more; RANSAC above 4).")] = None,
    aruco: Annotated[Optional[Path], typer.Option(help="ArUco marker layout (YAML): markers at known desk positions.")] = None,
    intrinsics: Annotated[Optional[Path], typer.Option(help="Lens intrinsics YAML: {model: pinhole|fisheye, K: 3x3, dist: [...]}.")] = None,
    layout: Annotated[Optional[Path], typer.Option(help="Layout YAML with named zones in desk cm: {zones: {name: [[x,y],...]}}.")] = None,
    outline: Annotated[Optional[Path], typer.Option(help="Desk shape YAML: {outline_cm: [[x,y],...], front_edge: 0} for non-rectangular desks.")] = None,
) -> None:
    """Fit a camera file from 4 clicked desk corners, point pairs or ArUco markers; print its errors."""
    from calibration.camera import CameraFile, fit_camera, read_structured_file, save_camera
    from calibration.errors_text import describe_fit
    from inspector.errors import CalibrationError
    from inspector.frames import read_image_file

    sources = [s for s in (corners, points, aruco) if s is not None]
    if len(sources) != 1:
        raise fail("give exactly one of --corners, --points or --aruco")
    try:
        snapshot = read_image_file(image)
        size = (int(snapshot.shape[1]), int(snapshot.shape[0]))
        if outline is not None:
            desk_spec = read_structured_file(outline, CalibrationError)
        elif desk is not None:
            width, depth = _parse_size(desk)
            desk_spec = {"width_cm": width, "depth_cm": depth}
        else:
            raise fail("give --desk WIDTHxDEPTH or --outline FILE")
        if corners is not None:
            if outline is not None:
                raise fail("--corners are the 4 corners of a rectangular desk: use --points for an outline")
            clicked = _parse_corners(corners)
            w, d = desk_spec["width_cm"], desk_spec["depth_cm"]
            pairs = None  # fitted below, in whichever order of the clicks gives a camera above the desk
        elif points is not None:
            pairs = read_structured_file(points, CalibrationError).get("points")
        else:
            from calibration.aruco import correspondences_from_markers, load_marker_layout

            image_px, desk_cm, used = correspondences_from_markers(snapshot, load_marker_layout(aruco))
            console.print(f"ArUco markers used: {used}")
            pairs = [{"image_px": tuple(p), "desk_cm": tuple(c)} for p, c in zip(image_px, desk_cm)]
        spec = {
            "camera_id": camera_id,
            "image_size": size,
            "desk": desk_spec,
            "points": pairs,
            # relative to the camera file, so the pair can move together
            "reference_frame": os.path.relpath(image.resolve(), output.resolve().parent),
        }
        if intrinsics is not None:
            spec["intrinsics"] = read_structured_file(intrinsics, CalibrationError)
        if layout is not None:
            spec["layout"] = read_structured_file(layout, CalibrationError)
        from calibration.camera import parse_camera
        from calibration.corners import read_corners

        if pairs is None:
            def fit(ordered):
                points = [{"image_px": p, "desk_cm": c} for p, c in zip(ordered, [(0, 0), (w, 0), (w, d), (0, d)])]
                return parse_camera({**spec, "points": points}, str(output))

            reading, camera = read_corners(clicked, fit)
            console.print(escape(reading.described()))
        else:
            camera = parse_camera(spec, str(output))
        save_camera(camera, output)
    except InspectorError as error:
        raise fail(error)
    console.print(describe_fit(camera))
    console.print(f"written {output}")
    if not camera.spec.layout.zones:
        # inspect would leave every zone and keep-clear rule not judged: say so now, not then
        err_console.print("[yellow]note:[/] no --layout given: this camera has no zones (定置图), so the zone and "
                          "keep-clear rules of a standard (e.g. rules/standards/front-counter.yaml: monitor, "
                          "document_camera, cup, pass_through) are not judged for it; run calibrate again with "
                          "--layout zones.yaml (zones in desk cm), or draw them in the web page (标定 tab)")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1 = this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    settings: Annotated[Optional[Path], typer.Option("--settings", help="Service settings file (YAML/JSON); DESK_INSPECTOR_* variables override it.")] = None,
    workers: Annotated[int, typer.Option(help="Server processes; one per CPU core scales best.")] = 1,
    backend: Annotated[str, typer.Option(help="Detector backend: auto ($DESK_INSPECTOR_BACKEND if set, else the card's default), torch, onnx or one the card lists (onnx-int8, openvino-int8, openvino).")] = "auto",
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the supervisor web page (/)."""
    from pydantic import ValidationError

    from service.main import run_server

    _use_backend(backend)
    try:
        run_server(host=host, port=port, settings_file=settings, workers=workers)
    except (InspectorError, ValidationError, ValueError) as error:
        raise fail(str(error))


@app.command("train")
def train_command(
    data: Annotated[Path, typer.Option(help="YOLO dataset: data.yaml, or a folder with images/ and labels/.")],
    name: Annotated[str, typer.Option(help="Name of the new model in the registry.")],
    base: Annotated[str, typer.Option(help="Model yaml (from scratch, e.g. yolov8n.yaml), a registry model/weights to fine-tune, "
                                           "or 'current': the promoted model (a candidate for `models compare` / `promote`).")] = "yolov8n.yaml",
    imgsz: Annotated[int, typer.Option(help="Training image size (px).")] = 320,
    epochs: Annotated[int, typer.Option(help="Epochs.")] = 30,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 16,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    resume: Annotated[bool, typer.Option(help="Resume the run's last checkpoint (runs/<name>/weights/last.pt).")] = False,
    runs: Annotated[Path, typer.Option(help="Folder for training runs and checkpoints.")] = Path("runs"),
    version: Annotated[str, typer.Option(help="Version written to the card.")] = "0.1.0",
    device: Annotated[str, typer.Option(help="cpu, or a CUDA device index such as 0.")] = "cpu",
    hours: Annotated[Optional[float], typer.Option(help="Time budget: train for this many hours (the epoch count and learning-rate schedule are fitted to it after the first epoch).", min=0.05)] = None,
    rect: Annotated[bool, typer.Option(help="Train on the images' own aspect ratio (a 16:9 frame at imgsz 640 is 640x384): a higher resolution for the same cost; no mosaic.")] = False,
    threads: Annotated[Optional[int], typer.Option(help="PyTorch CPU threads (default: every core).", min=1)] = None,
    freeze: Annotated[int, typer.Option(help="Keep the first N layers as they are (10: the whole backbone).", min=0, max=22)] = 0,
    lr0: Annotated[Optional[float], typer.Option(help="Initial learning rate (default: ultralytics' choice).", min=0.0)] = None,
    workers: Annotated[int, typer.Option(help="Data-loading processes (ultralytics uses none on a CPU).", min=0)] = 2,
    registry: Annotated[Optional[Path], typer.Option(help="Registry folder to write the model into (default: the site's, "
                                                         "$DESK_INSPECTOR_REGISTRY, else the bundled one).")] = None,
) -> None:
    """Train (CPU is fine) or fine-tune a detector; writes weights + card into the model registry.
    The current (promoted) model and the ones rollback returns to are never overwritten.

    --base coco starts from the COCO-pretrained network (registry model coco-yolov8n) with a head for
    your data's classes, each started from COCO's matching class; give it your own labelled photos."""
    from models.training import train
    from models.versions import current_model, registry_dir

    if data.is_dir():
        data = data / "data.yaml"
    try:
        if not resume and not data.is_file():
            raise fail(f"{data}: dataset yaml not found (give data.yaml or a folder holding one)")
        if base == "current":
            base = current_model()
        card = train(data=data, name=name, base=base, imgsz=imgsz, epochs=epochs, batch=batch, seed=seed,
                     resume=resume, runs_dir=runs, version=version, device=device, hours=hours, rect=rect, threads=threads,
                     freeze=freeze, lr0=lr0, workers=workers, registry=registry or registry_dir())
    except InspectorError as error:
        raise fail(error)
    console.print(f"model registered: {card}")


def _named_folder(text: str) -> tuple[str, Path]:
    """'NAME=FOLDER' or 'FOLDER' (named after the folder)."""
    name, sep, folder = text.partition("=")
    return (name, Path(folder)) if sep and name else (Path(text).name, Path(text))


@app.command("evaluate")
def evaluate_command(
    folders: Annotated[list[str], typer.Argument(help="YOLO-format labelled folders (images/, labels/, optional data.yaml), "
                                                     "each FOLDER or NAME=FOLDER, e.g. real-val=../shared/data/real-desk "
                                                     "synth-heldout=data/synth-heldout: judged side by side.")],
    model: Annotated[Optional[str], typer.Option(help="Registry model name, card or weights path (default: the bundled model).")] = None,
    split: Annotated[str, typer.Option(help="Split under images/ (val, test, ...); '' for none.")] = "val",
    out: Annotated[Path, typer.Option("--out", "-o", help="Where each set's metrics.json, confusion_matrix.png and recall_by_size.png go (one folder per set).")] = Path("out/evaluate"),
    backend: Annotated[str, typer.Option(help="Detector backend: auto ($DESK_INSPECTOR_BACKEND if set, else the card's default), torch, onnx or one the card lists (onnx-int8, openvino-int8, openvino).")] = "auto",
    record: Annotated[bool, typer.Option(help="Write the metrics into the model's card, under each set's name.")] = False,
    confidence: Annotated[Optional[float], typer.Option(help="One threshold for every class instead of the card's own "
                                                             "(to compare; not with --record).", min=0.0, max=1.0)] = None,
) -> None:
    """mAP50, mAP50-95, per-class precision/recall/F1 at the model's confidence, false boxes per image,
    recall by item size and pictures, for each labelled set side by side. A set whose files are named
    <source>__<name> and whose sources label different classes is judged by source (partial labels)."""
    from models.evaluation import evaluate
    from models.registry import DEFAULT_MODEL

    sets = [_named_folder(text) for text in folders]
    for name, folder in sets:
        if not folder.is_dir():
            raise fail(f"{folder}: not a folder")
    if len({name for name, _ in sets}) != len(sets):
        raise fail("two sets have the same name: name them, e.g. real=FOLDER synth=FOLDER")
    results = {}
    try:
        for name, folder in sets:
            results[name] = evaluate(model or DEFAULT_MODEL, folder, split or None, out / name if len(sets) > 1 else out,
                                     backend, record=name if record else None, confidence=confidence)
    except InspectorError as error:
        raise fail(error)
    _print_side_by_side(results)
    console.print(f"metrics, confusion matrices and recall by size in {out}/")


def _cell(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print_side_by_side(results: dict[str, dict]) -> None:
    names = list(results)
    width = max(14, *(len(name) + 2 for name in names))
    head = lambda label: f"{label:28}" + "".join(f"{name:>{width}}" for name in names)  # noqa: E731
    row = lambda label, values: f"{label:28}" + "".join(f"{v:>{width}}" for v in values)  # noqa: E731
    console.print(head(""))
    console.print(row("images", [str(m["images"]) for m in results.values()]))
    console.print(row("mAP50 (classes labelled)", [_cell(m["mAP50"]) for m in results.values()]))
    console.print(row("mAP50-95", [_cell(m["mAP50-95"]) for m in results.values()]))
    console.print(row("mean F1 at the thresholds", [_cell(m["mean_f1"]) for m in results.values()]))
    console.print(row("false boxes per image", [_cell(m["false_boxes_per_image"], 2) for m in results.values()]))
    for m in results.values():
        own = _thresholds_text(m.get("class_confidence", {}))
        console.print(f"thresholds: {m['confidence']}{' (per class: ' + own + ')' if own else ''}")
        break
    classes = list(dict.fromkeys(c for m in results.values() for c in m["per_class"]))
    console.print(f"{'per class: AP50 / P / R (n)':28}" + "".join(f"{name:>{width + 8}}" for name in names))
    for item in classes:
        cells = []
        for m in results.values():
            r = m["per_class"].get(item)
            cells.append("-" if r is None or not r["instances"] else
                         f"{_cell(r['ap50'], 2)} / {_cell(r['precision'], 2)} / {_cell(r['recall'], 2)} ({r['instances']})")
        console.print(f"  {item:26}" + "".join(f"{c:>{width + 8}}" for c in cells))
    for name, m in results.items():
        if m.get("partial_labels"):
            console.print(f"{name}: partial labels, judged by source: " +
                          "; ".join(f"{s or '(no prefix)'}: {', '.join(c)}" for s, c in m["partial_labels"].items()))
        by_size = m["recall_by_size"]
        if by_size:
            bins = list(next(iter(by_size.values())))
            console.print(f"{name}: recall by box long side " + "  ".join(f"{b:>13}" for b in bins))
            for item, rows in by_size.items():
                cells = ("-" if r["recall"] is None else f"{r['recall']:.2f} ({r['instances']})" for r in rows.values())
                console.print(f"  {item:22}" + "  ".join(f"{c:>13}" for c in cells))


def _thresholds_text(class_confidence: dict[str, float]) -> str:
    return ", ".join(f"{item_id} {value:.3f}" for item_id, value in class_confidence.items())


@app.command("tune-confidence")
def tune_confidence_command(
    folder: Annotated[Path, typer.Argument(help="YOLO-format labelled VALIDATION folder (not the set you report metrics on).")],
    model: Annotated[Optional[str], typer.Option(help="Registry model name, card or weights path (default: the bundled model).")] = None,
    split: Annotated[str, typer.Option(help="Split under images/ (val, test, ...); '' for none.")] = "val",
    record: Annotated[bool, typer.Option(help="Write the chosen confidence into the model's card.")] = False,
    per_class: Annotated[bool, typer.Option(help="Also give each class (with 20+ items) the threshold of its own best F1, "
                                                 "kept only if together they beat the single one.")] = False,
    min_recall: Annotated[Optional[float], typer.Option(min=0.01, max=1.0, help=(
        "Per class, lower a threshold whose recall is under this to the strictest one that reaches it "
        "(implies --per-class; kept whatever it costs in F1)."))] = None,
    keep_others: Annotated[bool, typer.Option(help="Tune only the classes this set labels (real photos of a few classes); "
                                                   "the others and the default keep the card's thresholds (implies --per-class).")] = False,
) -> None:
    """Choose the model's default confidence: the one with the best mean per-class F1 on a validation set."""
    from models.evaluation import tune_confidence
    from models.registry import DEFAULT_MODEL

    if not folder.is_dir():
        raise fail(f"{folder}: not a folder")
    try:
        result = tune_confidence(model or DEFAULT_MODEL, folder, split or None, record=record, per_class=per_class,
                                 min_recall=min_recall, keep_others=keep_others)
    except InspectorError as error:
        raise fail(error)
    for row in result["sweep"]:
        mark = " <- chosen" if row is result["chosen"] else ""
        console.print(f"  confidence {row['confidence']:.3f}  mean F1 {row['mean_f1']:.3f}  "
                      f"mean recall {row['mean_recall']:.3f}  min recall {row['min_recall']:.3f}{mark}")
    chosen = result["chosen"]
    console.print(f"{result['images']} images: one threshold for all: {chosen['confidence']:.3f} (card: {result['previous']}), "
                  f"mean F1 {chosen['mean_f1']:.3f}; default kept: {result['default']}")
    if result["combined"] is not None:
        combined = result["combined"]
        own = _thresholds_text(result["class_confidence"])
        floor = f", recall floor {result['min_recall']:.2f}" if result["min_recall"] is not None else ""
        console.print(f"per class{floor}: {own or 'none kept'} (together: mean F1 {combined['mean_f1']:.3f}, "
                      f"mean recall {combined['mean_recall']:.3f}, min recall {combined['min_recall']:.3f})")
    console.print("written to the card" if record else "use --record to keep it")


@app.command("box-error")
def box_error_command(
    folders: Annotated[list[str], typer.Argument(help="YOLO-format labelled folders, each FOLDER or NAME=FOLDER, e.g. "
                                                     "synth-heldout=data/synth-heldout real-val=../shared/data/real-desk.")],
    model: Annotated[Optional[str], typer.Option(help="Registry model name, card or weights path (default: the bundled model).")] = None,
    split: Annotated[str, typer.Option(help="Split under images/ (val, test, ...); '' for none.")] = "val",
    backend: Annotated[str, typer.Option(help="Detector backend: auto ($DESK_INSPECTOR_BACKEND if set, else the card's default), torch, onnx or one the card lists (onnx-int8, openvino-int8, openvino).")] = "auto",
    record: Annotated[bool, typer.Option(help="Write the figures into the model's card (the pipeline's box uncertainty).")] = False,
) -> None:
    """How far the model's box sides fall from the labelled ones, per class: robust sigma of the side
    error over the true box's width (x) and height (y), bias folded in, and the 95th percentile of
    |error|, per set; combined, the larger of the sets per class (10+ matched boxes), else all pooled."""
    from models.box_error import measure_box_error
    from models.registry import DEFAULT_MODEL

    sets = [_named_folder(text) for text in folders]
    for name, folder in sets:
        if not folder.is_dir():
            raise fail(f"{folder}: not a folder")
    if len({name for name, _ in sets}) != len(sets):
        raise fail("two sets have the same name: name them, e.g. real=FOLDER synth=FOLDER")
    try:
        result = measure_box_error(model or DEFAULT_MODEL, sets, split or None, backend=backend, record=record)
    except InspectorError as error:
        raise fail(error)
    _print_box_error(result)
    console.print("written to the card" if record else "use --record to keep it in the card")


def _print_box_error(result) -> None:
    row = lambda label, *cells: f"  {label:18}{cells[0]:>6}" + "".join(f"{c:>9}" for c in cells[1:])  # noqa: E731
    for name, measured in result.sets.items():
        floor = f"{measured.floor_px:.2f} px" if measured.floor_px is not None else "too few small boxes"
        console.print(f"{name}: {measured.images} images, floor {floor} ({measured.small_sides} small-box sides); "
                      "shares of the true box width (x) and height (y)")
        console.print(row("class", "n", "sigma x", "sigma y", "p95", "bias x", "bias y"))
        for label, stats in [*measured.per_class.items(), ("(all pooled)", measured.pooled)]:
            if stats is not None:
                console.print(row(label, stats.n, *(f"{v:.3f}" for v in (stats.rel_x, stats.rel_y, stats.p95,
                                                                          stats.bias_x, stats.bias_y))))
    combined = result.combined
    console.print(f"combined: floor {combined.floor_px:.2f} px, other classes "
                  f"{combined.default_rel[0]:.3f} / {combined.default_rel[1]:.3f} (x / y, share of the box)")
    for label, (x, y) in combined.rel.items():
        console.print(f"  {label:18}{x:>10.3f}{y:>10.3f}")
    console.print(combined.source)


@app.command("export")
def export_command(
    model: Annotated[Optional[str], typer.Argument(help="Registry model name or card path (default: the bundled model).")] = None,
    imgsz: Annotated[Optional[int], typer.Option(help="Run the model at this long side from now on (both backends; "
                                                      "aspect kept, a multiple of 32): larger finds smaller items, slower.")] = None,
    registry: Annotated[Optional[Path], typer.Option(help="Registry folder holding the model (default: the bundled one).")] = None,
) -> None:
    """Export a registry model to ONNX (written beside its weights and recorded in its card)."""
    from models.registry import DEFAULT_MODEL, read_card, resolve_card
    from models.training import export_onnx

    model = model or DEFAULT_MODEL
    where = {"registry": registry} if registry else {}
    try:
        path = export_onnx(model, imgsz=imgsz, **where)
        height, width = read_card(resolve_card(model, **where)).network_input
    except InspectorError as error:
        raise fail(error)
    console.print(f"exported {path} ({width}x{height} input)")


@app.command("coco-start")
def coco_start_command(
    tflite: Annotated[Path, typer.Argument(help="ultralytics' COCO YOLOv8n int8 TFLite export (e.g. ../shared/models/yolov8n-coco-int8/yolov8n_int8.tflite).")],
    images: Annotated[Path, typer.Option(help="Folder of real photos for the BatchNorm statistics (64 spread over it are used).")],
    name: Annotated[str, typer.Option(help="Registry name of the converted model.")] = "coco-yolov8n",
    onnx: Annotated[bool, typer.Option(help="Also export ONNX (faster on the CPU; left out of the repository to keep it small).")] = False,
) -> None:
    """Turn the COCO-pretrained int8 TFLite YOLOv8n into a float checkpoint in the registry: the COCO
    bridge (COCO classes mapped onto item ids) and the start of `train --base coco`. Offline."""
    from models.coco_start import make_coco_start

    if not images.is_dir():
        raise fail(f"{images}: not a folder")
    try:
        card = make_coco_start(tflite, images, name=name, onnx=onnx)
    except InspectorError as error:
        raise fail(error)
    console.print(f"model registered: {card}")


from inspector.cli_dataset import dataset_app  # noqa: E402 - registered once the main commands exist
from inspector.cli_models import models_app  # noqa: E402

app.add_typer(dataset_app, name="dataset")
app.add_typer(models_app, name="models")

from inspector.cli_admin import keys_app, users_app  # noqa: E402 - the service's accounts and keys

app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")

if __name__ == "__main__":
    app()
