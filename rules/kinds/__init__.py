"""Rule kinds: one small pure check per kind, registered by name next to its parameter model.

A kind is `check(items, desk, params) -> list[Violation]` plus a pydantic `RuleParams` subclass
whose fields are exactly what a standard writes for that rule (besides `kind`). Adding a kind is
one module in this package (found automatically) and one test file.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal, Protocol, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from inspector.classes import CLASS_LABELS
from inspector.records import Decision, Desk, DeskItem, NotJudged, Violation
from inspector.uncertainty import COVERAGE_FACTOR
from rules.decision import DecisionRule, decide

Severity = Literal["minor", "major"]
Unit = Literal["cm", "deg", "count"]


def _class_selector(value: object) -> Literal["all"] | tuple[str, ...]:
    # One friendly error instead of pydantic's per-union-member messages.
    if value == "all":
        return "all"
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise ValueError("expected 'all', a class id or a non-empty list of class ids")


def _class_list(value: object) -> tuple[str, ...]:
    if value == "all":
        raise ValueError("expected a class id or a list of class ids ('all' is not allowed here)")
    return _class_selector(value)  # type: ignore[return-value]


# `classes: all`, `classes: cup` or `classes: [cup, pen]`.
ClassSelector = Annotated[Literal["all"] | tuple[str, ...], BeforeValidator(_class_selector)]
# Like ClassSelector but naming classes explicitly.
ClassList = Annotated[tuple[str, ...], BeforeValidator(_class_list)]


class StandardInfo(Protocol):
    """What a rule may take from its standard to fill its defaults (see `RuleParams.resolve`)."""

    @property
    def label_table(self) -> Mapping[str, tuple[str, str]]: ...

    @property
    def permitted_classes(self) -> frozenset[str]: ...

    @property
    def count_limits(self) -> Mapping[str, tuple[int, int | None]]: ...

    @property
    def decision(self) -> str: ...

    @property
    def uncertainty(self): ...  # rules.standard.UncertaintySettings


class RuleParams(BaseModel):
    """One rule of a standard: its id, severity and the parameters of its kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str] = ""  # set by @register
    class_fields: ClassVar[tuple[str, ...]] = ()  # fields holding class ids, checked when loading
    zone_fields: ClassVar[tuple[str, ...]] = ()  # fields naming layout zones, checked against the desk
    # filled by resolve() from the standard, never written in a rule
    engine_fields: ClassVar[frozenset[str]] = frozenset({"labels", "decision", "coverage_factor", "extra_cm"})

    id: str = Field(min_length=1)
    severity: Severity = "major"  # a kind changes the default by redeclaring the field
    # Class id -> (zh, en), from the standard so that messages name registered items too.
    labels: dict[str, tuple[str, str]] = Field(default_factory=dict, exclude=True, repr=False)
    # The standard's decision rule and uncertainty settings (rules.decision, rules.standard)
    decision: DecisionRule = Field("guarded", exclude=True, repr=False)
    coverage_factor: float = Field(COVERAGE_FACTOR, exclude=True, repr=False)
    extra_cm: float = Field(0.0, exclude=True, repr=False)

    def resolve(self, standard: StandardInfo) -> Self:
        """Fill the defaults that come from the standard (labels, whitelists, counts, decisions)."""
        return self.model_copy(update={
            "labels": dict(standard.label_table), "decision": standard.decision,
            "coverage_factor": standard.uncertainty.coverage_factor, "extra_cm": standard.uncertainty.extra_cm,
        })

    def class_refs(self) -> list[tuple[str, str]]:
        """(field path, class id) for every class id this rule names, to check on load."""
        refs: list[tuple[str, str]] = []
        for name in self.class_fields:
            value = getattr(self, name)
            if value is None or value == "all":
                continue
            if isinstance(value, Mapping):
                refs += [(f"{name}.{key}", key) for key in value]
            else:
                refs += [(f"{name}[{i}]", class_id) for i, class_id in enumerate(value)]
        return refs

    def zone_names(self) -> list[str]:
        return [getattr(self, name) for name in self.zone_fields]

    def missing_zones(self, desk: Desk) -> list[str]:
        """The zones this rule names that the desk's layout (定置图) does not draw."""
        return [zone for zone in self.zone_names() if zone not in desk.zones_cm]

    def desk_problems(self, desk: Desk) -> list[str]:
        """What this rule needs from the desk layout but does not find there."""
        return [
            f"zone {zone!r} is not in the desk layout (zones: {', '.join(sorted(desk.zones_cm)) or 'none'})"
            for zone in self.missing_zones(desk)
        ]

    def label_zh(self, class_id: str) -> str:
        return self.labels.get(class_id, CLASS_LABELS.get(class_id, (class_id, class_id)))[0]

    def label_en(self, class_id: str) -> str:
        return self.labels.get(class_id, CLASS_LABELS.get(class_id, (class_id, class_id)))[1]

    def item_zh(self, item: DeskItem) -> str:
        return f"{item.id}号{self.label_zh(item.class_name)}"

    def item_en(self, item: DeskItem) -> str:
        return f"{self.label_en(item.class_name)} #{item.id}"

    def violation(
        self,
        *,
        message_en: str,
        message_zh: str,
        item_ids: Sequence[int] = (),
        measured: float | None = None,
        required: float | None = None,
        unit: Unit | None = None,
        uncertainty: float | None = None,
        decision: Decision = "fail",
    ) -> Violation:
        return Violation(
            rule=self.id,
            kind=self.kind,
            severity=self.severity,
            item_ids=list(item_ids),
            measured=measured,
            required=required,
            unit=unit,
            message_en=message_en,
            message_zh=message_zh,
            uncertainty=uncertainty,
            decision=decision,
        )

    def expanded(self, sigma: float | None) -> float | None:
        """U = k * u of a measured value's standard uncertainty, the standard's extra term included
        (for values in cm); None when nothing was propagated."""
        if sigma is None:
            return None
        return self.coverage_factor * math.hypot(sigma, self.extra_cm)

    def judged(
        self,
        item: DeskItem,
        *,
        measured: float,
        required: float,
        uncertainty: float | None,
        at_least: bool,
        unit: Unit,
        say: Callable[[str], tuple[str, str]],
    ) -> Violation | None:
        """The finding of one measured value: None for a sure pass, else a violation (fail or
        conditional fail) or a conditional pass. `say(shown)` gives the (en, zh) message with the
        measured value as shown ("2.2 ± 0.6", or "2.2" without an uncertainty)."""
        outcome = decide(measured, required, uncertainty, at_least=at_least, rule=self.decision)
        if outcome == "pass":
            return None
        shown = fmt(measured) if uncertainty is None else f"{fmt(measured)} ± {fmt(uncertainty)}"
        en, zh = say(shown)
        if outcome != "fail":
            en += "; within its uncertainty of the limit: check by eye"
            zh += "；测量不确定度内接近限值，请人工核查"
        return self.violation(item_ids=[item.id], measured=measured, required=required, unit=unit,
                              message_en=en, message_zh=zh, uncertainty=uncertainty, decision=outcome)

    def not_judged(self, items: Sequence[DeskItem], reason_en: str, reason_zh: str) -> NotJudged:
        return NotJudged(rule=self.id, kind=self.kind, item_ids=[item.id for item in items],
                         reason_en=reason_en, reason_zh=reason_zh)

    def cut_off(self, items: Sequence[DeskItem], what_en: str, what_zh: str, side: bool = False) -> NotJudged:
        """Not judged: the items' boxes are cut by the image border where the rule measures."""
        return self.not_judged(
            items, f"{what_en}: the item is cut off by the image border{' on that side' if side else ''}",
            f"{what_zh}：物品{'在该侧' if side else ''}被画面边缘截断")


