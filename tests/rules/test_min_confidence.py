"""min_confidence: unsure detections are warned about and not judged, never silently dropped."""

from shapely.geometry import Polygon, box

from inspector.records import Desk, DeskItem
from rules.engine import confidence_threshold, evaluate
from rules.kinds.min_confidence import MinConfidenceParams, check, split_by_confidence
from rules.standard import parse_standard

DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0)


def item(item_id, cls, confidence, y_cm=20.0):
    footprint = box(10 * item_id, y_cm, 10 * item_id + 8, y_cm + 8)
    return DeskItem(item_id, cls, confidence, (0, 0, 1, 1), footprint, 5.0, 0.0)


def standard(*rules):
    return parse_standard(
        {
            "id": "s",
            "version": "1",
            "name_zh": "标准",
            "name_en": "standard",
            "items": {"cup": {"max": 1}},
            "rules": [
                {"id": "only-listed", "kind": "permitted"},
                {"id": "front-margin", "kind": "edge_margin", "min_cm": 5},
                *rules,
            ],
        },
        "s.yaml",
    )


def test_split_at_the_threshold():
    items = [item(1, "cup", 0.49), item(2, "cup", 0.5), item(3, "cup", 0.9)]
    judged, unsure = split_by_confidence(items, 0.5)
    assert [i.id for i in judged] == [2, 3]  # exactly at the threshold is judged
    assert [i.id for i in unsure] == [1]


def test_unsure_items_warn_and_are_not_judged():
    # A phone (not permitted) hanging over the front edge, but seen at 0.32: no violation, a warning.
    evaluation = evaluate(standard(), [item(3, "mobile_phone", 0.32, y_cm=-2), item(4, "cup", 0.8)], DESK)
    assert evaluation.violations == ()
    assert evaluation.unsure_item_ids == (3,)
    assert evaluation.judged_item_ids == (4,)
    assert evaluation.warnings == (
        "item 3 (mobile phone) confidence 0.32 < 0.50: not judged, check by eye"
        " / 3号手机置信度 0.32 低于 0.50，未判定，请人工核查",
    )
    assert evaluation.permitted == {3: False, 4: True}  # still reported for every item


def test_a_confidence_just_under_the_threshold_never_reads_as_equal_to_it():
    evaluation = evaluate(standard(), [item(5, "cup", 0.498)], DESK)
    assert evaluation.warnings[0].startswith("item 5 (water cup) confidence 0.49 < 0.50")
    evaluation = evaluate(standard(), [item(5, "cup", 0.29)], DESK)  # 0.29 * 100 is 28.999... in floats
    assert evaluation.warnings[0].startswith("item 5 (water cup) confidence 0.29 < 0.50")


def test_threshold_comes_from_the_rule_else_defaults_to_half():
    assert confidence_threshold(standard()) == 0.5
    strict = standard({"id": "unsure", "kind": "min_confidence", "threshold": 0.8})
    assert confidence_threshold(strict) == 0.8
    evaluation = evaluate(strict, [item(1, "mobile_phone", 0.7)], DESK)
    assert (evaluation.violations, evaluation.unsure_item_ids) == ((), (1,))
    assert "0.70 < 0.80" in evaluation.warnings[0]


def test_too_many_unsure_items_is_a_violation_when_asked():
    params = MinConfidenceParams(id="unsure", max_unsure=1)
    items = [item(1, "cup", 0.2), item(2, "pen", 0.3), item(3, "cup", 0.9)]
    [v] = check(items, DESK, params)
    assert (v.kind, v.severity, v.item_ids) == ("min_confidence", "minor", [1, 2])
    assert (v.measured, v.required, v.unit) == (2.0, 1.0, "count")
    assert check(items[1:], DESK, params) == []
    assert check(items, DESK, MinConfidenceParams(id="unsure")) == []  # by default unsure items only warn
