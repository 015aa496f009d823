"""`required`: classes that must be on the desk at least once (e.g. the name plate 桌牌)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from inspector.records import Desk, DeskItem, Violation
from rules.kinds import ClassList, RuleParams, register


class RequiredParams(RuleParams):
    class_fields: ClassVar[tuple[str, ...]] = ("classes",)

    classes: ClassList


@register("required", RequiredParams)
def check(items: Sequence[DeskItem], desk: Desk, params: RequiredParams) -> list[Violation]:
    present = {item.class_name for item in items}
    return [
        params.violation(
            measured=0.0,
            required=1.0,
            unit="count",
            message_en=f"no {params.label_en(class_id)} on the desk; it must be shown",
            message_zh=f"桌面未见{params.label_zh(class_id)}，须按要求摆放",
        )
        for class_id in params.classes
        if class_id not in present
    ]
