"""Uncertainty coverage: do the inspector's margin uncertainties U (k = 2) hold the true margins?

Renders synthetic desks the project was not tuned on (models/synth, seeds from --seed only), seen
oblique 30-65° and near-overhead 0-10° from vertical, with lens distortion on about 30 % of the
cameras, photo effects, clutter and a share of items built unlike their class's typical shape
(models.synth.scene.make_atypical). Each desk is calibrated the way a user does it: 4 clicked desk
corners (1 px click noise), plus the true lens (K and distortion, as a checkerboard gives) where the
lens distorts. Then the real product path, `inspector.pipeline.inspect` with the bundled detector,
inspects the photo. Report items are matched to the true items (same class, box IoU >= 0.5; items
cut by the frame are left out), and for each matched item and each desk edge the measured margin
(the report footprint's distance to that edge) is compared with the true one (the mesh's).

Printed: coverage (share of true margins within measured ± U) by view, edge, class and shape; the
median U; how decisions come out with the guard band (rules.decision, ILAC-G8) at the standard's
limit and at limits drawn within ±3 cm of each true margin (where decisions are hard); and the
targets, met or missed. Exit code 0 iff all targets are met.

    python bench/uncertainty_coverage.py [--scenes 800] [--seed 1101] [--atypical-share 0.3]
                                         [--no-detector] [--json out.json]

`--no-detector` feeds each item's true image box as its detection: the geometry alone, without
the detector's box errors and misses.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.camera import Camera, CameraFile, fit_camera  # noqa: E402
from inspector.records import Detection, Frame, Report  # noqa: E402
from models.synth.render import Rendered, render  # noqa: E402
from models.synth.scene import Scene, sample_camera, sample_desk, sample_scene  # noqa: E402
from rules.decision import decide  # noqa: E402
from rules.standard import Standard, load_standard  # noqa: E402

VIEWS = {"oblique 30-65°": (30.0, 65.0), "overhead 0-10°": (0.0, 10.0)}  # as bench/geometry_accuracy.py
EDGES = ("front", "back", "left", "right")
CLICK_NOISE_PX = 1.0  # sigma of a clicked desk corner, per axis
MIN_IOU = 0.5
IN_IMAGE_MIN = 0.999  # a truth box cut by the frame is not the item's whole box
NEAR_LIMIT_CM = 3.0  # hard limits: drawn within ± this of each true margin
# the front-counter standard's layout (a 160 x 80 cm desk), scaled to each sampled desk: its zone
# rules need the zones to evaluate at all
LAYOUT_160X80 = {
    "monitor": [[95, 40], [155, 40], [155, 75], [95, 75]],
    "document_camera": [[5, 35], [40, 35], [40, 75], [5, 75]],
    "cup": [[140, 12], [158, 12], [158, 32], [140, 32]],
    "pass_through": [[60, 0], [95, 0], [95, 25], [60, 25]],
}
# targets: (low, high) bounds on a share
COVERAGE_TARGET = (0.90, 0.98)
CONDITIONAL_MAX = 0.10  # of judged margins at the standard's limit
WRONG_SURE_MAX = 0.01  # of sure (pass / fail) guarded decisions


@dataclass(frozen=True)
class MarginRow:
    """One matched item's margin to one desk edge, measured and true, with its U and limits."""

    scene: int
    view: str
    distorted: bool
    class_name: str
    atypical: bool
    judged: bool  # the rules judged the item (report item `judged`)
    edge: str
    true_cm: float
    measured_cm: float
    u_cm: float | None  # expanded (k = 2); None: the report gave none
    standard_limit_cm: float | None  # the standard's edge_margin limit for this edge, if it has one
    near_limit_cm: float  # a limit drawn within ±NEAR_LIMIT_CM of the true margin

    @property
    def error_cm(self) -> float:
        return self.measured_cm - self.true_cm


@dataclass(frozen=True)
class Decision:
    outcome: str  # pass / conditional_pass / conditional_fail / fail
    truly_meets: bool  # the true margin is at least the limit

    @property
    def sure(self) -> bool:
        return self.outcome in ("pass", "fail")

    @property
    def wrong(self) -> bool:
        """A sure decision the truth contradicts."""
        return (self.outcome == "pass" and not self.truly_meets) or (self.outcome == "fail" and self.truly_meets)


