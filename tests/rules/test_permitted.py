"""permitted: only the standard's items and registered extras may stand on the desk."""

from shapely.geometry import Polygon, box

from inspector.records import Desk, DeskItem
from rules.kinds.permitted import PermittedParams, check
from rules.standard import parse_standard

DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0)
STANDARD = parse_standard(
    {
        "id": "s",
        "version": "1",
        "name_zh": "标准",
        "name_en": "standard",
        "items": {"cup": {"max": 1}, "monitor": {"min": 1, "max": 1}},
        "registered": [{"id": "calculator", "label_zh": "计算器", "label_en": "calculator"}],
        "rules": [{"id": "only-listed-items", "kind": "permitted"}],
    },
    "s.yaml",
)


def item(item_id, cls):
    return DeskItem(item_id, cls, 0.9, (0, 0, 1, 1), box(10 * item_id, 20, 10 * item_id + 8, 28), 5.0, 0.0)


def test_whitelist_defaults_to_items_and_registered():
    assert STANDARD.rule("only-listed-items").allowed == ("calculator", "cup", "monitor")


def test_listed_and_registered_items_pass():
    rule = STANDARD.rule("only-listed-items")
    assert check([item(1, "cup"), item(2, "monitor"), item(3, "calculator")], DESK, rule) == []


def test_each_unlisted_item_is_a_violation_without_numbers():
    rule = STANDARD.rule("only-listed-items")
    violations = check([item(1, "cup"), item(2, "mobile_phone"), item(3, "food")], DESK, rule)
    assert [v.item_ids for v in violations] == [[2], [3]]
    v = violations[0]
    assert (v.rule, v.kind, v.severity, v.measured, v.required, v.unit) == (
        "only-listed-items",
        "permitted",
        "major",
        None,
        None,
        None,
    )
    assert v.message_zh == "2号手机不在允许摆放的物品清单内，须先报备"
    assert v.message_en == "mobile phone #2 is not a permitted item; register it with the centre first"


def test_an_explicit_allowed_list_overrides_the_standard():
    rule = PermittedParams(id="p", allowed=["cup"]).resolve(STANDARD)
    assert rule.allowed == ("cup",)
    assert [v.item_ids for v in check([item(1, "cup"), item(2, "monitor")], DESK, rule)] == [[2]]
