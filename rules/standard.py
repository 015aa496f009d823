"""A desk layout standard (定置标准): permitted items with counts and sizes, registered extras, rules.

Loaded from YAML (JSON accepted) and validated on load; every problem is reported as
`StandardError` naming the file, the field path (e.g. `rules[3].min_cm`) and what is wrong.
Zone names are checked later, against the desk being evaluated (see `rules.engine`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from inspector.classes import CLASS_LABELS, CLASS_PRIORS_CM
from inspector.errors import StandardError
from rules.kinds import KINDS, RuleParams

# Footprint width, depth and height for a registered class the standard gives no size for.
DEFAULT_PRIOR_CM: tuple[float, float, float] = (10.0, 10.0, 5.0)

CLASS_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
# Strict: a lax float would quietly take `true` or "8".
PositiveCm = Annotated[float, Field(strict=True, gt=0)]


class ItemSpec(BaseModel):
    """A permitted item: how many may stand on the desk and its nominal size."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: StrictInt = Field(0, ge=0)
    max: StrictInt | None = Field(None, ge=0)  # None: no upper bound
    size_cm: tuple[PositiveCm, PositiveCm] | None = None  # width along desk x, depth along y
    height_cm: PositiveCm | None = None
    # Needed only for a class id that is not canonical (inspector.classes).
    label_zh: StrictStr | None = Field(None, min_length=1)
    label_en: StrictStr | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class RegisteredItem(ItemSpec):
    """An extra item registered with the centre (报备) for this standard."""

    id: StrictStr = Field(pattern=CLASS_ID_PATTERN)
    max: StrictInt | None = Field(1, ge=0)


class UncertaintySettings(BaseModel):
    """How a standard turns measured values and their uncertainty into decisions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # k of the expanded uncertainty U = k u; 2 gives about 95 % (the SPEC's default)
    coverage_factor: float = Field(2.0, strict=True, gt=0, le=10, allow_inf_nan=False)
    # a further standard uncertainty of every desk measurement, cm (a counter top that is not flat,
    # a desk outline measured with a tape): added in quadrature
    extra_cm: float = Field(0.0, strict=True, ge=0, le=100, allow_inf_nan=False)


class StandardHeader(BaseModel):
    """Everything in a standard but its rules: what the rules resolve their defaults from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: StrictStr = Field(min_length=1)
    version: StrictStr = Field(min_length=1)
    name_zh: StrictStr = Field(min_length=1)
    name_en: StrictStr = Field(min_length=1)
    items: dict[StrictStr, ItemSpec]
    registered: tuple[RegisteredItem, ...] = ()
    # ILAC-G8 decision rule: "guarded" (a guard band of U: fail or pass only when sure, else
    # conditional) or "simple" (the measured value alone decides)
    decision: Literal["guarded", "simple"] = "guarded"
    uncertainty: UncertaintySettings = Field(default_factory=UncertaintySettings)

    def _specs(self) -> dict[str, ItemSpec]:
        return {**self.items, **{item.id: item for item in self.registered}}

    @property
    def permitted_classes(self) -> frozenset[str]:
        """The whitelist: listed items plus registered ones."""
        return frozenset(self._specs())

    @property
    def count_limits(self) -> dict[str, tuple[int, int | None]]:
        return {class_id: (spec.min, spec.max) for class_id, spec in self._specs().items()}

    @property
    def label_table(self) -> dict[str, tuple[str, str]]:
        """Class id -> (zh, en) for canonical classes and those the standard declares."""
        table = dict(CLASS_LABELS)
        for class_id, spec in self._specs().items():
            zh, en = table.get(class_id, (class_id, class_id))
            table[class_id] = (spec.label_zh or zh, spec.label_en or en)
        return table

    def labels(self, class_id: str) -> tuple[str, str]:
        """(label_zh, label_en); an unknown id is its own label."""
        return self.label_table.get(class_id, (class_id, class_id))

    def prior_cm(self, class_id: str) -> tuple[float, float, float]:
        """(width_cm, depth_cm, height_cm) used to place a detection of this class on the desk."""
        base = CLASS_PRIORS_CM.get(class_id, DEFAULT_PRIOR_CM)
        spec = self._specs().get(class_id)
        if spec is None:
            return base
        width_cm, depth_cm = spec.size_cm or base[:2]
        return float(width_cm), float(depth_cm), float(spec.height_cm or base[2])


