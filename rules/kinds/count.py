"""`count`: how many items of each class may stand on the desk (定数量)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from inspector.records import Desk, DeskItem, Violation
from rules.kinds import RuleParams, StandardInfo, register


class CountLimit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min: StrictInt = Field(0, ge=0)
    max: StrictInt | None = Field(None, ge=0)  # None: no upper bound

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class CountParams(RuleParams):
    class_fields: ClassVar[tuple[str, ...]] = ("limits",)

    limits: dict[str, CountLimit] | None = None  # default: min/max of the standard's items

    def resolve(self, standard: StandardInfo) -> Self:
        resolved = super().resolve(standard)
        if self.limits is not None:
            return resolved
        limits = {cls: CountLimit(min=lo, max=hi) for cls, (lo, hi) in standard.count_limits.items()}
        return resolved.model_copy(update={"limits": limits})


@register("count", CountParams)
def check(items: Sequence[DeskItem], desk: Desk, params: CountParams) -> list[Violation]:
    violations = []
    for class_id, limit in (params.limits or {}).items():
        ids = [item.id for item in items if item.class_name == class_id]
        zh, en = params.label_zh(class_id), params.label_en(class_id)
        if limit.max is not None and len(ids) > limit.max:
            violations.append(
                params.violation(
                    item_ids=ids,
                    measured=float(len(ids)),
                    required=float(limit.max),
                    unit="count",
                    message_en=f"{en}: {len(ids)} on the desk, at most {limit.max} allowed",
                    message_zh=f"{zh}共 {len(ids)} 个，最多允许 {limit.max} 个",
                )
            )
        elif len(ids) < limit.min:
            violations.append(
                params.violation(
                    measured=float(len(ids)),
                    required=float(limit.min),
                    unit="count",
                    message_en=f"{en}: {len(ids)} on the desk, at least {limit.min} required",
                    message_zh=f"{zh}共 {len(ids)} 个，至少应有 {limit.min} 个",
                )
            )
    return violations
