"""Evaluate a standard's rules against the items on one desk, and score the result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from inspector.errors import StandardError
from inspector.records import Desk, DeskItem, NotJudged, Violation
from rules.kinds import KINDS
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
    """Run every rule of `standard` on `items`; raises StandardError if the desk lacks a zone it needs."""
    check_desk(standard, desk)
    threshold = confidence_threshold(standard)
    judged, unsure = split_by_confidence(items, threshold)
    warnings = tuple(unsure_warning(item, threshold, *standard.labels(item.class_name)) for item in unsure)

    findings = []
    for rule in standard.rules:
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
    )


def confidence_threshold(standard: Standard) -> float:
    """Items below this confidence are unsure: warned about, not judged (SPEC min_confidence)."""
    for rule in standard.rules:
        if isinstance(rule, MinConfidenceParams):
            return rule.threshold
    return DEFAULT_THRESHOLD


def check_desk(standard: Standard, desk: Desk) -> None:
    """Raise StandardError if a rule refers to a zone or edge this desk's layout does not have."""
    problems = [
        f"rule {rule.id!r} ({rule.kind}): {problem}" for rule in standard.rules for problem in rule.desk_problems(desk)
    ]
    if problems:
        raise StandardError("; ".join(problems), source=standard.source)


def score(standard: Standard, evaluation: Evaluation) -> float:
    """Weighted share of rules that passed (major 1, minor 0.5); 1.0 for a standard without rules."""
    total = sum(SEVERITY_WEIGHTS[rule.severity] for rule in standard.rules)
    failed = evaluation.failed_rule_ids
    passed = sum(SEVERITY_WEIGHTS[rule.severity] for rule in standard.rules if rule.id not in failed)
    return passed / total if total else 1.0