def selects(classes: Literal["all"] | tuple[str, ...], class_id: str) -> bool:
    return classes == "all" or class_id in classes


def fmt(value: float) -> str:
    """A measured value as shown to people: 0.1 precision, never '-0.0'."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def fold_deg(angle_deg: float, period_deg: float = 90.0) -> float:
    """Angle folded into [-period/2, period/2): a rectangle looks the same every 90 degrees."""
    half = period_deg / 2.0
    return (angle_deg + half) % period_deg - half


# A check's findings: violations (decision fail or conditional_fail), conditional passes (a
# Violation with decision conditional_pass) and rules not judged for some items, with why.
Finding = Violation | NotJudged
Check = Callable[[Sequence[DeskItem], Desk, RuleParams], list[Finding]]


@dataclass(frozen=True)
class Kind:
    name: str
    params: type[RuleParams]
    check: Check


KINDS: dict[str, Kind] = {}


def register(name: str, params: type[RuleParams]) -> Callable[[Check], Check]:
    """Register `check` as rule kind `name` with its parameter model."""

    def decorate(check: Check) -> Check:
        if name in KINDS:
            raise RuntimeError(f"rule kind {name!r} registered twice")
        params.kind = name
        KINDS[name] = Kind(name, params, check)
        return check

    return decorate


def _load_kinds() -> None:
    # Every public module here is a kind; importing it runs its @register.
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_load_kinds()
