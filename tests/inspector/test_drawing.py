"""The pictures with uncertainty and decisions: measured ± U labels, the ±U band of margin results,
amber for results a person should check, grey dashes for what was not judged. Hand-made reports on
the bundled camera (window-01: desk 160 x 80 cm, front edge y = 0), drawn on a plain grey photo so
that every coloured pixel comes from the drawing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibration.camera import load_camera
from inspector import drawing
from inspector.drawing import (
    BAD,
    CHECK,
    NOT_JUDGED,
    MarginLine,
    RuleTerms,
    annotate,
    desk_map,
    itemless_text,
    mark_text,
    result_text,
    uncertainty_bands,
)
from inspector.outputs import margin_lines
from inspector.records import NotJudged, Report, ReportItem, StandardRef, Violation
from rules.standard import load_standard

REPO = Path(__file__).resolve().parents[2]
MARGINS = [MarginLine(0, 5.0, ("front-margin",))]
PX_PER_CM, PAD_CM = 5.0, 8.0  # desk_map's scale and padding


@pytest.fixture(scope="module")
def camera():
    return load_camera(REPO / "calibration" / "cameras" / "window-01.yaml")


def _item(camera, item_id: int, cls: str, x0: float, y0: float, x1: float, y1: float, judged: bool = True,
          uncertainty: float | None = 1.0) -> ReportItem:
    footprint = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    px = camera.desk_to_image(np.array(footprint, dtype=float))
    return ReportItem(
        id=item_id, **{"class": cls}, label_zh=cls, confidence=0.9,
        bbox_px=[float(px[:, 0].min()), float(px[:, 1].min() - 30), float(px[:, 0].max()), float(px[:, 1].max())],
        footprint_cm=footprint, center_cm=[(x0 + x1) / 2, (y0 + y1) / 2], angle_deg=0.0, permitted=True,
        judged=judged, uncertainty_cm=None if uncertainty is None else dict.fromkeys(("front", "back", "left", "right"), uncertainty),
    )


def _margin(item_id: int, measured: float, uncertainty: float, decision: str) -> Violation:
    return Violation(rule="front-margin", kind="edge_margin", severity="major", item_ids=[item_id], measured=measured,
                     required=5.0, unit="cm", message_en="m", message_zh="m", uncertainty=uncertainty, decision=decision)


def _report(camera, violations=(), conditional_passes=(), not_judged=(), verdict="check") -> Report:
    items = [
        _item(camera, 1, "cup", 30, 4.5, 38, 12.5),  # 4.5 cm from the front edge
        _item(camera, 2, "brochure", 100, 1, 120, 15),  # 1 cm from the front edge
        _item(camera, 3, "keyboard", 60, 40, 100, 54),
        _item(camera, 4, "mobile_phone", 130, 45, 138, 60, judged=False, uncertainty=None),
        _item(camera, 5, "pen", 20, 40, 34, 42),
    ]
    return Report(image="hand.jpg", camera="window-01", standard=StandardRef(id="front-counter", version="1.0"),
                  model=None, inspected_at="2026-11-20T08:30:00+00:00", compliant=verdict == "pass", verdict=verdict,
                  score=0.8, items=items, violations=list(violations), conditional_passes=list(conditional_passes),
                  not_judged=list(not_judged), warnings=[], timings_ms={})


@pytest.fixture(scope="module")
def photo():
    return np.full((720, 1280, 3), 128, np.uint8)


def _near(image: np.ndarray, colour, tolerance: int = 40) -> np.ndarray:
    return np.abs(image.astype(int) - np.array(colour)).sum(axis=2) <= tolerance


def _to_map(camera, x_cm: float, y_cm: float) -> tuple[int, int]:
    """Desk cm to desk-map px: the front edge (y = 0) at the bottom, x to the right, unmirrored."""
    min_x, _, _, max_y = camera.desk.outline_cm.bounds
    return int((x_cm - min_x + PAD_CM) * PX_PER_CM), int((max_y - y_cm + PAD_CM) * PX_PER_CM)


CHECK_FAIL = _margin(1, 4.5, 1.0, "conditional_fail")
SURE_FAIL = _margin(2, 1.0, 0.8, "fail")
NEAR_PASS = Violation(rule="cup-in-place", kind="zone", severity="minor", item_ids=[3], measured=1.5, required=2.0,
                      unit="cm", message_en="m", message_zh="m", uncertainty=1.0, decision="conditional_pass")
NO_TURN = NotJudged(rule="kept-square", kind="alignment", item_ids=[5], reason_en="kept square: the turn is not seen",
                    reason_zh="摆放端正：无法看出物品的朝向")


def _result(kind: str, measured, required, unit, uncertainty=None, decision="fail", item_ids=(1,), **kw) -> Violation:
    return Violation(rule=f"a-{kind}-rule", kind=kind, severity="major", item_ids=list(item_ids), measured=measured,
                     required=required, unit=unit, message_en=kw.get("en", "m"), message_zh=kw.get("zh", "m"),
                     uncertainty=uncertainty, decision=decision)


FRONT = ("前沿", "front edge")


def test_result_text_shows_measured_plus_minus_uncertainty_and_the_limit():
    assert result_text(SURE_FAIL) == "距桌边 edge margin 1.0 ± 0.8 cm · 要求 required ≥ 5.0 cm"
    assert mark_text(SURE_FAIL, edge=FRONT) == "距前沿 front margin 1.0 ± 0.8 cm · 要求 required ≥ 5.0 cm"
    assert mark_text(CHECK_FAIL, edge=FRONT) == "距前沿 front margin 4.5 ± 1.0 cm · 要求 required ≥ 5.0 cm  待核·偏不合格 likely fail"
    assert result_text(NEAR_PASS) == "超出定置区 off its place 1.5 ± 1.0 cm · 允许超出 allowed outside ≤ 2.0 cm  待核·偏合格 likely pass"
    no_u = SURE_FAIL.model_copy(update={"uncertainty": None})
    assert mark_text(no_u, edge=FRONT) == "距前沿 front margin 1.0 cm · 要求 required ≥ 5.0 cm"  # simple decisions: no ±


@pytest.mark.parametrize(("result", "kw", "expected"), [
    (_result("edge_margin", 2.2, 5.0, "cm", 1.3), {"edge": ("左沿", "left edge")},
     "距左沿 left margin 2.2 ± 1.3 cm · 要求 required ≥ 5.0 cm"),
    (_result("edge_margin", -1.0, 5.0, "cm", 0.6), {"edge": FRONT},  # hanging over the edge
     "距前沿 front margin -1.0 ± 0.6 cm · 要求 required ≥ 5.0 cm"),
    (_result("zone", 9.8, 2.0, "cm", 1.3), {}, "超出定置区 off its place 9.8 ± 1.3 cm · 允许超出 allowed outside ≤ 2.0 cm"),
    (_result("zone", -2.5, 2.0, "cm", 4.8, "conditional_pass"), {},
     "在定置区内 inside its place 2.5 ± 4.8 cm · 允许超出 allowed outside ≤ 2.0 cm  待核·偏合格 likely pass"),
    (_result("keep_clear", 12.5, 0.0, "cm", 1.4), {},
     "伸入空置区 into keep-clear area 12.5 ± 1.4 cm · 允许伸入 allowed in ≤ 0.0 cm"),
    (_result("keep_clear", -0.4, 0.0, "cm", 1.1, "conditional_pass"), {},
     "距空置区 from keep-clear area 0.4 ± 1.1 cm · 允许伸入 allowed in ≤ 0.0 cm  待核·偏合格 likely pass"),
    (_result("alignment", 12.0, 10.0, "deg", 3.0, "conditional_fail"), {},
     "歪斜 turned 12.0 ± 3.0° · 允许 allowed ≤ 10.0°  待核·偏不合格 likely fail"),
    (_result("count", 2.0, 1.0, "count", item_ids=(3, 4)), {"item_label": ("水杯", "water cup")},
     "水杯 water cup 数量 count 2 · 允许 allowed ≤ 1"),
    (_result("permitted", None, None, None), {}, "不在允许清单 not permitted · 须先报备 register it first"),
    (_result("min_confidence", 4.0, 2.0, "count", item_ids=(1, 2, 3, 4)), {}, "低置信度 unsure items 4 · 允许 allowed ≤ 2"),
])
def test_every_rule_kind_has_a_bilingual_mark_with_measured_and_required(result, kw, expected):
    assert mark_text(result, **kw) == expected


NAME_PLATE = RuleTerms(classes=(("name_plate", "桌牌", "name plate"),))


def test_a_missing_item_is_named_in_both_languages():
    missing = _result("required", 0.0, 1.0, "count", item_ids=(), zh="桌面未见桌牌，须按要求摆放",
                      en="no name plate on the desk; it must be shown")
    assert itemless_text(missing, NAME_PLATE) == "缺少 MISSING: 桌牌 name plate · 见到 seen 0 · 要求 required ≥ 1"
    # a rule asking for two classes reports each missing one on its own: the message says which
    two = RuleTerms(classes=(("name_plate", "桌牌", "name plate"), ("monitor", "显示器", "monitor")))
    assert itemless_text(missing, two) == "缺少 MISSING: 桌牌 name plate · 见到 seen 0 · 要求 required ≥ 1"
    in_zone = _result("zone", 0.0, 1.0, "count", item_ids=(), zh="定置区「monitor」内未见显示器",
                      en="no monitor in its place (zone 'monitor')")
    assert (itemless_text(in_zone, RuleTerms(zone="monitor", classes=(("monitor", "显示器", "monitor"),)))
            == "缺少 MISSING: 显示器 monitor (定置区 zone「monitor」) · 见到 seen 0 · 要求 required ≥ 1")
    too_few = _result("count", 0.0, 1.0, "count", item_ids=(), zh="显示器共 0 个，至少应有 1 个",
                      en="monitor: 0 on the desk, at least 1 required")
    assert itemless_text(too_few) == "显示器共 0 个，至少应有 1 个 · monitor: 0 on the desk, at least 1 required"
    # without the standard's terms, the rule's own messages say what is missing
    assert itemless_text(missing) == "桌面未见桌牌，须按要求摆放 · no name plate on the desk; it must be shown · 0 · 要求 required ≥ 1"


def test_a_margin_mark_names_the_edge_it_was_measured_to(camera):
    margins = [MarginLine(0, 5.0, ("front-margin",)), MarginLine(3, 5.0, ("front-margin",))]
    left = CHECK_FAIL.model_copy(update={"measured": 30.0, "decision": "fail"})  # the cup is 30 cm from the left edge
    marks = drawing.item_marks(_report(camera, violations=[left, SURE_FAIL]), camera.desk, margins)
    assert marks.notes[1] == [("距左沿 left margin 30.0 ± 1.0 cm · 要求 required ≥ 5.0 cm", BAD)]
    assert marks.notes[2] == [("距前沿 front margin 1.0 ± 0.8 cm · 要求 required ≥ 5.0 cm", BAD)]


def test_margin_band_is_measured_plus_minus_u_along_the_item(camera):
    report = _report(camera, violations=[SURE_FAIL, CHECK_FAIL])
    bands = {band.item_id: band for band in uncertainty_bands(report, camera.desk, MARGINS)}
    assert set(bands) == {1, 2}
    np.testing.assert_allclose(bands[1].band_cm, [[30, 3.5], [38, 3.5], [38, 5.5], [30, 5.5]], atol=1e-9)
    np.testing.assert_allclose(bands[1].edge_cm, [[30, 4.5], [38, 4.5]], atol=1e-9)
    np.testing.assert_allclose(bands[2].band_cm, [[100, 0.2], [120, 0.2], [120, 1.8], [100, 1.8]], atol=1e-9)
    assert (bands[1].decision, bands[2].decision) == ("conditional_fail", "fail")


def test_the_band_sits_at_the_edge_the_rule_measured(camera):
    # a rule asking front and left: the cup is 4.5 cm from the front and 30 cm from the left edge
    margins = [MarginLine(0, 5.0, ("front-margin",)), MarginLine(3, 5.0, ("front-margin",))]
    band = uncertainty_bands(_report(camera, violations=[CHECK_FAIL]), camera.desk, margins)[0]
    np.testing.assert_allclose(band.edge_cm, [[30, 4.5], [38, 4.5]], atol=1e-9)
    left = CHECK_FAIL.model_copy(update={"measured": 30.0})
    band = uncertainty_bands(_report(camera, violations=[left]), camera.desk, margins)[0]
    assert {round(x, 6) for x, _ in band.edge_cm} == {30.0}  # a line 30 cm in from the left edge, x = 30


def test_margin_lines_name_the_rules_that_ask_each_edge(camera):
    standard = load_standard(REPO / "rules" / "standards" / "front-counter.yaml")
    assert margin_lines(standard, camera) == [MarginLine(0, 5.0, ("front-margin",))]


def test_annotated_photo_writes_plus_minus_labels_and_not_judged(camera, photo, monkeypatch):
    drawn: list[str] = []
    real = drawing._put_texts

    def spy(image, texts, avoid=()):
        drawn.extend(text for _, text, *_ in texts)
        return real(image, texts, avoid)

    monkeypatch.setattr(drawing, "_put_texts", spy)
    annotate(photo, _report(camera, [CHECK_FAIL], [NEAR_PASS], [NO_TURN]), camera, MARGINS)
    assert any("4.5 ± 1.0 cm" in text for text in drawn)
    assert any("1.5 ± 1.0 cm" in text and "likely pass" in text for text in drawn)
    assert any(text.startswith("待核查 CHECK BY EYE") for text in drawn)  # the banner of a check verdict
    assert any("#4" in text and "未判定 not judged" in text for text in drawn)  # the item the rules did not judge
    assert any("kept-square #5" in text and "无法看出" in text for text in drawn)
    assert any("not judged kept-square" in text and "the turn is not seen" in text for text in drawn)
    assert any("待核查 check by eye" in text for text in drawn)  # the legend

    drawn.clear()
    desk_map(photo, _report(camera, [SURE_FAIL], [], [], verdict="fail"), camera, MARGINS)
    assert any("距前沿 front margin 1.0 ± 0.8 cm · 要求 required ≥ 5.0 cm" in text for text in drawn)
    assert any(text.startswith("不合格 FAIL") for text in drawn)  # the desk map's footer: the verdict


def test_colours_mark_sure_fails_conditional_results_and_unjudged_items(camera, photo):
    report = _report(camera, [SURE_FAIL, CHECK_FAIL], [NEAR_PASS], [NO_TURN], verdict="fail")
    out = annotate(photo, report, camera, MARGINS)
    items = {item.id: item for item in report.items}

    def box_region(item_id: int) -> np.ndarray:
        x1, y1, x2, y2 = (int(round(v)) for v in items[item_id].bbox_px)
        return out[max(y1 - 3, 0):y2 + 4, max(x1 - 3, 0):x2 + 4]

    assert _near(box_region(1), CHECK).sum() > 50  # the conditional fail: amber
    assert _near(box_region(3), CHECK).sum() > 50  # the conditional pass: amber too
    red = _near(box_region(2), BAD).sum()
    assert red > 50 and _near(box_region(2), CHECK).sum() < red / 20  # the sure fail: red (amber only where lines blend)
    # the unjudged phone: a grey box with gaps (dashed), not a solid line
    x1, y1, x2, _ = (int(round(v)) for v in items[4].bbox_px)
    top_edge = _near(out[y1 - 1:y1 + 2, x1 + 2:x2 - 2], NOT_JUDGED, 60).any(axis=0)
    assert 0.3 < top_edge.mean() < 0.9


def test_desk_map_draws_the_uncertainty_band_in_the_decision_colour(camera, photo):
    out = desk_map(photo, _report(camera, [SURE_FAIL, CHECK_FAIL]), camera, MARGINS)
    # inside the cup's band (x 30..38, y 3.5..5.5 cm) away from its measured-edge line and the limit line
    x, y = _to_map(camera, 34, 4.0)
    b, g, r = (int(v) for v in out[y, x])
    assert r > 170 and 70 < g < 170 and b < 80, (b, g, r)  # amber
    x, y = _to_map(camera, 110, 0.5)
    b, g, r = (int(v) for v in out[y, x])
    assert r > 150 and r > 2 * g and b < 80, (b, g, r)  # red: the brochure's sure fail
    # without results, no band there
    plain = desk_map(photo, _report(camera, verdict="pass"), camera, MARGINS)
    x, y = _to_map(camera, 34, 4.0)
    assert not _near(plain[y - 1:y + 2, x - 1:x + 2], CHECK, 90).any()


def test_the_example_photo_draws_with_real_uncertainties(camera, tmp_path):
    """The bundled example through inspect: whatever the decisions, every drawn result with an
    uncertainty carries its ± label."""
    import cv2

    from inspector.detections_io import load_detections
    from inspector.frames import load_frame
    from inspector.outputs import margin_lines
    from inspector.outputs import render_pictures
    from inspector.pipeline import inspect

    example = REPO / "examples" / "front-counter"
    photo = example / "photos" / "window-01_2026-11-20T10-15-00.jpg"
    if not photo.is_file():
        pytest.skip("the example photos are not in this checkout")
    standard = load_standard(REPO / "rules" / "standards" / "front-counter.yaml")
    frame = load_frame(photo, camera.camera_id)
    report = inspect(frame, camera, standard, detections=load_detections(example / "detections" / f"{photo.stem}.json"))
    annotated, top = render_pictures(frame, report, camera, standard)
    assert annotated.shape == frame.image.shape and top.ndim == 3
    cv2.imwrite(str(tmp_path / "annotated.png"), annotated)
    with_u = [r for r in drawing.results(report) if r.uncertainty is not None and r.item_ids]
    assert all("±" in result_text(r) for r in with_u)


def _example_pictures(monkeypatch):
    """Every example photo inspected with its detections file and drawn as inspect draws it: per
    photo, its report and the labels given to each picture (annotated photo, then desk map)."""
    from inspector.detections_io import load_detections
    from inspector.frames import load_frame
    from inspector.outputs import render_pictures
    from inspector.pipeline import inspect

    camera = load_camera(REPO / "calibration" / "cameras" / "window-01.yaml")
    standard = load_standard(REPO / "rules" / "standards" / "front-counter.yaml")
    seen: list[tuple] = []
    real_put = drawing._put_texts
    monkeypatch.setattr(drawing, "_put_texts", lambda image, texts, avoid=(): (seen.append((image.shape, texts, avoid)),
                                                                             real_put(image, texts, avoid))[1])
    photos = sorted((REPO / "examples" / "front-counter" / "photos").glob("*.jpg"))
    assert len(photos) == 4
    pictures = {}
    for photo in photos:
        frame = load_frame(photo, camera.camera_id)
        report = inspect(frame, camera, standard,
                         detections=load_detections(REPO / "examples" / "front-counter" / "detections" / f"{photo.stem}.json"))
        render_pictures(frame, report, camera, standard)
        pictures[photo.stem[-8:]] = (report, seen[-2], seen[-1])
    return pictures


def test_labels_never_hide_each_other_on_the_example_photos(monkeypatch):
    """Every example photo and desk map: no movable label (an item's results, item or zone name)
    overlaps any other label, a violation value included."""
    pictures = _example_pictures(monkeypatch)
    for _, *drawn in pictures.values():
        for shape, texts, avoid in drawn:
            plates = drawing.place_labels(texts, shape[1], shape[0], avoid)
            for i, (a, text_a) in enumerate(zip(plates, texts)):
                for j, (b, text_b) in enumerate(zip(plates, texts)):
                    movable = len(text_a) > 4 and text_a[4]
                    if i != j and movable:
                        assert drawing._overlap(a, b) == 0, f"{text_a[1]!r} overlaps {text_b[1]!r}"


def test_the_example_marks_say_what_was_measured_and_required_in_both_languages(monkeypatch):
    """The bundled example as inspect draws it: every result in Chinese and English with measured ±
    U and the required value, on the photo and on the desk map; the missing name plate at 13:45 on
    the photo's banner and in the desk map's footer."""
    pictures = _example_pictures(monkeypatch)

    def lines(texts) -> list[str]:
        return [line for _, text, *_ in texts for line in text.split("\n")]

    report, (_, photo, _), (_, top, _) = pictures["10-15-00"]
    expected = [
        "距前沿 front margin 2.2 ± 1.3 cm · 要求 required ≥ 5.0 cm",
        "超出定置区 off its place 9.8 ± 1.3 cm · 允许超出 allowed outside ≤ 2.0 cm",
        "伸入空置区 into keep-clear area 12.5 ± 1.4 cm · 允许伸入 allowed in ≤ 0.0 cm",
        # the brochure's true margin is 6.29 cm (examples/front-counter/truth): 6.27 measured
        "距前沿 front margin 6.3 ± 1.4 cm · 要求 required ≥ 5.0 cm  待核·偏合格 likely pass",
        "在定置区内 inside its place 2.5 ± 4.8 cm · 允许超出 allowed outside ≤ 2.0 cm  待核·偏合格 likely pass",
    ]
    for texts in (photo, top):
        assert [line for line in expected if line in lines(texts)] == expected
    # every result of every photo has its line on both pictures, with both languages and the limit
    for report, (_, photo, _), (_, top, _) in pictures.values():
        for result in (r for r in drawing.results(report) if r.item_ids):
            for texts in (photo, top):
                found = [line for line in lines(texts)
                         if ("not permitted" in line if result.measured is None else
                             drawing.value_text(result, absolute=result.kind in ("zone", "keep_clear")) in line)]
                assert found, (result.rule, report.image)
                bad = [line for line in found if not (any("\u4e00" <= ch <= "\u9fff" for ch in line)
                                                      and ("required" in line or "allowed" in line or "register" in line))]
                assert not bad, (result.rule, bad)

    _, (_, photo, boxes), (_, top, _) = pictures["13-45-00"]
    missing = "缺少 MISSING: 桌牌 name plate · 见到 seen 0 · 要求 required ≥ 1"
    assert missing in lines(photo) and missing in lines(top)
    banner = next(plate for plate, (_, text, *_) in zip(drawing.place_labels(photo, 1280, 720, boxes), photo)
                  if text.startswith("不合格 FAIL"))
    name_plate = next(plate for plate, (_, text, *_) in zip(drawing.place_labels(photo, 1280, 720, boxes), photo)
                      if text == missing)
    assert banner[3] <= name_plate[1] < banner[3] + 20  # right under the verdict, at the top of the photo


def test_desk_map_is_the_desk_as_the_customer_faces_it(camera, photo):
    """Front edge at the bottom and x to the right: a view from above that is not mirrored (the
    counter camera, on the customer side, sees left and right the same way)."""
    out = desk_map(photo, _report(camera, verdict="pass"), camera, [])
    min_x, min_y, max_x, max_y = camera.desk.outline_cm.bounds
    body_height = int(round((max_y - min_y + 2 * PAD_CM) * PX_PER_CM))
    front = np.all(np.abs(out[:body_height].astype(int) - (0, 220, 255)) < 40, axis=2)
    rows = np.nonzero(front.sum(axis=1) > 0.5 * (max_x - min_x) * PX_PER_CM)[0]
    assert rows.size and abs(rows.mean() - PAD_CM * PX_PER_CM - (max_y - min_y) * PX_PER_CM) < 4
    assert _to_map(camera, min_x, 0.0)[0] < _to_map(camera, max_x, 0.0)[0]
