"""Box side errors: the statistics on hand-made pairs with known errors, the matching (IoU, class,
confidence order), combining sets, the card's box_error round trip, and the detector's figures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from inspector.errors import ModelError
from inspector.records import Detection
from inspector.uncertainty import DEFAULT_BOX_ERROR, BoxError
from models import registry
from models.box_error import (BoxPairs, combine, match_pairs, measure_box_error, robust_sigma, set_box_error,
                              side_stats, small_box_floor_px)
from models.registry import SetBoxError, SideErrorStats, load_detector, read_card
from tests.models.conftest import build_tiny_model

NAMES = ["cup", "monitor"]


def _shifted(errors_x, errors_y, size=(100.0, 50.0), name="cup") -> BoxPairs:
    """Pairs whose left and right sides are off by each error in errors_x (px), and top and bottom
    by each in errors_y, on a true box of `size` (w, h) px."""
    w, h = size
    true = (0.0, 0.0, w, h)
    return BoxPairs.of((name, (dx, dy, w + dx, h + dy), true) for dx, dy in zip(errors_x, errors_y))


# -- statistics ---------------------------------------------------------------------------------
def test_robust_sigma_is_the_half_16_84_range_with_the_median_folded_in():
    errors = np.arange(101.0)  # percentiles 16, 50, 84 are exactly 16, 50, 84
    assert robust_sigma(errors - 50) == pytest.approx(34.0)  # no bias: (84 - 16) / 2
    assert robust_sigma(errors - 20) == pytest.approx(np.hypot(30.0, 34.0))  # median 30 folded in


def test_side_stats_divide_by_the_true_width_and_height():
    # 101 pairs, left/right shifted by -50..50 px on a 100 px wide box, top/bottom by 1 px on 50 px
    pairs = _shifted(np.arange(101.0) - 50, np.ones(101))
    stats = side_stats(pairs)
    assert stats.n == 101
    assert stats.rel_x == pytest.approx(0.34, abs=1e-4) and stats.bias_x == 0.0
    assert stats.rel_y == pytest.approx(0.02, abs=1e-4) and stats.bias_y == pytest.approx(0.02)
    # |x errors| 0..0.5 twice each and 101 * 2 y errors of 0.02: the 95th percentile of 404 values
    together = np.abs(np.concatenate([np.repeat((np.arange(101.0) - 50) / 100, 2), np.full(202, 0.02)]))
    assert stats.p95 == pytest.approx(np.percentile(together, 95), abs=1e-4)
    assert side_stats(BoxPairs.of([])) is None


def test_one_sided_errors_keep_their_sign_per_side():
    # the box grows 4 px on the right only: left errors 0, right +4 on a 40 px wide box
    pairs = BoxPairs.of([("cup", (0, 0, 44, 20), (0, 0, 40, 20))] * 10)
    stats = side_stats(pairs)
    # x values: ten 0.0 and ten 0.1 -> median 0.05, 16th 0.0, 84th 0.1: hypot(0.05, 0.05)
    assert stats.bias_x == pytest.approx(0.05) and stats.rel_x == pytest.approx(np.hypot(0.05, 0.05), abs=1e-4)
    assert stats.rel_y == 0.0 and stats.p95 == pytest.approx(0.1)


def test_the_floor_comes_from_small_boxes_only_or_is_left_to_the_fallback():
    small = _shifted(np.arange(11.0) - 5, np.zeros(11), size=(20.0, 20.0))  # 22 x sides, 22 y sides
    large = _shifted(np.full(30, 40.0), np.full(30, 40.0), size=(400.0, 400.0))
    floor, sides = small_box_floor_px(BoxPairs.concat([small, large]))
    assert sides == 44
    # 22 errors -5..5 twice and 22 zeros: median 0, 16th / 84th percentiles of the 44 values
    values = np.concatenate([np.repeat(np.arange(11.0) - 5, 2), np.zeros(22)])
    low, high = np.percentile(values, [16, 84])
    assert floor == pytest.approx((high - low) / 2, abs=1e-3)
    assert small_box_floor_px(large) == (None, 0)
    assert small_box_floor_px(_shifted([1.0] * 4, [1.0] * 4, size=(20.0, 20.0))) == (None, 16)  # under 20 sides


# -- matching -----------------------------------------------------------------------------------
def test_matching_needs_iou_0_5_and_the_same_class():
    true = [(0, 0, 100, 100), (200, 0, 300, 100)]
    preds = [(0, 0, 100, 60),  # IoU 0.6 with the cup: matched
             (200, 0, 300, 40)]  # IoU 0.4 with the monitor: not matched
    pairs = match_pairs(preds, [0, 1], [0.9, 0.9], true, [0, 1], NAMES)
    assert pairs.classes == ("cup",) and pairs.pred_px[0].tolist() == [0, 0, 100, 60]
    wrong_class = match_pairs([(0, 0, 100, 100)], [1], [0.9], [(0, 0, 100, 100)], [0], NAMES)
    assert len(wrong_class) == 0


def test_matching_is_greedy_by_confidence():
    true = [(0, 0, 100, 100)]
    sure, unsure = (10, 0, 110, 100), (0, 0, 100, 100)  # the unsure one fits better, the sure one first
    pairs = match_pairs([unsure, sure], [0, 0], [0.4, 0.8], true, [0], NAMES)
    assert len(pairs) == 1 and pairs.pred_px[0].tolist() == list(sure)
    # two true cups: each prediction takes the one it overlaps most, not one taken already
    pairs = match_pairs([(0, 0, 100, 100), (5, 0, 105, 100)], [0, 0], [0.9, 0.8],
                        [(0, 0, 100, 100), (10, 0, 110, 100)], [0, 0], NAMES)
    assert [p.tolist() for p in pairs.true_px] == [[0, 0, 100, 100], [10, 0, 110, 100]]


# -- combining sets -----------------------------------------------------------------------------
def _stats(n, x, y) -> SideErrorStats:
    return SideErrorStats(n=n, rel_x=x, rel_y=y, bias_x=0.0, bias_y=0.0, p95=2 * max(x, y))


def _set(per_class, pooled, floor=None) -> SetBoxError:
    return SetBoxError(dataset="d", split="val", images=1, floor_px=floor, small_sides=0, pooled=pooled,
                       per_class=per_class)


def test_combining_takes_the_larger_sigma_of_sets_with_enough_matches():
    synth = _set({"cup": _stats(50, 0.03, 0.05), "pen": _stats(40, 0.10, 0.02), "mouse": _stats(9, 0.9, 0.9)},
                 _stats(99, 0.04, 0.04), floor=1.2)
    real = _set({"cup": _stats(12, 0.06, 0.04), "pen": _stats(5, 0.5, 0.5)}, _stats(17, 0.07, 0.03), floor=None)
    combined = combine({"synth": synth, "real": real}, "test")
    assert combined.rel == {"cup": (0.06, 0.05), "pen": (0.10, 0.02)}  # the real pen (5) does not count
    assert "mouse" not in combined.rel  # 9 matches: takes the pooled figure
    assert combined.default_rel == (0.07, 0.04) and combined.floor_px == 1.2
    box_error = combined.as_box_error()
    assert box_error.rel["cup"] == (0.06, 0.05) and box_error.default_rel == (0.07, 0.04)


def test_combining_without_floors_or_matches():
    assert combine({"a": _set({}, _stats(10, 0.1, 0.1))}, "t").floor_px == 1.0
    with pytest.raises(ModelError, match="fewer than 10"):
        combine({"a": _set({}, _stats(9, 0.1, 0.1)), "b": _set({}, None)}, "t")


# -- the card and the detector ------------------------------------------------------------------
def test_card_round_trip_with_and_without_box_error(tmp_path):
    card_path = build_tiny_model(tmp_path / "tiny")
    assert "box_error" not in card_path.read_text()  # an old card: no field, and it still loads
    card = read_card(card_path)
    assert card.box_error is None
    assert load_detector(str(card_path)).box_error is DEFAULT_BOX_ERROR

    pairs = _shifted(np.arange(21.0) - 10, np.zeros(21), size=(30.0, 30.0))
    measured = {"synth": set_box_error(pairs, "data/x", "val", 21)}
    from models.registry import CardBoxError

    box = CardBoxError(measured_at="2026-12-02T00:00:00+00:00", iou_threshold=0.5, sets=measured,
                       combined=combine(measured, "tiny on synth"))
    registry.write_card(card.model_copy(update={"box_error": box}), card_path)
    again = read_card(card_path)
    assert again.box_error == box and again.model_dump() == card.model_copy(update={"box_error": box}).model_dump()
    loaded = load_detector(str(card_path)).box_error
    assert isinstance(loaded, BoxError) and loaded.source == "tiny on synth"
    assert loaded.rel["cup"] == box.combined.rel["cup"] and loaded.floor_px == box.combined.floor_px


class _Scripted:
    """A detector that returns fixed detections."""

    def __init__(self, detections):
        self._detections = detections

    def detect(self, image):
        return self._detections


def test_measure_and_record_with_a_scripted_detector(tmp_path, monkeypatch):
    for part in ("images", "labels"):
        (tmp_path / "data" / part / "val").mkdir(parents=True)
    for i in range(10):  # a cup at (10,10)-(30,30) and a monitor at (50,50)-(80,80) on each
        cv2.imwrite(str(tmp_path / "data" / "images" / "val" / f"{i}.jpg"), np.zeros((100, 100, 3), np.uint8))
        (tmp_path / "data" / "labels" / "val" / f"{i}.txt").write_text("0 0.2 0.2 0.2 0.2\n1 0.65 0.65 0.3 0.3\n")
    card_path = build_tiny_model(tmp_path / "registry" / "tiny")
    scripted = _Scripted((Detection("cup", 0.9, (11.0, 10.0, 31.0, 30.0)),  # 1 px right: 0.05 of 20 px
                          Detection("monitor", 0.9, (50.0, 50.0, 80.0, 83.0))))  # bottom 3 px low: 0.1 of 30
    monkeypatch.setattr(registry, "load_detector", lambda *args, **kwargs: scripted)
    result = measure_box_error(str(card_path), [("synth", tmp_path / "data")], "val", record=True)
    synth = result.sets["synth"]
    assert synth.images == 10 and synth.per_class["cup"].n == 10
    assert synth.per_class["cup"].rel_x == pytest.approx(0.05) and synth.per_class["cup"].rel_y == 0.0
    assert synth.per_class["monitor"].bias_y == pytest.approx(0.05)  # top 0, bottom 0.1
    # every side of both (20 and 30 px) boxes is small: 80 sides, 50 right, 20 off by 1 px and 10
    # by 3 px: median 0, 16th percentile 0, 84th 1 px
    assert synth.small_sides == 80 and synth.floor_px == pytest.approx(0.5)
    assert read_card(card_path).box_error == result
    assert yaml.safe_load(card_path.read_text())["box_error"]["combined"]["rel"]["cup"] == [0.05, 0.0]


def test_the_command_rejects_a_missing_folder_or_an_unknown_model(tmp_path):
    from typer.testing import CliRunner

    from inspector.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["box-error", f"real={tmp_path / 'nowhere'}"])
    assert missing.exit_code == 2 and "not a folder" in missing.output, missing.output
    unknown = runner.invoke(app, ["box-error", str(tmp_path), "--model", "no-such-model"])
    assert unknown.exit_code == 2 and "no-such-model" in unknown.output, unknown.output
    empty = runner.invoke(app, ["box-error", str(tmp_path), "--model", str(build_tiny_model(tmp_path / "tiny"))])
    assert empty.exit_code == 2 and "no images found" in empty.output, empty.output


def test_the_bundled_card_carries_measured_box_errors():
    from models.registry import DEFAULT_MODEL, resolve_card

    card = read_card(resolve_card(DEFAULT_MODEL))
    assert card.box_error is not None and set(card.box_error.sets) == {"synth-heldout", "real-val"}
    combined = card.box_error.combined.as_box_error()
    assert set(combined.rel) == set(card.item_ids)  # every class had 10+ matches on the renders
    assert 0.0 < min(combined.default_rel) and max(max(pair) for pair in combined.rel.values()) < 0.2
