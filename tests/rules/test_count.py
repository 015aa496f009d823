"""count: per-class min/max on the desk (定数量)."""

from shapely.geometry import Polygon, box

from inspector.records import Desk, DeskItem
from rules.kinds.count import CountLimit, CountParams, check
from rules.standard import parse_standard

DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0)


def item(item_id, cls):
    return DeskItem(item_id, cls, 0.9, (0, 0, 1, 1), box(10 * item_id, 20, 10 * item_id + 8, 28), 10.0, 0.0)


def params(**limits):
    return CountParams(id="item-counts", limits={cls: CountLimit(min=lo, max=hi) for cls, (lo, hi) in limits.items()})


def test_within_limits_passes():
    assert check([item(1, "cup"), item(2, "monitor")], DESK, params(cup=(0, 1), monitor=(1, 1))) == []


def test_over_the_max_lists_the_items():
    [v] = check([item(1, "cup"), item(2, "cup"), item(3, "pen")], DESK, params(cup=(0, 1)))
    assert (v.rule, v.kind, v.severity, v.item_ids) == ("item-counts", "count", "major", [1, 2])
    assert (v.measured, v.required, v.unit) == (2.0, 1.0, "count")
    assert v.message_zh == "水杯共 2 个，最多允许 1 个"


def test_under_the_min():
    [v] = check([item(1, "cup")], DESK, params(monitor=(1, 1)))
    assert (v.item_ids, v.measured, v.required, v.unit) == ([], 0.0, 1.0, "count")
    assert v.message_en == "monitor: 0 on the desk, at least 1 required"


def test_exactly_at_the_bounds_passes_and_no_max_is_unbounded():
    assert check([item(i, "pen") for i in range(1, 4)], DESK, params(pen=(3, 3))) == []
    assert check([item(i, "pen") for i in range(1, 9)], DESK, params(pen=(0, None))) == []


def test_default_limits_come_from_the_standard_items_and_registered():
    standard = parse_standard(
        {
            "id": "s",
            "version": "1",
            "name_zh": "标准",
            "name_en": "standard",
            "items": {"cup": {"min": 0, "max": 1}, "monitor": {"min": 1, "max": 1}},
            "registered": [{"id": "calculator", "label_zh": "计算器", "label_en": "calculator"}],
            "rules": [{"id": "item-counts", "kind": "count"}],
        },
        "s.yaml",
    )
    rule = standard.rule("item-counts")
    assert rule.limits == {
        "cup": CountLimit(min=0, max=1),
        "monitor": CountLimit(min=1, max=1),
        "calculator": CountLimit(min=0, max=1),  # a registered item defaults to at most one
    }
    violations = check([item(1, "calculator"), item(2, "calculator")], DESK, rule)
    assert [(v.message_zh, v.item_ids) for v in violations] == [
        ("显示器共 0 个，至少应有 1 个", []),
        ("计算器共 2 个，最多允许 1 个", [1, 2]),
    ]
