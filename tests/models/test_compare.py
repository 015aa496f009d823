"""models.compare: Cohen's kappa and the gate's checks with hand-made numbers; a real comparison of
the bundled model with a stricter copy of itself on the four example photos; bad folders."""

from __future__ import annotations

import json

import pytest

from inspector.errors import InspectorError, ModelError
from models.compare import (DEFAULT_TOLERANCES, Tolerances, check_models, cohen_kappa, compare_models, gate_passed,
                            judge, load_comparison, parse_tolerances, save_comparison)
from models.registry import DEFAULT_MODEL
from models.versions import identify
from tests.models.gate_data import make_candidate, make_heldout_folder


# -- kappa --------------------------------------------------------------------------------------
def test_cohen_kappa_exact():
    confirmed = ["pass", "pass", "fail", "fail", "check"]
    model = ["pass", "fail", "fail", "fail", "check"]
    # p_o = 0.8; p_e = 0.4*0.2 + 0.4*0.6 + 0.2*0.2 = 0.36; (0.8 - 0.36) / 0.64
    assert cohen_kappa(confirmed, model) == pytest.approx(0.6875, abs=1e-12)
    assert cohen_kappa(confirmed, confirmed) == pytest.approx(1.0)
    # agreeing only as often as chance: p_o = 0.5, p_e = 0.5
    assert cohen_kappa(["pass", "fail", "pass", "fail"], ["pass", "pass", "fail", "fail"]) == pytest.approx(0.0)
    # always the opposite of two equally frequent labels: -1
    assert cohen_kappa(["pass", "fail"], ["fail", "pass"]) == pytest.approx(-1.0)
    # one rater always 'fail': p_o = 0.75, p_e = 0.75 -> 0
    assert cohen_kappa(["check", "fail", "fail", "fail"], ["fail"] * 4) == pytest.approx(0.0)


def test_cohen_kappa_undefined_is_none():
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["pass"] * 3, ["pass"] * 3) is None  # both always one label: chance explains everything
    with pytest.raises(ValueError):
        cohen_kappa(["pass"], [])


# -- judging ------------------------------------------------------------------------------------
def _side(map50, recall, instances, agreement=None, kappa=None):
    verdicts = None if agreement is None else {"images": 4, "agreement": agreement, "kappa": kappa, "disagreements": []}
    return {"mAP50": map50, "recall": recall, "instances": instances, "verdicts": verdicts}


def _comparison(candidate, current):
    return {"folders": {"real": {"candidate": candidate, "current": current}}}


def _by_figure(checks):
    return {check.figure: check for check in checks}


def test_judge_allows_a_drop_up_to_the_tolerance_and_no_more():
    instances = {"cup": 40, "pen": 12, "bag": 3}
    current = _side(0.500, {"cup": 0.80, "pen": 0.50, "bag": 1.0}, instances, agreement=0.90, kappa=0.70)
    within = _side(0.490, {"cup": 0.75, "pen": 0.60, "bag": 0.0}, instances, agreement=0.88, kappa=0.65)
    checks = _by_figure(judge(_comparison(within, current)))
    assert checks["mAP50"].passed is True and checks["mAP50"].change == pytest.approx(-0.01)
    assert checks["recall cup"].passed is True  # exactly 0.05 lower
    assert checks["recall pen"].passed is True  # better
    assert checks["recall bag"].passed is None and "3 labelled" in checks["recall bag"].note  # too few to tell
    assert checks["verdict agreement"].passed is True and checks["verdict kappa"].passed is True
    assert gate_passed(list(checks.values()))

    beyond = _side(0.4899, {"cup": 0.7499, "pen": 0.50, "bag": 1.0}, instances, agreement=0.8799, kappa=0.6499)
    checks = _by_figure(judge(_comparison(beyond, current)))
    failed = sorted(figure for figure, check in checks.items() if check.passed is False)
    assert failed == ["mAP50", "recall cup", "verdict agreement", "verdict kappa"]
    assert not gate_passed(list(checks.values()))
    described = checks["recall cup"].describe()
    assert "0.750 vs 0.800" in described and "allowed -0.050" in described and "WORSE" in described
    assert checks["mAP50"].as_dict()["change"] == pytest.approx(-0.0101)


def test_judge_marks_what_was_not_measured():
    current = _side(0.5, {}, {})
    checks = _by_figure(judge(_comparison(_side(0.5, {}, {}), current)))
    assert checks["verdict agreement"].passed is None and "no supervisor-confirmed" in checks["verdict agreement"].note
    assert gate_passed(list(checks.values()))  # mAP50 was measured and held
    undefined = judge(_comparison(_side(None, {}, {}, agreement=1.0, kappa=None), _side(None, {}, {}, agreement=1.0, kappa=None)))
    kappa = _by_figure(undefined)["verdict kappa"]
    assert kappa.passed is None and "undefined" in kappa.note
    nothing = judge(_comparison(_side(None, {}, {}), _side(None, {}, {})))
    assert all(check.passed is None for check in nothing) and not gate_passed(nothing)


def test_tolerances_from_the_command_line():
    assert parse_tolerances([]) == DEFAULT_TOLERANCES
    custom = parse_tolerances(["map50_drop=0.02", "min-instances=3"])
    assert custom.map50_drop == 0.02 and custom.min_instances == 3 and custom.recall_drop == 0.05
    for bad in (["map50"], ["speed=1"], ["map50_drop=-1"], ["map50_drop=lots"]):
        with pytest.raises(InspectorError):
            parse_tolerances(bad)


