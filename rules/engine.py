"""Evaluate a standard's rules against the items on one desk, and score the result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from inspector.errors import StandardError
from inspector.records import Desk, DeskItem, NotJudged, Violation
from rules.kinds import KINDS, RuleParams
from rules.kinds.min_confidence import (
    DEFAULT_THRESHOLD,
    MinConfidenceParams,
    split_by_confidence,
    unsure_warning,
)
from rules.standard import Standard

SEVERITY_WEIGHTS: Mapping[str, float] = MappingProxyType({"major": 1.0, "minor": 0.5})


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one desk against one standard."""

    violations: tuple[Violation, ...]  # decision fail or conditional_fail
    warnings: tuple[str, ...]  # one per unsure item (en / zh), never a silent drop
    judged_item_ids: tuple[int, ...]  # items the rules looked at
    unsure_item_ids: tuple[int, ...]  # below the confidence threshold: reported, not judged
    permitted: Mapping[int, bool]  # item id -> its class is on the whitelist (every item)
    conditional_passes: tuple[Violation, ...] = ()  # right side of the limit by less than U
    not_judged: tuple[NotJudged, ...] = ()  # rules that could not be judged for some items, and why
    unjudged_rules: tuple[str, ...] = ()  # rules not judged at all: their zone is not in the layout

    @property
    def verdict(self) -> str:
        """fail: something surely fails; check: nothing does, but something is conditional (a
        person should look); pass: every judged result is a sure pass."""
        if any(violation.decision == "fail" for violation in self.violations):
            return "fail"
        return "check" if self.violations or self.conditional_passes else "pass"

    @property
    def compliant(self) -> bool:
        return self.verdict == "pass"

    @property
    def failed_rule_ids(self) -> frozenset[str]:
        return frozenset(violation.rule for violation in self.violations)


def evaluate(standard: Standard, items: Sequence[DeskItem], desk: Desk) -> Evaluation:
    """Run every rule of `standard` on `items`. A rule whose zone the desk's layout does not draw is
    not judged (said so in `not_judged` and a warning); any other mismatch raises StandardError."""
    check_desk(standard, desk, zones=False)
    threshold = confidence_threshold(standard)
    judged, unsure = split_by_confidence(items, threshold)
    warnings = tuple(unsure_warning(item, threshold, *standard.labels(item.class_name)) for item in unsure)
    unjudged = missing_zones(standard, desk)
    if unjudged:
        warnings += (layout_warning(standard, desk),)

    findings = []
    for rule in standard.rules:
        if rule.id in unjudged:
            findings.append(zone_not_drawn(rule, unjudged[rule.id]))
            continue
        # Only min_confidence sees unsure items; every other rule judges confident ones alone.
        seen = items if rule.kind == "min_confidence" else judged
        findings += KINDS[rule.kind].check(seen, desk, rule)
    violations = [f for f in findings if isinstance(f, Violation) and f.decision != "conditional_pass"]
    conditional = [f for f in findings if isinstance(f, Violation) and f.decision == "conditional_pass"]

    permitted = standard.permitted_classes
    return Evaluation(
        violations=tuple(violations),
        conditional_passes=tuple(conditional),
        not_judged=tuple(f for f in findings if isinstance(f, NotJudged)),
        warnings=warnings,
        judged_item_ids=tuple(item.id for item in judged),
        unsure_item_ids=tuple(item.id for item in unsure),
        permitted=MappingProxyType({item.id: item.class_name in permitted for item in items}),
        unjudged_rules=tuple(unjudged),
    )


def confidence_threshold(standard: Standard) -> float:
    """Items below this confidence are unsure: warned about, not judged (SPEC min_confidence)."""
    for rule in standard.rules:
        if isinstance(rule, MinConfidenceParams):
            return rule.threshold
    return DEFAULT_THRESHOLD


def missing_zones(standard: Standard, desk: Desk) -> dict[str, list[str]]:
    """Rule id -> the zones it names that the desk's layout (定置图) does not draw."""
    missing = {rule.id: rule.missing_zones(desk) for rule in standard.rules}
    return {rule_id: zones for rule_id, zones in missing.items() if zones}


def layout_warning(standard: Standard, desk: Desk) -> str:
    """One line naming the rules a desk without some zones cannot have judged, and the zones to draw."""
    missing = missing_zones(standard, desk)
    if not missing:
        return ""
    rules = ", ".join(f"{rule_id} (zone {', '.join(zones)})" for rule_id, zones in missing.items())
    zones = ", ".join(dict.fromkeys(z for zs in missing.values() for z in zs))
    return (f"the layout has no zone {zones} of standard {standard.id!r}: rules {rules} are not judged; "
            f"draw the zones on the desk map (set-up page) or give a layout / 定置图缺少定置区 {zones}，"
            f"以下规则不判定：{'、'.join(missing)}")


def zone_not_drawn(rule, zones: list[str]) -> NotJudged:
    names = ", ".join(f"'{zone}'" for zone in zones)
    return NotJudged(rule=rule.id, kind=rule.kind, item_ids=[],
                     reason_en=f"zone {names} is not drawn in this camera's layout (定置图): draw it to have this rule judged",
                     reason_zh=f"本摄像头的定置图中没有定置区 {names}：画出后才能判定此规则")


def check_desk(standard: Standard, desk: Desk, zones: bool = True) -> None:
    """Raise StandardError if a rule refers to a zone (unless `zones` is False: such rules are then
    not judged) or an edge this desk does not have."""
    problems = [
        f"rule {rule.id!r} ({rule.kind}): {problem}" for rule in standard.rules
        for problem in (rule.desk_problems(desk) if zones else
                        [p for p in rule.desk_problems(desk) if p not in RuleParams.desk_problems(rule, desk)])
    ]
    if problems:
        raise StandardError("; ".join(problems), source=standard.source)


def score(standard: Standard, evaluation: Evaluation) -> float:
    """Weighted share of rules that passed (major 1, minor 0.5); 1.0 for a standard without rules."""
    # a rule not judged at all (its zone is not drawn) counts neither way
    rules = [rule for rule in standard.rules if rule.id not in evaluation.unjudged_rules]
    total = sum(SEVERITY_WEIGHTS[rule.severity] for rule in rules)
    failed = evaluation.failed_rule_ids
    passed = sum(SEVERITY_WEIGHTS[rule.severity] for rule in rules if rule.id not in failed)
    return passed / total if total else 1.0

