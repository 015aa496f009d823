"""inspector.corrections: applying a person's actions to an inspection's items, with exact results."""

from __future__ import annotations

import pytest

from inspector.corrections import CorrectedItem, CorrectionAction, CorrectionError, apply_actions, items_of_report

SIZE = (640, 480)
CLASSES = {"cup", "pen", "bag", "monitor"}
ITEMS = (
    CorrectedItem(1, "cup", (10.0, 10.0, 50.0, 60.0), 0.8, "model"),
    CorrectedItem(2, "pen", (100.0, 100.0, 180.0, 110.0), 0.4, "model"),
    CorrectedItem(3, "monitor", (200.0, 20.0, 400.0, 200.0), 0.9, "model"),
)


def test_items_of_report_reads_ids_classes_and_boxes():
    report = {"items": [{"id": 4, "class": "cup", "bbox_px": [1, 2, 3, 4], "confidence": 0.5}]}
    assert items_of_report(report) == (CorrectedItem(4, "cup", (1.0, 2.0, 3.0, 4.0), 0.5, "model"),)


def test_delete_relabel_add_confirm_keep_ids_and_order():
    actions = [CorrectionAction("delete", 2), CorrectionAction("relabel", 3, "bag"),
               CorrectionAction("add", class_name="pen", bbox_px=(5, 6, 25, 16)), CorrectionAction("confirm", 1)]
    items, next_id = apply_actions(ITEMS, actions, SIZE, CLASSES, next_id=4)
    assert next_id == 5
    assert items == (
        CorrectedItem(1, "cup", (10.0, 10.0, 50.0, 60.0), 0.8, "model", checked=True),
        CorrectedItem(3, "bag", (200.0, 20.0, 400.0, 200.0), 1.0, "model", checked=True),
        CorrectedItem(4, "pen", (5.0, 6.0, 25.0, 16.0), 1.0, "person", checked=True),
    )
    assert ITEMS[1].item_id == 2  # the input is never changed


def test_a_deleted_id_is_never_reused():
    items, next_id = apply_actions(ITEMS, [CorrectionAction("add", class_name="cup", bbox_px=(0, 0, 10, 10))], SIZE,
                                   CLASSES, next_id=9)
    assert items[-1].item_id == 9 and next_id == 10


def test_relabel_may_move_the_box():
    items, _ = apply_actions(ITEMS, [CorrectionAction("relabel", 1, "cup", (11, 12, 51, 62))], SIZE, CLASSES, 4)
    assert items[0].bbox_px == (11.0, 12.0, 51.0, 62.0) and items[0].confidence == 1.0


@pytest.mark.parametrize("action, message", [
    (CorrectionAction("add", class_name="cup", bbox_px=(0, 0, 641, 10)), "outside the 640x480 px image"),
    (CorrectionAction("add", class_name="cup", bbox_px=(0, -0.5, 10, 10)), "outside"),
    (CorrectionAction("add", class_name="cup", bbox_px=(10, 0, 10, 10)), "is empty"),
    (CorrectionAction("add", class_name="cup", bbox_px=(float("nan"), 0, 10, 10)), "4 finite numbers"),
    (CorrectionAction("add", class_name="ghost", bbox_px=(0, 0, 10, 10)), "unknown class 'ghost'"),
    (CorrectionAction("delete", 7), "no item 7 in this inspection (items: 2, 3)"),
    (CorrectionAction("confirm"), "needs item_id"),
])
def test_actions_that_cannot_apply_raise(action, message):
    with pytest.raises(CorrectionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        apply_actions(ITEMS, [CorrectionAction("delete", 1), action], SIZE, CLASSES, 4)


def test_an_item_deleted_earlier_in_the_same_correction_cannot_be_relabelled():
    with pytest.raises(CorrectionError, match="no item 1"):
        apply_actions(ITEMS, [CorrectionAction("delete", 1), CorrectionAction("relabel", 1, "pen")], SIZE, CLASSES, 4)