# -- a real comparison --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    return make_heldout_folder(tmp_path_factory.mktemp("heldout") / "examples")


@pytest.fixture(scope="module")
def stricter(tmp_path_factory):
    """The bundled network with every threshold at 0.95: the same mAP50, less recall."""
    return make_candidate(tmp_path_factory.mktemp("registry"), "desk-strict", confidence=0.95, class_confidence={})


def test_a_stricter_copy_keeps_map50_and_loses_recall_and_verdicts(heldout, stricter, tmp_path):
    comparison = compare_models(str(stricter), DEFAULT_MODEL, [heldout])
    folder = comparison["folders"]["examples"]
    new, old = folder["candidate"], folder["current"]
    assert folder["images"] == 4 and folder["confirmed_verdicts"] == 4
    assert comparison["candidate"]["name"] == "desk-strict" and comparison["current"]["name"] == DEFAULT_MODEL
    # AP is measured down to the 0.001 floor: the thresholds do not change it, the weights are the same
    assert new["mAP50"] == old["mAP50"] and old["mAP50"] > 0.9
    assert new["confidence"] == 0.95 and old["class_confidence"]  # each at its own card's thresholds
    assert sum(new["recall"].values()) < sum(old["recall"].values())
    # the confirmed verdicts are the current model's own
    assert old["verdicts"]["agreement"] == 1.0 and old["verdicts"]["disagreements"] == []
    disagreements = new["verdicts"]["disagreements"]
    assert new["verdicts"]["agreement"] == pytest.approx(1 - len(disagreements) / 4)
    checks = judge(comparison, Tolerances(min_instances=1))
    assert not gate_passed(checks)
    assert {c.figure for c in checks if c.passed is False} >= {"recall cup", "recall pen"}

    path = save_comparison(comparison, tmp_path / "compare.json")
    assert load_comparison(path) == json.loads(json.dumps(comparison))
    check_models(comparison, identify(stricter), identify(_bundled_card()))  # made for exactly these two
    with pytest.raises(ModelError, match="compare again"):
        check_models(comparison, identify(_bundled_card()), identify(stricter))


def _bundled_card():
    from models.registry import resolve_card

    return resolve_card(DEFAULT_MODEL)


def test_the_same_model_twice_is_refused(tmp_path):
    with pytest.raises(ModelError, match="same model"):
        compare_models(DEFAULT_MODEL, DEFAULT_MODEL, [tmp_path])


def test_bad_folders_are_refused_before_any_model_runs(tmp_path, stricter, heldout, monkeypatch):
    import models.compare as compare

    monkeypatch.setattr(compare, "_box_figures", lambda *a, **k: pytest.fail("a model ran"))
    empty = tmp_path / "empty"
    empty.mkdir()
    unlabelled = tmp_path / "photos"
    unlabelled.mkdir()
    (unlabelled / "a.jpg").write_bytes((heldout / "images" / "val").glob("*.jpg").__next__().read_bytes())
    no_val = tmp_path / "no-val"
    (no_val / "images" / "train").mkdir(parents=True)
    empty_val = tmp_path / "empty-val"
    (empty_val / "images" / "val").mkdir(parents=True)
    (empty_val / "images" / "train").mkdir(parents=True)
    cases = {tmp_path / "nowhere": "not a folder", empty: "no images", unlabelled: "not a labelled YOLO folder",
             no_val: "no images/val folder", empty_val: "no images in images/val"}
    for folder, message in cases.items():
        with pytest.raises(ModelError, match=message):
            compare_models(str(stricter), DEFAULT_MODEL, [folder])
    with pytest.raises(ModelError, match="at least one"):
        compare_models(str(stricter), DEFAULT_MODEL, [])
    broken = tmp_path / "broken"
    __import__("shutil").copytree(heldout, broken)
    (broken / "verdicts.jsonl").write_text('{"image": "images/val/x.jpg", "verdict": "maybe"}\n', encoding="utf-8")
    with pytest.raises(ModelError, match="line 1"):
        compare_models(str(stricter), DEFAULT_MODEL, [broken])
    with pytest.raises(ModelError, match="no such model"):
        compare_models("no-such-model", DEFAULT_MODEL, [heldout])


def test_a_file_that_is_no_comparison_is_refused(tmp_path):
    for text, message in (("{", "unreadable"), ('{"folders": {}}', "not a comparison")):
        (tmp_path / "c.json").write_text(text, encoding="utf-8")
        with pytest.raises(ModelError, match=message):
            load_comparison(tmp_path / "c.json")
    with pytest.raises(ModelError, match="not found"):
        load_comparison(tmp_path / "none.json")


def test_missing_weights_are_refused_before_any_model_runs(tmp_path, heldout, monkeypatch):
    import models.compare as compare

    monkeypatch.setattr(compare, "_box_figures", lambda *a, **k: pytest.fail("a model ran"))
    card = make_candidate(tmp_path, "desk-gone")
    (card.parent / "weights.onnx").unlink()
    with pytest.raises(ModelError, match="missing"):
        compare_models(str(card), DEFAULT_MODEL, [heldout])
