"""`permitted`: only whitelisted classes may stand on the desk (the standard's items + registered)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

from inspector.records import Desk, DeskItem, Violation
from rules.kinds import ClassList, RuleParams, StandardInfo, register


class PermittedParams(RuleParams):
    class_fields: ClassVar[tuple[str, ...]] = ("allowed",)

    allowed: ClassList | None = None  # default: every class the standard lists or registers

    def resolve(self, standard: StandardInfo) -> Self:
        resolved = super().resolve(standard)
        if self.allowed is not None:
            return resolved
        return resolved.model_copy(update={"allowed": tuple(sorted(standard.permitted_classes))})


@register("permitted", PermittedParams)
def check(items: Sequence[DeskItem], desk: Desk, params: PermittedParams) -> list[Violation]:
    allowed = set(params.allowed or ())
    return [
        params.violation(
            item_ids=[item.id],
            message_en=f"{params.item_en(item)} is not a permitted item; register it with the centre first",
            message_zh=f"{params.item_zh(item)}不在允许摆放的物品清单内，须先报备",
        )
        for item in items
        if item.class_name not in allowed
    ]
