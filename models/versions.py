"""Model versions: which registry model is the current one, and how that changes.

The current model is recorded in the registry folder's `promoted.yaml` (a site's own registry,
$DESK_INSPECTOR_REGISTRY, else models/registry): its name, version, sha256 and a fingerprint of
what it does (its card without the recorded metrics and notes), when and by whom it was promoted,
the figures it was promoted on, and the models current before it, newest first, for `rollback`.
Without the file the current model is the bundled DEFAULT_MODEL, so a fresh checkout behaves as
before any promotion.

Every change is one atomic replace of the file (a temporary file beside it, then os.replace): a
reader (the service stats the file on each request) sees the old record or the new one, never half.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from inspector.errors import ModelError
from inspector.files import write_atomic
from models.registry import (DEFAULT_MODEL, REGISTRY_DIR, REGISTRY_ENV, ModelCard, _verified, read_card,
                             resolve_card)

PROMOTED_NAME = "promoted.yaml"
# card fields that describe the model without changing what it detects
_NOT_BEHAVIOUR = {"metrics", "notes", "training"}


def registry_dir() -> Path:
    """The registry folder candidates are trained into and promotions recorded in."""
    site = os.environ.get(REGISTRY_ENV, "").strip()
    return Path(site).expanduser() if site else REGISTRY_DIR


def promoted_path(registry: Path | None = None) -> Path:
    return Path(registry or registry_dir()) / PROMOTED_NAME


def find_card(name_or_path: str, registry: Path | None = None) -> Path:
    """A model's card: by path, in the given (or the site's) registry, else in the bundled one."""
    registry = Path(registry or registry_dir())
    try:
        return resolve_card(name_or_path, registry)
    except ModelError:
        if registry.resolve() == REGISTRY_DIR:
            raise
        return resolve_card(name_or_path, REGISTRY_DIR)


# -- what a model is ----------------------------------------------------------------------------
class ModelIdentity(BaseModel):
    """Enough to tell whether figures measured on a model still describe it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    sha256: str  # of the PyTorch weights, as every report's `model` names it
    fingerprint: str  # of the card without metrics, notes and recipe: every file's sha256, thresholds, sizes
    card: str  # the card's path

    def label(self) -> str:
        return f"{self.name} v{self.version}"


def fingerprint(card: ModelCard) -> str:
    data = card.model_dump(mode="json", exclude=_NOT_BEHAVIOUR)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def identify(card_path: Path) -> ModelIdentity:
    card = read_card(card_path)
    return ModelIdentity(name=card.name, version=card.version, sha256=card.sha256, fingerprint=fingerprint(card),
                         card=str(Path(card_path).resolve()))


def verify_files(card_path: Path) -> ModelCard:
    """Every weights file the card names exists and has the card's sha256; ModelError otherwise."""
    card = read_card(card_path)
    _verified(card_path, card.weights, card.sha256)
    if card.onnx:
        _verified(card_path, card.onnx, card.onnx_sha256)
    for spec in getattr(card, "backends", {}).values():  # further backends (INT8 ONNX, OpenVINO)
        _verified(card_path, spec.file, spec.sha256)
    return card


# -- the record ---------------------------------------------------------------------------------
class PromotionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    sha256: str
    fingerprint: str
    card: str = ""  # relative to the registry folder when inside it
    promoted_at: str | None = None
    promoted_by: str | None = None
    figures: dict[str, Any] | None = None
    note: str = ""
    rolled_back_at: str | None = None
    rolled_back_by: str | None = None

    def label(self) -> str:
        return f"{self.name} v{self.version}"


class PromotionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    current: PromotionEntry
    history: list[PromotionEntry] = []  # the models current before, newest first: rollback's targets
    rolled_back: list[PromotionEntry] = []  # models rollback left, newest first (kept for the record)