# -- pure helpers ----------------------------------------------------------------------------------
def edge_margins_cm(footprint_cm: Iterable[Sequence[float]], width_cm: float, depth_cm: float) -> dict[str, float]:
    """Inward distance of the footprint's extreme to each edge of the desk (0,0)-(W,0)-(W,D)-(0,D),
    front edge y = 0; negative where it hangs over."""
    xy = np.asarray(list(footprint_cm), dtype=float)
    return {"front": float(xy[:, 1].min()), "back": float(depth_cm - xy[:, 1].max()),
            "left": float(xy[:, 0].min()), "right": float(width_cm - xy[:, 0].max())}


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_items(found: Sequence[tuple[str, Sequence[float]]], truth: Sequence[tuple[str, Sequence[float]]],
                min_iou: float = MIN_IOU) -> list[tuple[int, int]]:
    """(found index, truth index) pairs of one class, greedy by IoU, each side used once."""
    pairs = sorted(((box_iou(fb, tb), i, j) for i, (fc, fb) in enumerate(found)
                    for j, (tc, tb) in enumerate(truth) if fc == tc), reverse=True)
    used_found, used_truth, matched = set(), set(), []
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i in used_found or j in used_truth:
            continue
        used_found.add(i)
        used_truth.add(j)
        matched.append((i, j))
    return sorted(matched)


def covered(row: MarginRow) -> bool:
    """The true margin lies within measured ± U (a missing U counts as 0)."""
    return abs(row.error_cm) <= (row.u_cm or 0.0) + 1e-9


def coverage(rows: Sequence[MarginRow]) -> float:
    return float(np.mean([covered(r) for r in rows])) if rows else math.nan


def judge(row: MarginRow, limit_cm: float, rule: str = "guarded") -> Decision:
    """How the margin is decided against an at-least limit, and whether the truth meets it."""
    return Decision(decide(row.measured_cm, limit_cm, row.u_cm, at_least=True, rule=rule), row.true_cm >= limit_cm)


def decision_shares(decisions: Sequence[Decision]) -> dict[str, float]:
    """Share of conditional outcomes, and of wrong ones among the sure."""
    sure = [d for d in decisions if d.sure]
    return {"n": len(decisions), "conditional": 1 - len(sure) / len(decisions) if decisions else math.nan,
            "n_sure": len(sure), "wrong_sure": float(np.mean([d.wrong for d in sure])) if sure else math.nan}


def ideal_wrong_sure(rows: Sequence[MarginRow], limits: Sequence[float]) -> float:
    """The share of sure guarded decisions that would be wrong were each error normal with sigma
    U / 2 (U exactly right): a reference, as near a hard limit even a true U errs sometimes."""
    def above(z: float) -> float:  # P(Z >= z)
        return 0.5 * math.erfc(z / math.sqrt(2.0))

    wrong = sure = 0.0
    for row, limit in zip(rows, limits):
        if not row.u_cm:
            continue
        u, sigma, offset = row.u_cm, row.u_cm / 2.0, limit - row.true_cm
        wrong += above((u + abs(offset)) / sigma)  # measured beyond U on the side the truth is not
        sure += above((u + offset) / sigma) + above((u - offset) / sigma)
    return wrong / sure if sure > 0 else math.nan


def standard_edge_limits(standard: Standard) -> dict[str, float]:
    """Edge name -> the strictest `edge_margin` limit the standard sets on it (rules for all classes)."""
    limits: dict[str, float] = {}
    for rule in standard.rules_of_kind("edge_margin"):
        edges = EDGES if rule.edges == "all" else [e for e in rule.edges if e in EDGES]
        for edge in edges:
            limits[edge] = max(limits.get(edge, -math.inf), float(rule.min_cm))
    return limits


def scaled_layout(width_cm: float, depth_cm: float) -> dict[str, list[list[float]]]:
    sx, sy = width_cm / 160.0, depth_cm / 80.0
    return {name: [[round(x * sx, 2), round(y * sy, 2)] for x, y in pts] for name, pts in LAYOUT_160X80.items()}


