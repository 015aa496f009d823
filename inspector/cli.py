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

from inspector.errors import InspectorError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Inspect counter desks against a layout standard.")
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT = 0, 1, 2


def fail(error: InspectorError | str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {error}")
    return typer.Exit(EXIT_INPUT)


def _print_report(report, elapsed_s: float) -> None:
    name = Path(report.image).name
    if report.compliant:
        console.print(f"[bold green]PASS[/] {name}  score {report.score:.2f}  {len(report.items)} items  ({elapsed_s:.2f} s)")
    else:
        console.print(f"[bold red]FAIL[/] {name}  score {report.score:.2f}  {len(report.violations)} violation(s)  ({elapsed_s:.2f} s)")
    for v in report.violations:
        colour = "red" if v.severity == "major" else "yellow"
        console.print(f"  [{colour}]{v.severity:5}[/] {v.rule}: {v.message_en}")
        console.print(f"        {v.message_zh}")
    for warning in report.warnings:
        console.print(f"  [yellow]warn [/] {warning}")


@app.command("inspect")
def inspect_command(
    images: Annotated[list[Path], typer.Argument(help="Image files or folders of images.")],
    camera: Annotated[Path, typer.Option("--camera", "-c", help="Camera calibration file (YAML/JSON).")],
    standard: Annotated[Path, typer.Option("--standard", "-s", help="Standard file (rules YAML).")],
    detections: Annotated[Optional[Path], typer.Option(help="Detections JSON for one image, or a folder of <image stem>.json, used instead of the detector.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Registry model name, card or weights path (default: the bundled model).")] = None,
    backend: Annotated[str, typer.Option(help="Detector backend: auto (the card's default), onnx or torch.")] = "auto",
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
            from models.registry import DEFAULT_MODEL, load_detector

            detector = load_detector(model or DEFAULT_MODEL, extra_ids=set(std.permitted_classes), backend=backend)
    except InspectorError as error:
        raise fail(error)
    files = collect_images(images)
    if not files:
        raise fail(f"no images found in {', '.join(map(str, images))}")

    finder = find_outlines if photo_outlines else None
    errors = 0
    violations = 0
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
            err_console.print(f"[bold red]error:[/] {error}")
            continue
        violations += not report.compliant
        if as_json:
            sys.stdout.write(report.to_json() + "\n")
        else:
            _print_report(report, time.perf_counter() - started)
    if not as_json:
        console.print(
            f"{len(files)} image(s): {len(files) - errors - violations} compliant, {violations} with violations, "
            f"{errors} could not be inspected. Outputs in {out}/"
        )
    raise typer.Exit(EXIT_INPUT if errors else EXIT_VIOLATIONS if violations else EXIT_OK)


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
) -> None:
    """Overnight batch: inspect every new snapshot of a site (resumable, parallel) and write the morning report."""
    from inspector.batch.cli import batch_main

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
            pairs = [{"image_px": p, "desk_cm": c} for p, c in zip(clicked, [(0, 0), (w, 0), (w, d), (0, d)])]
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

        camera = parse_camera(spec, str(output))
        save_camera(camera, output)
    except InspectorError as error:
        raise fail(error)
    console.print(describe_fit(camera))
    console.print(f"written {output}")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1 = this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    settings: Annotated[Optional[Path], typer.Option("--settings", help="Service settings file (YAML/JSON); DESK_INSPECTOR_* variables override it.")] = None,
    workers: Annotated[int, typer.Option(help="Server processes; one per CPU core scales best.")] = 1,
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the supervisor web page (/)."""
    from pydantic import ValidationError

    from service.main import run_server

    try:
        run_server(host=host, port=port, settings_file=settings, workers=workers)
    except (InspectorError, ValidationError, ValueError) as error:
        raise fail(str(error))


@app.command("models")
def models_command(
    name: Annotated[Optional[str], typer.Argument(help="Show one model's card.")] = None,
) -> None:
    """List the registry's models, or show one model's card."""
    import yaml

    from models.registry import list_cards, read_card, resolve_card

    try:
        if name:
            card = read_card(resolve_card(name))
            console.print(yaml.safe_dump(card.model_dump(), sort_keys=False, allow_unicode=True))
            return
        cards = list_cards()
    except InspectorError as error:
        raise fail(error)
    if not cards:
        console.print("no models in the registry")
    for path, card in cards:
        mAP = card.metrics.get("mAP50")
        backends = "pytorch + onnx" if card.onnx else "pytorch"
        console.print(f"{card.name}  v{card.version}  {backends} (default {card.default_backend if card.onnx else 'torch'})  "
                      f"imgsz {card.imgsz}{' (%dx%d input)' % tuple(card.input_hw) if card.input_hw else ''}  {len(card.classes)} classes  confidence {card.confidence}"
                      f"{' (%d classes at their own)' % len(card.class_confidence) if card.class_confidence else ''}  "
                      f"mAP50 {mAP if mAP is not None else 'n/a'}  ({path.parent})")


@app.command("train")
def train_command(
    data: Annotated[Path, typer.Option(help="YOLO dataset: data.yaml, or a folder with images/ and labels/.")],
    name: Annotated[str, typer.Option(help="Name of the new model in the registry.")],
    base: Annotated[str, typer.Option(help="Model yaml (from scratch, e.g. yolov8n.yaml) or a registry model/weights to fine-tune.")] = "yolov8n.yaml",
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
) -> None:
    """Train (CPU is fine) or fine-tune a detector; writes weights + card into the model registry."""
    from models.training import train

    if data.is_dir():
        data = data / "data.yaml"
    try:
        if not resume and not data.is_file():
            raise fail(f"{data}: dataset yaml not found (give data.yaml or a folder holding one)")
        card = train(data=data, name=name, base=base, imgsz=imgsz, epochs=epochs, batch=batch, seed=seed,
                     resume=resume, runs_dir=runs, version=version, device=device, hours=hours, rect=rect, threads=threads)
    except InspectorError as error:
        raise fail(error)
    console.print(f"model registered: {card}")


@app.command("evaluate")
def evaluate_command(
    folder: Annotated[Path, typer.Argument(help="YOLO-format labelled folder (images/, labels/, optional data.yaml).")],
    model: Annotated[str, typer.Option(help="Registry model name, card or weights path.")] = "desk-yolov8n-synth",
    split: Annotated[str, typer.Option(help="Split under images/ (val, test, ...); '' for none.")] = "val",
    out: Annotated[Path, typer.Option("--out", "-o", help="Where metrics.json, confusion_matrix.png and recall_by_size.png go.")] = Path("out/evaluate"),
    backend: Annotated[str, typer.Option(help="auto, torch or onnx.")] = "auto",
    record: Annotated[bool, typer.Option(help="Write the metrics into the model's card.")] = False,
    confidence: Annotated[Optional[float], typer.Option(help="One threshold for every class instead of the card's own "
                                                             "(to compare; not with --record).", min=0.0, max=1.0)] = None,
) -> None:
    """mAP50, mAP50-95, per-class precision/recall/F1 at the model's confidence, recall by item size, pictures."""
    from models.training import evaluate

    if not folder.is_dir():
        raise fail(f"{folder}: not a folder")
    try:
        metrics = evaluate(model, folder, split or None, out, backend, record=record, confidence=confidence)
    except InspectorError as error:
        raise fail(error)
    own = _thresholds_text(metrics.get("class_confidence", {}))
    mean_f1 = "n/a" if metrics["mean_f1"] is None else f"{metrics['mean_f1']:.3f}"
    console.print(f"{metrics['images']} images  mAP50 {metrics['mAP50']:.3f}  mAP50-95 {metrics['mAP50-95']:.3f}  "
                  f"mean F1 {mean_f1}  (per-class at confidence {metrics['confidence']}{'; ' + own if own else ''})")
    for name, row in metrics["per_class"].items():
        p = "n/a" if row["precision"] is None else f"{row['precision']:.3f}"
        r = "n/a" if row["recall"] is None else f"{row['recall']:.3f}"
        console.print(f"  {name:16} n={row['instances']:5}  P {p}  R {r}  F1 {row['f1']:.3f}  AP50 {row['ap50']}")
    by_size = metrics["recall_by_size"]
    if by_size:
        bins = list(next(iter(by_size.values())))
        console.print(f"{'recall by box long side':24}" + "  ".join(f"{b:>13}" for b in bins))
        for name, rows in by_size.items():
            cells = ("-" if row["recall"] is None else f"{row['recall']:.2f} ({row['instances']})" for row in rows.values())
            console.print(f"  {name:22}" + "  ".join(f"{cell:>13}" for cell in cells))
    console.print(f"metrics, confusion matrix and recall by size in {out}/")


def _thresholds_text(class_confidence: dict[str, float]) -> str:
    return ", ".join(f"{item_id} {value:.3f}" for item_id, value in class_confidence.items())


@app.command("tune-confidence")
def tune_confidence_command(
    folder: Annotated[Path, typer.Argument(help="YOLO-format labelled VALIDATION folder (not the set you report metrics on).")],
    model: Annotated[str, typer.Option(help="Registry model name, card or weights path.")] = "desk-yolov8n-synth",
    split: Annotated[str, typer.Option(help="Split under images/ (val, test, ...); '' for none.")] = "val",
    record: Annotated[bool, typer.Option(help="Write the chosen confidence into the model's card.")] = False,
    per_class: Annotated[bool, typer.Option(help="Also give each class (with 20+ items) the threshold of its own best F1, "
                                                 "kept only if together they beat the single one.")] = False,
    min_recall: Annotated[Optional[float], typer.Option(min=0.01, max=1.0, help=(
        "Per class, lower a threshold whose recall is under this to the strictest one that reaches it "
        "(implies --per-class; kept whatever it costs in F1)."))] = None,
) -> None:
    """Choose the model's default confidence: the one with the best mean per-class F1 on a validation set."""
    from models.training import tune_confidence

    if not folder.is_dir():
        raise fail(f"{folder}: not a folder")
    try:
        result = tune_confidence(model, folder, split or None, record=record, per_class=per_class,
                                 min_recall=min_recall)
    except InspectorError as error:
        raise fail(error)
    for row in result["sweep"]:
        mark = " <- chosen" if row is result["chosen"] else ""
        console.print(f"  confidence {row['confidence']:.3f}  mean F1 {row['mean_f1']:.3f}  "
                      f"mean recall {row['mean_recall']:.3f}  min recall {row['min_recall']:.3f}{mark}")
    chosen = result["chosen"]
    console.print(f"{result['images']} images: confidence {chosen['confidence']:.3f} (was {result['previous']}), "
                  f"mean F1 {chosen['mean_f1']:.3f}")
    if result["combined"] is not None:
        combined = result["combined"]
        own = _thresholds_text(result["class_confidence"])
        floor = f", recall floor {result['min_recall']:.2f}" if result["min_recall"] is not None else ""
        console.print(f"per class{floor}: {own or 'none kept'} (together: mean F1 {combined['mean_f1']:.3f}, "
                      f"mean recall {combined['mean_recall']:.3f}, min recall {combined['min_recall']:.3f})")
    console.print("written to the card" if record else "use --record to keep it")


@app.command("export")
def export_command(
    model: Annotated[str, typer.Argument(help="Registry model name or card path.")] = "desk-yolov8n-synth",
    imgsz: Annotated[Optional[int], typer.Option(help="Run the model at this long side from now on (both backends; "
                                                      "aspect kept, a multiple of 32): larger finds smaller items, slower.")] = None,
) -> None:
    """Export a registry model to ONNX (written beside its weights and recorded in its card)."""
    from models.registry import read_card, resolve_card
    from models.training import export_onnx

    try:
        path = export_onnx(model, imgsz=imgsz)
        height, width = read_card(resolve_card(model)).network_input
    except InspectorError as error:
        raise fail(error)
    console.print(f"exported {path} ({width}x{height} input)")


if __name__ == "__main__":
    app()