class Standard(StandardHeader):
    """A validated standard; `rules` hold each rule's typed parameters with defaults filled in."""

    rules: tuple[SerializeAsAny[RuleParams], ...]  # each a kind's own params model
    source: str | None = Field(None, exclude=True)  # the file it came from, for messages

    def to_dict(self) -> dict[str, Any]:
        """The standard as a user writes it (defaults filled in), e.g. for listing standards."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["rules"] = [
            {"kind": rule.kind, **rule.model_dump(mode="json", exclude_none=True)} for rule in self.rules
        ]
        return data

    def rule(self, rule_id: str) -> RuleParams:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def rules_of_kind(self, kind: str) -> list[RuleParams]:
        return [rule for rule in self.rules if rule.kind == kind]


def load_standard(path: str | Path) -> Standard:
    """Read and validate a standard file (YAML, or JSON by its .json suffix)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StandardError(f"cannot read the standard: {exc.strerror or exc}", source=source) from exc
    except UnicodeDecodeError as exc:
        raise StandardError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source) from exc
    return parse_standard(_parse_text(text, source, as_json=path.suffix.lower() == ".json"), source)


def parse_standard(data: Any, source: str) -> Standard:
    """Validate already-parsed standard data; `source` names it in error messages."""
    if not isinstance(data, Mapping):
        raise StandardError(
            f"expected a mapping of fields at the top level, got {_type_name(data)}", source=source
        )
    problems: list[str] = []
    fields = {key: value for key, value in data.items() if key != "rules"}
    header: StandardHeader | None = None
    try:
        header = StandardHeader.model_validate(fields)
    except ValidationError as exc:
        problems += _describe(exc, "", StandardHeader)

    rules: list[RuleParams | None] = []
    if "rules" not in data:
        problems.append("rules: missing; list the rules of this standard")
    elif not isinstance(data["rules"], list):
        problems.append(f"rules: expected a list of rules, got {_type_name(data['rules'])}")
    else:
        rules = [_parse_rule(raw, f"rules[{i}]", problems) for i, raw in enumerate(data["rules"])]

    if header is not None:
        problems += _check_classes(header, rules)
    problems += _check_rule_ids(rules)
    if problems:
        raise StandardError("; ".join(problems), source=source)
    assert header is not None
    resolved = tuple(rule.resolve(header) for rule in rules if rule is not None)
    header_fields = {name: getattr(header, name) for name in StandardHeader.model_fields}
    return Standard(**header_fields, rules=resolved, source=source)


def _parse_text(text: str, source: str, *, as_json: bool) -> Any:
    if as_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise StandardError(f"not valid JSON: {exc.msg} at {where}", source=source) from exc
        except RecursionError:
            raise StandardError("not a standard: nested too deeply", source=source) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise StandardError(f"not valid YAML: {_yaml_problem(exc)}", source=source) from exc
    except RecursionError:
        raise StandardError("not a standard: nested too deeply", source=source) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key written twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{problem} at line {mark.line + 1} column {mark.column + 1}" if mark else problem


