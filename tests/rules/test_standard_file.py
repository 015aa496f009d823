"""Standard files: the bundled one loads; every wrong field is rejected naming the file and the field."""

import json

import pytest
import yaml

from inspector.errors import StandardError
from rules import STANDARDS_DIR, load_standard, parse_standard

FRONT_COUNTER = STANDARDS_DIR / "front-counter.yaml"


def minimal(**changes):
    data = {
        "id": "s",
        "version": "1.0",
        "name_zh": "标准",
        "name_en": "standard",
        "items": {"cup": {"min": 0, "max": 1, "size_cm": [8, 8], "height_cm": 10}},
        "registered": [{"id": "calculator", "label_zh": "计算器", "label_en": "calculator", "size_cm": [10, 16]}],
        "rules": [
            {"id": "only-listed", "kind": "permitted"},
            {"id": "front-margin", "kind": "edge_margin", "edges": ["front"], "classes": "all", "min_cm": 5},
        ],
    }
    data.update(changes)
    return data


def error_for(tmp_path, data, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(StandardError) as info:
        load_standard(path)
    assert info.value.source == str(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_bundled_front_counter_standard_loads():
    standard = load_standard(FRONT_COUNTER)
    assert (standard.id, standard.version, standard.name_zh) == ("front-counter", "1.0", "窗口柜台桌面定置标准")
    assert {"cup", "monitor", "telephone", "pen", "ink_pad", "brochure", "document_camera", "keyboard", "mouse"} <= (
        standard.permitted_classes
    )
    assert standard.rule("front-margin").min_cm == 5.0
    assert standard.rule("name-plate-shown").classes == ("name_plate",)
    assert {rule.kind for rule in standard.rules} == {
        "permitted", "count", "required", "edge_margin", "zone", "keep_clear", "alignment", "min_confidence",
    }  # fmt: skip
    zones = {rule.zone for rule in standard.rules if rule.kind in ("zone", "keep_clear")}
    assert zones == {"monitor", "document_camera", "cup", "pass_through"}


def test_priors_and_labels():
    standard = parse_standard(minimal(), "s.yaml")
    assert standard.prior_cm("cup") == (8.0, 8.0, 10.0)
    assert standard.prior_cm("calculator") == (10.0, 16.0, 5.0)  # height from the default
    assert standard.prior_cm("monitor") == (55.0, 20.0, 42.0)  # not in the standard: class prior
    assert standard.labels("calculator") == ("计算器", "calculator")
    assert standard.labels("cup") == ("水杯", "water cup")
    assert standard.permitted_classes == frozenset({"cup", "calculator"})


def test_json_is_accepted_and_round_trips(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(minimal()), encoding="utf-8")
    standard = load_standard(path)
    assert parse_standard(standard.to_dict(), str(path)) == standard


def test_unreadable_file(tmp_path):
    with pytest.raises(StandardError, match="missing.yaml.*cannot read"):
        load_standard(tmp_path / "missing.yaml")


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: s\nitems: {cup: [1, 2}\n", encoding="utf-8")
    with pytest.raises(StandardError, match=r"broken.yaml: not valid YAML: .* line 2"):
        load_standard(path)


def test_key_written_twice(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("id: a\nid: b\n", encoding="utf-8")
    with pytest.raises(StandardError, match="twice.yaml.*'id' appears twice"):
        load_standard(path)


def test_top_level_must_be_a_mapping(tmp_path):
    assert "top level" in error_for(tmp_path, ["not", "a", "mapping"])


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name_en": ["x"]}, "name_en: Input should be a valid string (got ['x'])"),
        ({"version": 1.0}, "version: Input should be a valid string (got 1.0) (write it in quotes)"),
        ({"owner": "x"}, "owner: unknown field"),
        ({"items": {"cup": {"max": "one"}}}, "items.cup.max: Input should be a valid integer"),
        ({"items": {"cup": {"min": 2, "max": 1}}}, "items.cup: max (1) is below min (2)"),
        ({"items": {"cup": {"size_cm": [8, -1]}}}, "items.cup.size_cm[1]: Input should be greater than 0"),
        ({"items": {"cup": {"mx": 1}}}, "items.cup.mx: unknown field (did you mean 'max'?)"),
        ({"items": {"cupp": {"max": 1}}}, "items.cupp: 'cupp' is not a canonical class id (did you mean 'cup'?)"),
        ({"registered": [{"id": "stapler"}]}, "registered[0]: 'stapler' is not a canonical class id"),
        ({"registered": [{"id": "Stapler!", "label_zh": "订", "label_en": "s"}]}, "registered[0].id: String should match"),
        ({"registered": [{"id": "cup"}]}, "registered[0].id: 'cup' is already listed under items"),
    ],
)
def test_header_field_errors(tmp_path, changes, expected):
    assert expected in error_for(tmp_path, minimal(**changes))


def test_missing_field(tmp_path):
    data = minimal()
    del data["items"]
    assert "items: missing (required)" in error_for(tmp_path, data)
    del data["rules"]
    assert "rules: missing" in error_for(tmp_path, data)


def rule_error(tmp_path, rule):
    data = minimal()
    data["rules"] = [*data["rules"], rule]
    return error_for(tmp_path, data)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"id": "x", "kind": "edge_margn", "min_cm": 5}, "rules[2].kind: unknown rule kind 'edge_margn' (did you mean 'edge_margin'?)"),
        ({"id": "x", "min_cm": 5}, "rules[2].kind: missing"),
        ({"id": "x", "kind": "edge_margin"}, "rules[2].min_cm: missing (required)"),
        ({"id": "x", "kind": "edge_margin", "min_cm": -5}, "rules[2].min_cm: Input should be greater than or equal to 0"),
        ({"id": "x", "kind": "edge_margin", "min_cm": "5cm"}, "rules[2].min_cm: Input should be a valid number"),
        ({"id": "x", "kind": "edge_margin", "min_cm": 5, "min_m": 1}, "rules[2].min_m: unknown field (did you mean 'min_cm'?)"),
        ({"id": "x", "kind": "edge_margin", "min_cm": 5, "edges": ["top"]}, "rules[2].edges: unknown edge 'top'"),
        ({"id": "x", "kind": "edge_margin", "min_cm": 5, "classes": ["cupp"]}, "rules[2].classes[0]: unknown class id 'cupp' (did you mean 'cup'?)"),
        ({"id": "x", "kind": "edge_margin", "min_cm": 5, "severity": "fatal"}, "rules[2].severity: Input should be 'minor' or 'major'"),
        ({"id": "x", "kind": "zone", "classes": ["monitor"]}, "rules[2].zone: missing (required)"),
        ({"id": "x", "kind": "zone", "classes": "all", "zone": "z"}, "rules[2].classes: expected a class id or a list"),
        ({"id": "x", "kind": "count", "limits": {"pen": {"min": 3, "max": 1}}}, "rules[2].limits.pen: max (1) is below min (3)"),
        ({"id": "x", "kind": "count", "limits": {"stapler": {"max": 1}}}, "rules[2].limits.stapler: unknown class id 'stapler'"),
        ({"id": "x", "kind": "alignment", "max_deg": 60}, "rules[2].max_deg: Input should be less than or equal to 45"),
        ({"id": "x", "kind": "min_confidence", "threshold": 1.5}, "rules[2].threshold: Input should be less than or equal to 1"),
        ({"id": "x", "kind": "permitted", "labels": {"cup": ["杯", "mug"]}}, "rules[2].labels: filled in from the standard"),
        ({"id": "only-listed", "kind": "required", "classes": ["cup"]}, "rules[2].id: duplicate rule id 'only-listed' (also rules[0])"),
        ("permitted", "rules[2]: expected a mapping"),
    ],
)
def test_rule_field_errors(tmp_path, rule, expected):
    assert expected in rule_error(tmp_path, rule)