def read_record(registry: Path | None = None) -> PromotionRecord | None:
    path = promoted_path(registry)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, yaml.YAMLError) as error:
        raise ModelError(f"unreadable promotion record: {error}", str(path)) from None
    try:
        return PromotionRecord.model_validate(data)
    except ValidationError as error:
        raise ModelError(f"invalid promotion record: {error}", str(path)) from None


def write_record(record: PromotionRecord, registry: Path | None = None) -> Path:
    path = promoted_path(registry)
    text = ("# the current model and the ones before it (desk-inspector models promote / rollback); "
            "written by the tool, not by hand\n")
    text += yaml.safe_dump(record.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return write_atomic(path, text.encode("utf-8"), durable=True)


def entry_card(entry: PromotionEntry, registry: Path | None = None) -> Path:
    path = Path(entry.card)
    return path if path.is_absolute() else Path(registry or registry_dir()) / path


def _entry(identity: ModelIdentity, registry: Path, **fields) -> PromotionEntry:
    card = Path(identity.card)
    with contextlib.suppress(ValueError):  # inside the registry: kept relative, so the folder can move
        card = card.relative_to(Path(registry).resolve())
    return PromotionEntry(name=identity.name, version=identity.version, sha256=identity.sha256,
                          fingerprint=identity.fingerprint, card=card.as_posix(), **fields)


def default_entry(registry: Path | None = None) -> PromotionEntry:
    """The current model while nothing is promoted: the bundled default."""
    registry = Path(registry or registry_dir())
    return _entry(identify(find_card(DEFAULT_MODEL, registry)), registry,
                  note="the bundled default (current before any promotion)")


def current_entry(registry: Path | None = None) -> PromotionEntry:
    record = read_record(registry)
    return record.current if record else default_entry(registry)


def current_card(registry: Path | None = None) -> Path:
    record = read_record(registry)
    if record is None:
        return find_card(DEFAULT_MODEL, registry)
    card = entry_card(record.current, registry)
    if not card.is_file():
        raise ModelError(f"the promoted model {record.current.label()}'s card is missing ({card}): "
                         "restore it, or `desk-inspector models rollback`", str(promoted_path(registry)))
    return card


def current_model(registry: Path | None = None) -> str:
    """The model to use where none is named, as `--model` takes it: DEFAULT_MODEL while nothing is
    promoted, else the promoted model's name (or its card path where the name finds another card)."""
    record = read_record(registry)
    if record is None:
        return DEFAULT_MODEL
    card = current_card(registry)
    with contextlib.suppress(ModelError):
        if resolve_card(record.current.name).resolve() == card.resolve():
            return record.current.name
    return str(card)


def changed_since_promotion(entry: PromotionEntry, registry: Path | None = None) -> str | None:
    """Why the entry's model no longer is what was recorded (card missing or edited), or None."""
    card = entry_card(entry, registry)
    try:
        identity = identify(card)
    except ModelError as error:
        return error.message
    if identity.fingerprint != entry.fingerprint:
        return f"its card changed since it was recorded (now {identity.label()}, fingerprint {identity.fingerprint[:12]}…)"
    return None


def protected_names(registry: Path | None = None) -> set[str]:
    """Models in the promotion record (current and rollback targets): training never overwrites them."""
    record = read_record(registry)
    return {entry.name for entry in [record.current, *record.history]} if record else set()


def check_new_model_name(name: str, registry: Path | None = None) -> None:
    """ModelError if writing a model called `name` into `registry` would overwrite the current model
    or one rollback returns to (the bundled default counts while nothing is promoted)."""
    site = registry_dir()
    names = protected_names(site) | (protected_names(registry) if registry else set())
    if read_record(site) is None:
        names.add(DEFAULT_MODEL)
    if name in names:
        raise ModelError(f"{name!r} is the current model or one `models rollback` returns to: train the candidate "
                         "under a new name (e.g. with the date)", name)


# -- promote and roll back ----------------------------------------------------------------------
class GateRefused(ModelError):
    """The candidate is worse than the current model beyond a tolerance; `checks` say which figures."""

    def __init__(self, message: str, checks: list, source: str | None = None):
        super().__init__(message, source)
        self.checks = checks


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def user_name() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"


def promote(candidate: str, comparison: dict, tolerances=None, by: str | None = None,
            registry: Path | None = None) -> tuple[PromotionRecord, list]:
    """Make `candidate` the current model if the comparison (models.compare.compare_models, made
    against the current model) shows it no worse than the current one beyond the tolerances on each
    figure. Its files are verified first. Raises ModelError (GateRefused for worse figures); nothing
    is written unless it succeeds. Returns the new record and the checks."""
    from models.compare import DEFAULT_TOLERANCES, check_models, judge

    registry = Path(registry or registry_dir())
    card_path = find_card(candidate, registry)
    verify_files(card_path)
    before = read_record(registry)
    current = before.current if before else default_entry(registry)
    candidate_id = identify(card_path)
    if candidate_id.fingerprint == current.fingerprint:
        raise ModelError(f"{candidate_id.label()} is the current model already", candidate)
    check_models(comparison, candidate_id, current)
    tolerances = tolerances or DEFAULT_TOLERANCES
    checks = judge(comparison, tolerances)
    failed = [check for check in checks if check.passed is False]
    if failed:
        raise GateRefused(f"{candidate_id.label()} is worse than the current {current.label()} beyond the "
                          f"tolerance on {len(failed)} figure(s): " +
                          "; ".join(check.describe() for check in failed) + "; nothing written", checks, candidate)
    if not any(check.passed for check in checks):
        raise GateRefused("the comparison measured nothing to judge the candidate by (no labelled images, no "
                          "confirmed verdicts); nothing written", checks, candidate)
    if read_record(registry) != before:  # someone else promoted or rolled back meanwhile
        raise ModelError("the promotion record changed while comparing: compare again", str(promoted_path(registry)))
    figures = {key: value for key, value in comparison.items() if key != "folders"}
    figures["folders"] = {name: _without_lists(folder) for name, folder in comparison.get("folders", {}).items()}
    figures["tolerances"] = tolerances.model_dump()
    figures["checks"] = [check.as_dict() for check in checks]
    figures["passed"] = True
    entry = _entry(candidate_id, registry, promoted_at=_now(), promoted_by=by or user_name(), figures=figures)
    record = PromotionRecord(current=entry, history=[current, *(before.history if before else [])],
                             rolled_back=before.rolled_back if before else [])
    write_record(record, registry)
    return record, checks


def _without_lists(folder: dict) -> dict:
    """A compare folder's figures without the per-image disagreements (they stay in the JSON file)."""
    def strip(side):
        if not isinstance(side, dict):
            return side
        verdicts = side.get("verdicts")
        if isinstance(verdicts, dict):
            side = {**side, "verdicts": {k: v for k, v in verdicts.items() if k != "disagreements"}}
        return side
    return {key: strip(value) if key in ("candidate", "current") else value for key, value in folder.items()}


def rollback(by: str | None = None, registry: Path | None = None) -> PromotionRecord:
    """Make the model current before the present one current again (its files verified first)."""
    registry = Path(registry or registry_dir())
    record = read_record(registry)
    if record is None or not record.history:
        raise ModelError("nothing to roll back to: no model was current before this one", str(promoted_path(registry)))
    target = record.history[0]
    card = entry_card(target, registry)
    verify_files(card)
    changed = changed_since_promotion(target, registry)
    if changed:
        raise ModelError(f"cannot roll back to {target.label()}: {changed}; nothing written", str(card))
    left = record.current.model_copy(update={"rolled_back_at": _now(), "rolled_back_by": by or user_name()})
    new = PromotionRecord(current=target, history=record.history[1:], rolled_back=[left, *record.rolled_back])
    if read_record(registry) != record:
        raise ModelError("the promotion record changed meanwhile: try again", str(promoted_path(registry)))
    write_record(new, registry)
    return new