# -- one scene -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SceneSetup:
    index: int
    view: str
    scene: Scene
    shot: Rendered
    camera: Camera


def make_scene(seed: int, index: int, atypical_share: float) -> SceneSetup:
    """Scene `index` of a run: its own generator from (seed, index), so a shorter run is a prefix."""
    rng = np.random.default_rng([seed, index])
    view = list(VIEWS)[index % len(VIEWS)]
    desk = sample_desk(rng)
    camera_spec = sample_camera(rng, desk, tilt_deg_range=VIEWS[view])  # its distortion_prob: 0.3
    scene = sample_scene(rng, desk=desk, camera=camera_spec, atypical_share=atypical_share)
    shot = render(scene, rng, effects=True)
    clicked = shot.desk_corners_px + rng.normal(0.0, CLICK_NOISE_PX, size=(4, 2))
    corners_cm = [(0.0, 0.0), (desk.width_cm, 0.0), (desk.width_cm, desk.depth_cm), (0.0, desk.depth_cm)]
    lens = shot.camera
    spec = CameraFile(
        camera_id="bench", image_size=lens.image_size, desk={"width_cm": desk.width_cm, "depth_cm": desk.depth_cm},
        points=[{"image_px": (float(x), float(y)), "desk_cm": c} for (x, y), c in zip(clicked, corners_cm)],
        # a distorting lens is calibrated with a checkerboard (K and dist known); a plain one is not
        intrinsics={"K": lens.K_array.tolist(), "dist": list(lens.dist)} if lens.has_distortion else None,
        layout={"zones": scaled_layout(desk.width_cm, desk.depth_cm)},
    )
    return SceneSetup(index, view, scene, shot, fit_camera(spec))


def true_detections(shot: Rendered) -> list[Detection]:
    """Every item's true full image box as a detection (--no-detector)."""
    return [Detection(t.class_name, 0.9, tuple(t.bbox_full_px)) for t in shot.items_truth
            if t.bbox_full_px is not None and t.visible_px > 0]


def margin_rows(setup: SceneSetup, report: Report, edge_limits: dict[str, float],
                rng: np.random.Generator) -> tuple[list[MarginRow], dict[str, int]]:
    """Rows for the report items matched to whole (uncut) true items; counts of what matched."""
    desk = setup.scene.desk
    truths = [t for t in setup.shot.items_truth if t.bbox_full_px is not None and t.in_image_fraction >= IN_IMAGE_MIN]
    found = [(item.class_, item.bbox_px) for item in report.items]
    pairs = match_items(found, [(t.class_name, t.bbox_full_px) for t in truths])
    rows = []
    for i, j in pairs:
        item, truth = report.items[i], truths[j]
        measured = edge_margins_cm(item.footprint_cm, desk.width_cm, desk.depth_cm)
        true = edge_margins_cm(truth.footprint_cm, desk.width_cm, desk.depth_cm)
        u = item.uncertainty_cm or {}
        for edge in EDGES:
            rows.append(MarginRow(
                scene=setup.index, view=setup.view, distorted=setup.shot.camera.has_distortion,
                class_name=truth.class_name, atypical=setup.scene.items[truth.index].atypical, judged=item.judged,
                edge=edge, true_cm=true[edge], measured_cm=measured[edge], u_cm=u.get(edge),
                standard_limit_cm=edge_limits.get(edge),
                near_limit_cm=true[edge] + float(rng.uniform(-NEAR_LIMIT_CM, NEAR_LIMIT_CM))))
    atypical = [setup.scene.items[t.index].atypical for t in truths]
    return rows, {"truth_items": len(truths), "report_items": len(report.items), "matched": len(pairs),
                  "atypical_truth_items": sum(atypical), "atypical_matched": sum(atypical[j] for _, j in pairs)}


