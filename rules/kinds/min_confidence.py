"""`min_confidence`: detections below the threshold are unsure and are not judged by other rules.

The engine splits items with `split_by_confidence`; each unsure item becomes a warning (never a
silent drop). Optionally, too many unsure items (a blocked or blurred camera) is a violation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field, StrictFloat, StrictInt

from inspector.records import Desk, DeskItem, Violation
from rules.kinds import RuleParams, Severity, register

DEFAULT_THRESHOLD = 0.5


class MinConfidenceParams(RuleParams):
    severity: Severity = "minor"
    threshold: StrictFloat = Field(DEFAULT_THRESHOLD, ge=0, le=1)
    max_unsure: StrictInt | None = Field(None, ge=0)  # None: unsure items only warn


def split_by_confidence(
    items: Sequence[DeskItem], threshold: float
) -> tuple[list[DeskItem], list[DeskItem]]:
    """(judged, unsure): unsure items have confidence strictly below the threshold."""
    judged = [item for item in items if item.confidence >= threshold]
    unsure = [item for item in items if item.confidence < threshold]
    return judged, unsure


def unsure_warning(item: DeskItem, threshold: float, label_zh: str, label_en: str) -> str:
    """One line, English then Chinese, telling a person to check this item by eye."""
    # rounded, 0.498 would read "0.50 < 0.50"; cut to two decimals it reads below the threshold
    shown = f"{math.floor(round(item.confidence * 100, 6)) / 100:.2f}"  # round first: 0.29 * 100 is 28.999…
    return (
        f"item {item.id} ({label_en}) confidence {shown} < {threshold:.2f}: not judged, check by eye"
        f" / {item.id}号{label_zh}置信度 {shown} 低于 {threshold:.2f}，未判定，请人工核查"
    )


@register("min_confidence", MinConfidenceParams)
def check(items: Sequence[DeskItem], desk: Desk, params: MinConfidenceParams) -> list[Violation]:
    # Unlike other kinds this one is given every item, unsure ones included.
    _, unsure = split_by_confidence(items, params.threshold)
    if params.max_unsure is None or len(unsure) <= params.max_unsure:
        return []
    return [
        params.violation(
            item_ids=[item.id for item in unsure],
            measured=float(len(unsure)),
            required=float(params.max_unsure),
            unit="count",
            message_en=(
                f"{len(unsure)} detections below confidence {params.threshold:.2f}, at most {params.max_unsure}"
                " allowed; check the camera view"
            ),
            message_zh=(
                f"{len(unsure)} 个物品置信度低于 {params.threshold:.2f}，最多允许 {params.max_unsure} 个，"
                "请检查摄像头画面"
            ),
        )
    ]
