"""Which inspections a supervisor should look at first.

A person's look is worth most where it can change a verdict or teach the detector most: a
conditional decision (measured within its uncertainty of the limit), a detection near its class's
threshold (a little more or less confidence and it appears or vanishes), a rule that could not be
judged, and items of the classes the model finds worst on real photos. The lowest confidences
alone are not that: a box at 0.05 below a threshold of 0.3 was never shown. Pure functions over
stored reports, so the queue is the same wherever it is computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# weights of each reason (points); a verdict that could flip counts most
CHECK_VERDICT_POINTS = 4.0
CONDITIONAL_POINTS = 2.0  # per conditional pass or conditional fail
NEAR_THRESHOLD_POINTS = 1.0  # per detection within NEAR_THRESHOLD of its class threshold
NOT_JUDGED_POINTS = 1.5  # per rule that could not be judged for some items
WEAK_CLASS_POINTS = 1.0  # per item, times (1 - the class's AP50 on real photos)
NEAR_THRESHOLD = 0.1
MAX_PER_REASON = 3  # one photo with 40 boxes near the threshold is not 40 times as useful


@dataclass(frozen=True)
class ModelHints:
    """What the queue knows of the model: each class's threshold and how well it does on real photos."""

    threshold: float = 0.25
    class_threshold: Mapping[str, float] = field(default_factory=dict)
    class_ap50: Mapping[str, float] = field(default_factory=dict)  # real photos; a class absent: not measured

    def threshold_of(self, class_name: str) -> float:
        return self.class_threshold.get(class_name, self.threshold)


@dataclass(frozen=True)
class ReviewReason:
    code: str  # check_verdict | conditional | near_threshold | not_judged | weak_class
    points: float
    text_en: str
    text_zh: str


@dataclass(frozen=True)
class ReviewCandidate:
    inspection_id: int
    priority: float
    reasons: tuple[ReviewReason, ...]


def hints_from_card(card) -> ModelHints:
    """Thresholds from the card, AP50 per class from its real-photo metrics (any set whose name
    starts with 'real')."""
    ap50: dict[str, float] = {}
    for name, metrics in (getattr(card, "metrics", None) or {}).items():
        if not str(name).startswith("real") or not isinstance(metrics, dict):
            continue
        for class_name, figures in (metrics.get("per_class") or {}).items():
            if isinstance(figures, dict) and "ap50" in figures:
                ap50[class_name] = min(ap50.get(class_name, 1.0), float(figures["ap50"]))
    return ModelHints(threshold=float(card.confidence), class_threshold=dict(card.class_confidence), class_ap50=ap50)


def review_reasons(report: Mapping, hints: ModelHints) -> tuple[ReviewReason, ...]:
    """Why a person should look at this report, most useful first (empty: nothing to gain)."""
    reasons: list[ReviewReason] = []
    if report.get("verdict") == "check":
        reasons.append(ReviewReason("check_verdict", CHECK_VERDICT_POINTS,
                                    "verdict could go either way: check by eye", "结论不确定，需人工查看"))
    conditional = [v for v in report.get("violations", []) if v.get("decision") == "conditional_fail"]
    conditional += list(report.get("conditional_passes", []))
    if conditional:
        n = min(len(conditional), MAX_PER_REASON)
        rules = ", ".join(sorted({str(v.get("rule")) for v in conditional}))
        reasons.append(ReviewReason("conditional", CONDITIONAL_POINTS * n,
                                    f"{len(conditional)} measurement(s) within their uncertainty of the limit ({rules})",
                                    f"{len(conditional)} 项测量值在限值的不确定度内（{rules}）"))
    near = [item for item in report.get("items", [])
            if abs(float(item.get("confidence", 1.0)) - hints.threshold_of(str(item.get("class")))) < NEAR_THRESHOLD]
    if near:
        names = ", ".join(f"#{item['id']} {item['class']} {float(item['confidence']):.2f}" for item in near[:MAX_PER_REASON])
        reasons.append(ReviewReason("near_threshold", NEAR_THRESHOLD_POINTS * min(len(near), MAX_PER_REASON),
                                    f"{len(near)} detection(s) near their class threshold ({names})",
                                    f"{len(near)} 个检测接近阈值（{names}）"))
    not_judged = list(report.get("not_judged", []))
    if not_judged:
        rules = ", ".join(sorted({str(n.get("rule")) for n in not_judged}))
        reasons.append(ReviewReason("not_judged", NOT_JUDGED_POINTS * min(len(not_judged), MAX_PER_REASON),
                                    f"{len(not_judged)} rule(s) not judged ({rules})",
                                    f"{len(not_judged)} 条规则未能判定（{rules}）"))
    weak = [(item["class"], hints.class_ap50[item["class"]]) for item in report.get("items", [])
            if item.get("class") in hints.class_ap50]
    if weak:
        weak.sort(key=lambda pair: pair[1])
        points = sum(WEAK_CLASS_POINTS * (1.0 - ap) for _, ap in weak[:MAX_PER_REASON])
        names = ", ".join(f"{name} (AP50 {ap:.2f})" for name, ap in dict(weak).items())
        reasons.append(ReviewReason("weak_class", round(points, 4),
                                    f"classes the model finds least well on real photos: {names}",
                                    f"模型在真实照片上较弱的类别：{names}"))
    return tuple(sorted(reasons, key=lambda r: -r.points))


def rank(reports: Mapping[int, Mapping], hints: ModelHints, limit: int) -> list[ReviewCandidate]:
    """The `limit` most useful of the reports (inspection id -> report), best first; ties go to the
    newer inspection (the higher id). Reports with no reason are left out."""
    candidates = []
    for inspection_id, report in reports.items():
        reasons = review_reasons(report, hints)
        if reasons:
            candidates.append(ReviewCandidate(inspection_id, round(sum(r.points for r in reasons), 4), reasons))
    candidates.sort(key=lambda c: (-c.priority, -c.inspection_id))
    return candidates[:max(limit, 0)]
