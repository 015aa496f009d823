"""required: classes that must be on the desk at least once."""

from shapely.geometry import Polygon, box

from inspector.records import Desk, DeskItem
from rules.kinds.required import RequiredParams, check

DESK = Desk(outline_cm=Polygon([(0, 0), (160, 0), (160, 80), (0, 80)]), front_edge=0)


def item(item_id, cls):
    return DeskItem(item_id, cls, 0.9, (0, 0, 1, 1), box(10 * item_id, 20, 10 * item_id + 8, 28), 5.0, 0.0)


def test_present_passes():
    assert check([item(1, "name_plate")], DESK, RequiredParams(id="plate", classes=["name_plate"])) == []


def test_missing_class_is_a_count_violation():
    [v] = check([item(1, "cup")], DESK, RequiredParams(id="plate", classes="name_plate"))
    assert (v.rule, v.kind, v.severity) == ("plate", "required", "major")
    assert (v.item_ids, v.measured, v.required, v.unit) == ([], 0.0, 1.0, "count")
    assert v.message_zh == "桌面未见桌牌，须按要求摆放"
    assert v.message_en == "no name plate on the desk; it must be shown"


def test_one_violation_per_missing_class():
    violations = check([item(1, "monitor")], DESK, RequiredParams(id="r", classes=["name_plate", "monitor", "cup"]))
    assert [v.message_en.split(" on the desk")[0] for v in violations] == ["no name plate", "no water cup"]
