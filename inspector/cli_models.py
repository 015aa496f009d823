"""`desk-inspector models list|show|compare|promote|rollback`: the registry's models and which one
is current (thin layer over models.registry, models.compare and models.versions).

Exit codes: 0 done; 1 the gate refused the candidate (the figures are printed); 2 bad input (an
unknown model, missing or altered weights, a folder that is no labelled set, a stale comparison).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from typer.core import TyperGroup

from inspector.errors import InspectorError

EXIT_REFUSED = 1


class _ModelsGroup(TyperGroup):
    """`models NAME` still shows a card (the command's older form): a first word that is no
    sub-command is read as `show NAME`."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().resolve_command(ctx, args)


models_app = typer.Typer(cls=_ModelsGroup, add_completion=False, invoke_without_command=True,
                         help="The registry's models; compare a candidate, promote it through the gate, roll back.")


def _fail(error) -> typer.Exit:
    from inspector.cli import fail

    return fail(error)


def _console():
    from inspector.cli import console

    return console


@models_app.callback()
def models_main(ctx: typer.Context) -> None:
    """Without a sub-command: list the models (as `models list`)."""
    if ctx.invoked_subcommand is None:
        list_command()


def _current_card_path() -> tuple[Path | None, str]:
    from models.versions import current_card, read_record

    try:
        card = current_card()
        record = read_record()
    except InspectorError as error:
        return None, f"current model unknown: {error}"
    if record is None:
        return card.resolve(), "nothing promoted: the bundled default is current"
    entry = record.current
    return card.resolve(), f"promoted {entry.promoted_at or '?'} by {entry.promoted_by or '?'}"


@models_app.command("list")
def list_command() -> None:
    """Every model in the site's registry ($DESK_INSPECTOR_REGISTRY) and the bundled one; * marks the current."""
    from models.registry import REGISTRY_DIR, list_cards, search_path

    console = _console()
    try:
        cards = [entry for folder in search_path(REGISTRY_DIR) for entry in list_cards(folder)]
    except InspectorError as error:
        raise _fail(error)
    current, how = _current_card_path()
    if not cards:
        console.print("no models in the registry")
    for path, card in cards:
        # the card keeps figures per labelled set (real-val, synth-heldout...); older cards one flat set
        sets = {k: v for k, v in card.metrics.items() if isinstance(v, dict) and "mAP50" in v}
        mAP = ", ".join(f"{k} {v['mAP50']}" for k, v in sets.items()) or card.metrics.get("mAP50")
        backends = " + ".join(["pytorch", *(["onnx"] if card.onnx else []), *card.backends])
        mark = "*" if current is not None and path.resolve() == current else " "
        console.print(f"{mark} {card.name}  v{card.version}  {backends} (default {card.default_backend if card.onnx else 'torch'})  "
                      f"imgsz {card.imgsz}{' (%dx%d input)' % tuple(card.input_hw) if card.input_hw else ''}  {len(card.classes)} classes  confidence {card.confidence}"
                      f"{' (%d classes at their own)' % len(card.class_confidence) if card.class_confidence else ''}  "
                      f"mAP50 {mAP if mAP is not None else 'n/a'}  ({escape(str(path.parent))})")
    console.print(f"* current model ({escape(how)})")


@models_app.command("show")
def show_command(name: Annotated[str, typer.Argument(help="Registry model name or card path.")]) -> None:
    """One model's card, and where it stands in the promotion record."""
    import yaml

    from models.versions import find_card, read_record

    console = _console()
    from models.registry import read_card

    try:
        path = find_card(name)
        card = read_card(path)
        record = read_record()
    except InspectorError as error:
        raise _fail(error)
    console.print(escape(yaml.safe_dump(card.model_dump(), sort_keys=False, allow_unicode=True)))
    current, _ = _current_card_path()
    if current is not None and path.resolve() == current:
        console.print("this is the current model")
    elif record and any(entry.name == card.name for entry in record.history):
        console.print("a model current before (`models rollback` returns to the newest of those)")


def _print_checks(checks, candidate: str, current: str) -> None:
    console = _console()
    folders = list(dict.fromkeys(check.folder for check in checks))
    for folder in folders:
        console.print(f"[bold]{escape(folder)}[/]")
        console.print(f"  {'figure':28}{'candidate':>10}{'current':>10}{'change':>9}{'allowed':>9}  judged")
        for check in (c for c in checks if c.folder == folder):
            cell = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
            change = "-" if check.change is None else f"{check.change:+.3f}"
            verdict = ("[green]ok[/]" if check.passed else "[bold red]WORSE[/]") if check.passed is not None \
                else f"[dim]not judged: {escape(check.note)}[/]"
            console.print(f"  {escape(check.figure):28}{cell(check.candidate):>10}"
                          f"{cell(check.current):>10}{change:>9}{'-' + format(check.tolerance, '.3f'):>9}  {verdict}")
    console.print(f"candidate {escape(candidate)} against current {escape(current)}")


def _folders(on: list[str]) -> dict[str, Path]:
    from inspector.cli import _named_folder

    named = [_named_folder(text) for text in on]
    if len({name for name, _ in named}) != len(named):
        raise _fail("two folders have the same name: name them, e.g. --on real=FOLDER --on site=EXPORT")
    for _, folder in named:
        if not folder.is_dir():
            raise _fail(f"{folder}: not a folder")
    return dict(named)


def _label(identity: dict) -> str:
    return f"{identity.get('name')} v{identity.get('version')}"


def _progress(text: str) -> None:
    _console().print(f"[dim]evaluating {escape(text)}…[/]")


ToleranceOption = Annotated[list[str], typer.Option(
    "--tolerance", help="NAME=VALUE, repeatable: map50_drop (0.01), recall_drop (0.05), agreement_drop (0.02), "
                        "kappa_drop (0.05), min_instances (10: a class's recall is judged with this many items)")]
OnOption = Annotated[list[str], typer.Option(
    "--on", help="Held-out labelled folder (YOLO: images/<split>, labels/<split>; a corrections export adds "
                 "verdicts.jsonl), FOLDER or NAME=FOLDER; repeatable.")]
SplitOption = Annotated[str, typer.Option(help="Split under images/ (val, test, ...); '' for the whole folder.")]


@models_app.command("compare")
def compare_command(
    candidate: Annotated[str, typer.Argument(help="Candidate model: registry name or card path.")],
    current: Annotated[str, typer.Argument(help="Model to compare with: 'current' for the current one (`models list` marks it).")],
    on: OnOption,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the comparison JSON here (promote --comparison reads it).")] = None,
    split: SplitOption = "val",
    tolerance: ToleranceOption = [],  # noqa: B006 - typer's way to default a list option
) -> None:
    """Both models on the same held-out folders, and what the gate would say.

    mAP50 and per-class recall at each card's thresholds, and agreement with supervisor-confirmed
    verdicts (share identical, Cohen's kappa); then the gate's judgement at the tolerances. Exit 0
    whether or not the gate would pass (promote decides)."""
    from models.compare import compare_models, gate_passed, judge, parse_tolerances, save_comparison
    from models.versions import current_card

    folders = _folders(on)
    try:
        tolerances = parse_tolerances(tolerance)
        if current == "current":
            current = str(current_card())
        comparison = compare_models(candidate, current, folders, split or None, progress=_progress)
        if out:
            save_comparison(comparison, out)
    except InspectorError as error:
        raise _fail(error)
    checks = judge(comparison, tolerances)
    _print_checks(checks, _label(comparison["candidate"]), _label(comparison["current"]))
    console = _console()
    console.print(f"gate: {'would pass' if gate_passed(checks) else 'would refuse'} ({comparison['seconds']} s)")
    if out:
        console.print(f"written {escape(str(out))}")


@models_app.command("promote")
def promote_command(
    candidate: Annotated[str, typer.Argument(help="Candidate model: registry name or card path.")],
    comparison: Annotated[Optional[Path], typer.Option(help="A comparison JSON from `models compare CANDIDATE CURRENT --out`.")] = None,
    on: OnOption = [],  # noqa: B006
    split: SplitOption = "val",
    tolerance: ToleranceOption = [],  # noqa: B006
    by: Annotated[Optional[str], typer.Option(help="Who promotes (default: the login name).")] = None,
) -> None:
    """Make CANDIDATE the current model, if the gate lets it through.

    The service picks it up without a restart, the batch at its next run. It must be no worse than the current one beyond the tolerance on every figure: from a
    saved comparison, or compared now --on held-out folders. Refused: exit 1, the figures printed,
    nothing written."""
    from models.compare import compare_models, load_comparison, parse_tolerances
    from models.versions import GateRefused, current_card, promote

    console = _console()
    if (comparison is None) == (not on):
        raise _fail("give either --comparison FILE (from `models compare`) or --on FOLDER (compare now)")
    try:
        tolerances = parse_tolerances(tolerance)
        if comparison is not None:
            figures = load_comparison(comparison)
        else:
            figures = compare_models(candidate, str(current_card()), _folders(on), split or None, progress=_progress)
        record, checks = promote(candidate, figures, tolerances, by=by)
    except GateRefused as refused:
        _print_checks(refused.checks, _label(figures["candidate"]), _label(figures["current"]))
        console.print(f"[bold red]refused:[/] {escape(refused.message)}")
        raise typer.Exit(EXIT_REFUSED)
    except InspectorError as error:
        raise _fail(error)
    _print_checks(checks, record.current.label(), record.history[0].label())
    console.print(f"[bold green]promoted[/] {escape(record.current.label())} (was {escape(record.history[0].label())}); "
                  "the service uses it from its next request, the batch from its next run")


@models_app.command("rollback")
def rollback_command(
    by: Annotated[Optional[str], typer.Option(help="Who rolls back (default: the login name).")] = None,
) -> None:
    """Return to the model current before this one (its files verified first)."""
    from models.versions import rollback

    try:
        record = rollback(by=by)
    except InspectorError as error:
        raise _fail(error)
    left = record.rolled_back[0]
    _console().print(f"rolled back: {escape(record.current.label())} is current again (was {escape(left.label())})")
