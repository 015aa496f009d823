"""`desk-inspector dataset export|combine`: supervisors' corrections as training data (thin layer
over models.corrections_dataset)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

import calibration
import rules
from inspector.errors import InspectorError

dataset_app = typer.Typer(add_completion=False, no_args_is_help=True,
                          help="Training data from supervisors' corrections.")


def _fail(error) -> typer.Exit:
    from inspector.cli import fail

    return fail(error)


@dataset_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="New or empty folder for the YOLO dataset.")],
    database: Annotated[Optional[str], typer.Option(help="History database URL (default: the shared one, "
                                                         "$DESK_INSPECTOR_DATABASE_URL or out/history.db).")] = None,
    data_dir: Annotated[Path, typer.Option(help="The service's data folder, where uploaded photos are kept.")] = Path("out/service"),
    cameras_dir: Annotated[Path, typer.Option(help="Camera files the verdicts were judged with.")] = Path(calibration.__file__).resolve().parent / "cameras",
    standards_dir: Annotated[Path, typer.Option(help="Standard files.")] = Path(rules.__file__).resolve().parent / "standards",
    val_fraction: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of camera-days put in val.")] = 0.2,
    camera: Annotated[Optional[str], typer.Option(help="Only this camera.")] = None,
    since: Annotated[Optional[datetime], typer.Option(help="Only photos captured (else inspected) since.")] = None,
) -> None:
    """Every inspection a person confirmed or rejected, with its boxes as corrected, as a YOLO
    dataset split by camera and day, plus verdicts.jsonl and a dataset card."""
    from inspector.history import History, default_database_url
    from models.corrections_dataset import export, seconds_per_thousand

    from inspector.cli import console

    try:
        history = History(database or default_database_url())
        with Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("export", total=None)
            summary = export(history, data_dir, out, cameras_dir, standards_dir, val_fraction=val_fraction,
                             camera_id=camera, since=since,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
    except InspectorError as error:
        raise _fail(error)
    boxes = {s: sum(c.values()) for s, c in summary.boxes.items()}
    console.print(f"wrote {escape(str(summary.out_dir))}: train {summary.images.get('train', 0)} images / "
                  f"{boxes['train']} boxes, val {summary.images.get('val', 0)} images / {boxes['val']} boxes "
                  f"in {summary.seconds:.2f} s ({seconds_per_thousand(summary):.1f} s per 1,000 images)")
    for reason, count in summary.skipped.items():
        console.print(f"  left out: {count} ({escape(reason)})")


@dataset_app.command("combine")
def combine_command(
    folders: Annotated[list[Path], typer.Argument(help="YOLO folders: an export, rendered desks, real photos.")],
    out: Annotated[Path, typer.Option("--out", help="New or empty folder for the combined data.yaml.")],
) -> None:
    """One training set from several labelled folders (files linked; each source keeps the classes
    it labels completely). Train on OUT/data.yaml."""
    from models.corrections_dataset import combine

    from inspector.cli import console

    for folder in folders:
        if not folder.is_dir():
            raise _fail(f"{folder}: not a folder")
    try:
        summary = combine(folders, out)
    except InspectorError as error:
        raise _fail(error)
    console.print(f"wrote {escape(str(out / 'data.yaml'))}: " + ", ".join(f"{k} {v}" for k, v in summary["images"].items()))