def _parse_rule(raw: Any, where: str, problems: list[str]) -> RuleParams | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a mapping with id, kind and parameters, got {_type_name(raw)}")
        return None
    kind_name = raw.get("kind")
    if kind_name is None:
        problems.append(f"{where}.kind: missing; one of {', '.join(sorted(KINDS))}")
        return None
    if not isinstance(kind_name, str) or kind_name not in KINDS:
        problems.append(
            f"{where}.kind: unknown rule kind {kind_name!r}{_suggest(kind_name, KINDS)};"
            f" known kinds: {', '.join(sorted(KINDS))}"
        )
        return None
    model = KINDS[kind_name].params
    params = {key: value for key, value in raw.items() if key != "kind"}
    reserved = sorted(set(params) & model.engine_fields)
    if reserved:
        problems += [f"{where}.{name}: filled in from the standard, not written in a rule" for name in reserved]
        return None
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        rule_id = raw.get("id")
        label = f" (rule {rule_id!r})" if isinstance(rule_id, str) else ""
        problems += [f"{problem}{label}" for problem in _describe(exc, where, model)]
        return None


def _check_classes(header: StandardHeader, rules: Iterable[RuleParams | None]) -> list[str]:
    """Every class id must be canonical or declared (with labels) by the standard itself."""
    problems = []
    declared = [(f"items.{class_id}", class_id, spec) for class_id, spec in header.items.items()]
    declared += [(f"registered[{i}]", item.id, item) for i, item in enumerate(header.registered)]
    for path, class_id, spec in declared:
        if class_id not in CLASS_LABELS and not (spec.label_zh and spec.label_en):
            problems.append(
                f"{path}: {class_id!r} is not a canonical class id{_suggest(class_id, CLASS_LABELS)};"
                " give label_zh and label_en to declare it"
            )
    for i, item in enumerate(header.registered):
        if item.id in header.items:
            problems.append(f"registered[{i}].id: {item.id!r} is already listed under items")
    known = set(CLASS_LABELS) | header.permitted_classes
    for i, rule in enumerate(rules):
        for field_path, class_id in rule.class_refs() if rule is not None else ():
            if class_id not in known:
                problems.append(
                    f"rules[{i}].{field_path}: unknown class id {class_id!r}{_suggest(class_id, known)};"
                    " use a canonical id or declare it under items or registered"
                )
    return problems


def _check_rule_ids(rules: list[RuleParams | None]) -> list[str]:
    problems = []
    first_index: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule is None:
            continue
        if rule.id in first_index:
            first = first_index[rule.id]
            problems.append(f"rules[{i}].id: duplicate rule id {rule.id!r} (also rules[{first}])")
        first_index.setdefault(rule.id, i)
    confidence = [i for i, rule in enumerate(rules) if rule is not None and rule.kind == "min_confidence"]
    problems += [
        f"rules[{i}].kind: only one min_confidence rule is allowed (first is rules[{confidence[0]}])"
        for i in confidence[1:]
    ]
    return problems


def _describe(exc: ValidationError, prefix: str, model: type[BaseModel]) -> list[str]:
    """Pydantic errors as 'path: what is wrong (got value)' lines."""
    lines = []
    for error in exc.errors():
        path = prefix
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        path = path or "(top level)"
        kind, message = error["type"], error["msg"].removeprefix("Value error, ")
        if kind == "missing":
            lines.append(f"{path}: missing (required)")
        elif kind == "extra_forbidden":
            lines.append(f"{path}: unknown field{_suggest(str(error['loc'][-1]), _field_names(model))}")
        else:
            quote = kind == "string_type" and isinstance(error["input"], int | float)
            hint = " (write it in quotes)" if quote else ""
            lines.append(f"{path}: {message} (got {_short(error['input'])}){hint}")
    return lines


def _field_names(model: type[BaseModel]) -> set[str]:
    """Field names a user may write in `model` and the models nested in it, for spelling hints."""
    names = set(model.model_fields) - set(getattr(model, "engine_fields", ()))
    todo = [info.annotation for info in model.model_fields.values()]
    while todo:
        annotation = todo.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _field_names(annotation)
        else:
            todo += get_args(annotation)
    return names


def _suggest(name: object, choices: Iterable[str]) -> str:
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)
