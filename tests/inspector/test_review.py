"""inspector.review: which inspections a person should look at first, with exact points."""

from __future__ import annotations

from types import SimpleNamespace

from inspector.review import ModelHints, hints_from_card, rank, review_reasons

HINTS = ModelHints(threshold=0.3, class_threshold={"pen": 0.2}, class_ap50={"keyboard": 0.1, "pen": 0.5})


def _report(**fields) -> dict:
    return {"verdict": "pass", "items": [], "violations": [], "conditional_passes": [], "not_judged": [], **fields}


def test_a_sure_pass_of_confident_items_has_nothing_to_gain():
    assert review_reasons(_report(items=[{"id": 1, "class": "cup", "confidence": 0.95}]), HINTS) == ()


def test_each_reason_and_its_points():
    report = _report(
        verdict="check",
        violations=[{"rule": "front-margin", "decision": "conditional_fail"}, {"rule": "count", "decision": "fail"}],
        conditional_passes=[{"rule": "zone", "decision": "conditional_pass"}],
        not_judged=[{"rule": "alignment"}],
        items=[{"id": 1, "class": "pen", "confidence": 0.25},   # near its own 0.2 threshold
               {"id": 2, "class": "cup", "confidence": 0.95},   # far from 0.3
               {"id": 3, "class": "keyboard", "confidence": 0.35}],  # near 0.3, weakest class
    )
    reasons = {r.code: r.points for r in review_reasons(report, HINTS)}
    assert reasons == {"check_verdict": 4.0, "conditional": 4.0, "near_threshold": 2.0, "not_judged": 1.5,
                       "weak_class": 0.9 + 0.5}


def test_points_per_reason_are_capped():
    report = _report(items=[{"id": i, "class": "cup", "confidence": 0.31} for i in range(1, 41)])
    (reason,) = review_reasons(report, HINTS)
    assert reason.code == "near_threshold" and reason.points == 3.0 and reason.text_en.startswith("40 detection(s)")


def test_rank_orders_by_points_then_newest_and_drops_the_uninteresting():
    reports = {1: _report(verdict="check"), 2: _report(), 3: _report(verdict="check"),
               4: _report(not_judged=[{"rule": "x"}])}
    ranked = rank(reports, HINTS, limit=10)
    assert [(c.inspection_id, c.priority) for c in ranked] == [(3, 4.0), (1, 4.0), (4, 1.5)]
    assert [c.inspection_id for c in rank(reports, HINTS, limit=1)] == [3]


def test_hints_from_card_take_thresholds_and_the_real_photo_ap50():
    card = SimpleNamespace(confidence=0.325, class_confidence={"pen": 0.175}, metrics={
        "real-val": {"per_class": {"pen": {"ap50": 0.53}, "keyboard": {"ap50": 0.12}}},
        "synth-heldout": {"per_class": {"pen": {"ap50": 0.99}, "cup": {"ap50": 0.9}}},
    })
    hints = hints_from_card(card)
    assert hints.threshold_of("pen") == 0.175 and hints.threshold_of("cup") == 0.325
    assert hints.class_ap50 == {"pen": 0.53, "keyboard": 0.12}
