"""Recall by item size: which true boxes the greedy matching finds with their own class, binned by
the box's long side, with hand-made boxes and exact counts."""

from __future__ import annotations

import numpy as np

from models.evaluation import found_true, match_image, plot_recall_by_size, recall_by_size

# three true boxes: a 10 px pen (class 3), a 30 px cup (class 0), a 100 px monitor (class 1)
TRUE_BOXES = np.array([[0, 0, 10, 2], [50, 50, 80, 70], [100, 100, 200, 160]], dtype=float)
TRUE_CLASSES = np.array([3, 0, 1])


def test_a_box_counts_as_found_only_when_taken_by_its_own_class():
    predicted = np.array([[50, 50, 80, 70], [100, 100, 200, 160], [300, 300, 310, 310]], dtype=float)
    # the cup box predicted as a mouse (8): taken, but not found; the monitor found; the third a false positive
    found = found_true(predicted, np.array([8, 1, 3]), TRUE_BOXES, TRUE_CLASSES)
    assert found.tolist() == [False, False, True]
    # the confusion from the same matching: cup counted as mouse, pen missed, one false positive pen
    confusion = match_image(predicted, np.array([8, 1, 3]), TRUE_BOXES, TRUE_CLASSES, 14)
    assert confusion[8, 0] == 1 and confusion[1, 1] == 1 and confusion[14, 3] == 1 and confusion[3, 14] == 1
    assert confusion.sum() == 4


def test_a_box_already_taken_is_not_found_twice():
    predicted = np.array([[0, 0, 10, 2], [0, 0, 10, 2]], dtype=float)  # two pens on the one pen
    assert found_true(predicted, np.array([3, 3]), TRUE_BOXES, TRUE_CLASSES).tolist() == [True, False, False]
    assert found_true(np.zeros((0, 4)), np.zeros(0, dtype=int), TRUE_BOXES, TRUE_CLASSES).tolist() == [False] * 3


def test_recall_is_binned_by_the_long_side(tmp_path):
    names = ["cup", "monitor", "telephone", "pen"]
    found = np.array([True, False, True, True, False])
    long_sides = np.array([10.0, 11.9, 12.0, 47.9, 48.0])  # bin edges at 12, 24, 48
    classes = np.array([3, 3, 3, 0, 0])
    table = recall_by_size(found, long_sides, classes, names)
    assert list(table) == ["cup", "pen"]  # classes with no items are left out
    assert table["pen"]["0-12 px"] == {"instances": 2, "recall": 0.5}
    assert table["pen"]["12-24 px"] == {"instances": 1, "recall": 1.0}
    assert table["pen"]["24-48 px"] == {"instances": 0, "recall": None}
    assert table["cup"]["24-48 px"] == {"instances": 1, "recall": 1.0}
    assert table["cup"][">=48 px"] == {"instances": 1, "recall": 0.0}
    assert plot_recall_by_size(table, tmp_path / "size.png").stat().st_size > 5000
