"""Writing one inspection's files: report JSON, annotated photo, bird's-eye desk map."""

from __future__ import annotations

from pathlib import Path

import cv2

from calibration.camera import Camera
from inspector.drawing import MarginLine, RuleTerms, annotate, desk_map
from inspector.files import write_atomic
from inspector.records import Frame, Report


def margin_lines(standard, camera: Camera) -> list[MarginLine]:
    """The edge bands to draw: the largest min_cm asked of each desk edge by edge_margin rules, and
    which rules ask it (a result's ±U band is drawn at the edge its rule measured)."""
    widest: dict[int, float] = {}
    asked: dict[int, list[str]] = {}
    for rule in standard.rules_of_kind("edge_margin"):
        for edge in rule.edge_indices(camera.desk):
            widest[edge] = max(widest.get(edge, 0.0), float(rule.min_cm))
            asked.setdefault(edge, []).append(rule.id)
    return [MarginLine(edge, min_cm, tuple(asked[edge])) for edge, min_cm in sorted(widest.items())]


def rule_terms(standard) -> dict[str, RuleTerms]:
    """What each rule names, for the words on the pictures: its zone (zone, keep_clear) and the
    classes it asks for with their labels (a missing required item is named on the banner)."""
    labels = standard.label_table
    terms = {}
    for rule in standard.rules:
        zone = getattr(rule, "zone", None)
        classes = getattr(rule, "classes", None)
        named = classes if isinstance(classes, tuple) else ()
        terms[rule.id] = RuleTerms(zone=zone if isinstance(zone, str) else None,
                                   classes=tuple((c, *labels.get(c, (c, c))) for c in named))
    return terms


def render_pictures(frame: Frame, report: Report, camera: Camera, standard):
    margins = margin_lines(standard, camera)
    terms = rule_terms(standard)
    return (annotate(frame.image, report, camera, margins, terms),
            desk_map(frame.image, report, camera, margins, terms=terms))


def output_paths(out_dir: Path, stem: str) -> dict[str, Path]:
    """Where one inspection's files go: report JSON, annotated photo, desk map."""
    return {
        "report": out_dir / f"{stem}.report.json",
        "annotated": out_dir / f"{stem}.annotated.jpg",
        "desk_map": out_dir / f"{stem}.deskmap.png",
    }


def write_report(report: Report, out_dir: Path, stem: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = output_paths(out_dir, stem)["report"]
    write_atomic(path, report.to_json().encode("utf-8"))
    return path


def write_pictures(frame: Frame, report: Report, camera: Camera, standard, out_dir: Path, stem: str) -> dict[str, Path]:
    """The annotated photo and the desk map of an inspection (drawing them costs about what the
    detector does: the service draws them when first asked for, see service.inspecting)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    annotated, top_view = render_pictures(frame, report, camera, standard)
    paths = output_paths(out_dir, stem)
    ok, data = cv2.imencode(paths["annotated"].suffix, annotated, [cv2.IMWRITE_JPEG_QUALITY, 90])
    write_atomic(paths["annotated"], data.tobytes())
    ok, data = cv2.imencode(paths["desk_map"].suffix, top_view)
    write_atomic(paths["desk_map"], data.tobytes())
    return {"annotated": paths["annotated"], "desk_map": paths["desk_map"]}


def write_outputs(frame: Frame, report: Report, camera: Camera, standard, out_dir: Path, stem: str) -> dict[str, Path]:
    return {"report": write_report(report, out_dir, stem), **write_pictures(frame, report, camera, standard, out_dir, stem)}