def run(scenes: int, seed: int, atypical_share: float, standard_path: str, use_detector: bool,
        progress: Callable[[int, float], None] = lambda done, seconds: None) -> tuple[list[MarginRow], dict]:
    from inspector.pipeline import inspect

    standard = load_standard(standard_path)
    edge_limits = standard_edge_limits(standard)
    detector = None
    if use_detector:
        from models.registry import DEFAULT_MODEL, load_detector

        detector = load_detector(DEFAULT_MODEL, extra_ids=set(standard.permitted_classes))
    rows: list[MarginRow] = []
    counts: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for index in range(scenes):
        setup = make_scene(seed, index, atypical_share)
        frame = Frame(image=setup.shot.image, source=f"scene-{index:04d}", camera_id="bench")
        if detector is not None:
            report = inspect(frame, setup.camera, standard, detector=detector)
        else:
            report = inspect(frame, setup.camera, standard, detections=true_detections(setup.shot),
                             detections_source="true boxes")
        scene_rows, scene_counts = margin_rows(setup, report, edge_limits, np.random.default_rng([seed, index, 1]))
        rows += scene_rows
        for key, value in scene_counts.items():
            counts[key] += value
        progress(index + 1, time.perf_counter() - started)
    return rows, {**counts, "seconds": time.perf_counter() - started, "edge_limits": edge_limits}


# -- summary ---------------------------------------------------------------------------------------
def groups(rows: Sequence[MarginRow]) -> dict[str, list[MarginRow]]:
    out: dict[str, list[MarginRow]] = defaultdict(list)
    for r in rows:
        out["all"].append(r)
        out[f"view: {r.view}"].append(r)
        out[f"edge: {'front' if r.edge == 'front' else 'back/left/right'}"].append(r)
        out[f"lens: {'distorted (K+dist given)' if r.distorted else 'plain (4 corners only)'}"].append(r)
        out[f"shape: {'atypical' if r.atypical else 'typical'}"].append(r)
        out[f"class: {r.class_name}{' (atypical)' if r.atypical else ''}"].append(r)
    return out


def group_line(name: str, rows: Sequence[MarginRow]) -> dict:
    errors = np.abs([r.error_cm for r in rows])
    us = [r.u_cm for r in rows if r.u_cm is not None]
    return {"group": name, "n": len(rows), "coverage": coverage(rows),
            "median_u_cm": float(np.median(us)) if us else math.nan,
            "median_abs_error_cm": float(np.median(errors)), "p95_abs_error_cm": float(np.percentile(errors, 95))}


def decisions_at(rows: Sequence[MarginRow], which: str, rule: str = "guarded") -> list[Decision]:
    if which == "standard":
        return [judge(r, r.standard_limit_cm, rule) for r in rows if r.judged and r.standard_limit_cm is not None]
    return [judge(r, r.near_limit_cm, rule) for r in rows if r.judged]


def targets(rows: Sequence[MarginRow]) -> list[tuple[str, float, str, bool]]:
    """(name, value, wanted, met) for each target."""
    low, high = COVERAGE_TARGET
    out = []
    for name, selected in [("coverage, all", rows)] + [(f"coverage, {v}", [r for r in rows if r.view == v])
                                                         for v in VIEWS]:
        value = coverage(selected)
        out.append((name, value, f"{low:.2f}-{high:.2f}", bool(low <= value <= high)))
    at_standard = decision_shares(decisions_at(rows, "standard"))
    out.append(("conditional at the standard's limit", at_standard["conditional"], f"< {CONDITIONAL_MAX:.0%}",
                bool(at_standard["conditional"] < CONDITIONAL_MAX)))
    for which in ("standard", "near"):
        shares = decision_shares(decisions_at(rows, which))
        label = "the standard's limit" if which == "standard" else f"limits within ±{NEAR_LIMIT_CM:g} cm of truth"
        wrong = shares["wrong_sure"]
        out.append((f"wrong sure decisions at {label}", wrong, f"< {WRONG_SURE_MAX:.0%}",
                    bool(math.isnan(wrong) or wrong < WRONG_SURE_MAX)))
    return out