def test_rule_errors_name_the_rule_id(tmp_path):
    assert "rules[2].min_cm: missing (required) (rule 'x')" in rule_error(tmp_path, {"id": "x", "kind": "edge_margin"})


def test_only_one_min_confidence_rule(tmp_path):
    data = minimal()
    data["rules"] += [{"id": "a", "kind": "min_confidence"}, {"id": "b", "kind": "min_confidence"}]
    assert "rules[3].kind: only one min_confidence rule" in error_for(tmp_path, data)


def test_all_problems_are_reported_at_once(tmp_path):
    data = minimal(version=2)
    data["rules"] = [{"id": "x", "kind": "nope"}, {"id": "y", "kind": "edge_margin"}]
    message = error_for(tmp_path, data)
    assert all(part in message for part in ("version:", "rules[0].kind:", "rules[1].min_cm:"))


def test_registered_canonical_class_needs_no_labels():
    standard = parse_standard(minimal(registered=[{"id": "mobile_phone", "max": 1}]), "s.yaml")
    assert standard.labels("mobile_phone") == ("手机", "mobile phone")
    assert "mobile_phone" in standard.permitted_classes


@pytest.mark.parametrize("changes, expected", [
    ({"decision": "strict"}, "decision: Input should be 'guarded' or 'simple' (got 'strict')"),
    ({"uncertainty": {"coverage_factor": -1.0}}, "uncertainty.coverage_factor: Input should be greater than 0"),
    ({"uncertainty": {"coverage_factor": float("nan")}}, "uncertainty.coverage_factor: Input should be a finite number"),
    ({"uncertainty": {"extra_cm": -0.5}}, "uncertainty.extra_cm: Input should be greater than or equal to 0"),
    ({"uncertainty": {"extra_cm": float("inf")}}, "uncertainty.extra_cm: Input should be a finite number"),
    ({"uncertainty": {"extra_cm": "1"}}, "uncertainty.extra_cm: Input should be a valid number"),
    ({"uncertainty": {"k": 2}}, "uncertainty.k: unknown field"),
])
def test_decision_and_uncertainty_settings_are_checked(tmp_path, changes, expected):
    assert expected in error_for(tmp_path, minimal(**changes))


def test_decision_and_uncertainty_reach_every_rule(tmp_path):
    standard = parse_standard(minimal(decision="simple", uncertainty={"coverage_factor": 3.0, "extra_cm": 0.2}), "s")
    margin = standard.rule("front-margin")
    assert (margin.decision, margin.coverage_factor, margin.extra_cm) == ("simple", 3.0, 0.2)
    assert parse_standard(minimal(), "s").rule("front-margin").decision == "guarded"  # the default


def test_decision_is_not_written_in_a_rule(tmp_path):
    rules = [{"id": "front-margin", "kind": "edge_margin", "min_cm": 5, "decision": "simple"}]
    assert "rules[0].decision: filled in from the standard" in error_for(tmp_path, minimal(rules=rules))