def print_summary(rows: Sequence[MarginRow], info: dict, use_detector: bool) -> bool:
    missing_u = sum(r.u_cm is None for r in rows)
    print(f"{info['scenes']} scenes, {info['seconds'] / max(info['scenes'], 1):.1f} s each; "
          f"{'bundled detector' if use_detector else 'true boxes as detections (--no-detector)'}: "
          f"{info['matched']} of {info['truth_items']} whole true items matched "
          f"({info['report_items'] - info['matched']} report items unmatched; atypical: {info['atypical_matched']} "
          f"of {info['atypical_truth_items']} matched); {len(rows)} margins")
    if missing_u:
        print(f"NOTE: {missing_u} of {len(rows)} margins came without an uncertainty (uncertainty_cm None): "
              f"taken as U = 0")
    print(f"{'group':44} {'n':>5} {'cover':>6} {'med U':>6} {'med|e|':>7} {'p95|e|':>7}")
    table = groups(rows)
    for name in sorted(table, key=lambda g: (g != "all", g.split(":")[0] == "class", g)):
        line = group_line(name, table[name])
        print(f"{name:44} {line['n']:5d} {line['coverage']:6.3f} {line['median_u_cm']:6.2f} "
              f"{line['median_abs_error_cm']:7.2f} {line['p95_abs_error_cm']:7.2f}")
    limits = ", ".join(f"{edge} {limit:g} cm" for edge, limit in info["edge_limits"].items()) or "none"
    for which, label in (("standard", f"the standard's limits ({limits}), judged items"),
                         ("near", f"limits within ±{NEAR_LIMIT_CM:g} cm of each true margin, judged items")):
        guarded = decision_shares(decisions_at(rows, which))
        simple = decision_shares(decisions_at(rows, which, rule="simple"))
        judged = [r for r in rows if r.judged and (which == "near" or r.standard_limit_cm is not None)]
        ideal = ideal_wrong_sure(judged, [r.near_limit_cm if which == "near" else r.standard_limit_cm for r in judged])
        print(f"decisions at {label}: {guarded['n']} margins, {guarded['conditional']:.1%} conditional, "
              f"{guarded['wrong_sure']:.2%} of {guarded['n_sure']} sure ones wrong (a normal error of "
              f"sigma U/2 would give {ideal:.2%}; simple rule, no guard band: {simple['wrong_sure']:.2%})")
    ok = True
    for name, value, wanted, met in targets(rows):
        ok = ok and met
        print(f"target {name}: {value:.3f} (wanted {wanted}) -> {'met' if met else 'MISSED'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=800, help="scenes, alternating the two views")
    parser.add_argument("--seed", type=int, default=1101, help="the only source of randomness")
    parser.add_argument("--atypical-share", type=float, default=0.3,
                        help="share of mice, phones, document cameras, monitors and cups built atypically")
    parser.add_argument("--standard", default="rules/standards/front-counter.yaml")
    parser.add_argument("--no-detector", action="store_true", help="feed the true boxes as detections")
    parser.add_argument("--json", type=Path, help="also write the rows and the summary here")
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(TextColumn("scenes"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("scenes", total=args.scenes, rate="")
        every = max(1, args.scenes // 20)

        def progress(done: int, seconds: float) -> None:
            bar.update(task, completed=done, rate=f"{seconds / done:.2f} s/scene")
            if not console.is_terminal and (done % every == 0 or done == args.scenes):  # a log: no live bar
                print(f"{done}/{args.scenes} scenes, {seconds / done:.2f} s/scene", file=sys.stderr, flush=True)

        rows, info = run(args.scenes, args.seed, args.atypical_share, args.standard, not args.no_detector, progress)
    info["scenes"] = args.scenes
    if not rows:
        print("no item was matched: nothing to measure")
        return 1
    ok = print_summary(rows, info, not args.no_detector)
    if args.json:
        summary = {"settings": vars(args) | {"json": str(args.json)}, **info,
                   "groups": [group_line(n, g) for n, g in groups(rows).items()],
                   "targets": [{"name": n, "value": v, "wanted": w, "met": m} for n, v, w, m in targets(rows)]}
        args.json.write_text(json.dumps({"summary": summary, "rows": [asdict(r) for r in rows]}, indent=1,
                                        default=float))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
