"""The REST responses carry the report's uncertainty and decisions (SPEC "Uncertainty and
decisions"): verdict pass | fail | check, violations with uncertainty and decision, conditional
passes, rules not judged, per-item uncertainty; the OpenAPI schema says so; older rows still read."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from inspector.history import History, inspection_key
from inspector.records import NotJudged, Report, ReportItem, StandardRef, Violation
from tests.service.conftest import HEADERS, inspect_files


def _post(client, sample):
    response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id}, files=inspect_files(sample),
                           headers=HEADERS)
    assert response.status_code == 201, response.text
    return response.json()


def _check_report() -> Report:
    """Nothing surely failed; one margin result within its uncertainty of the limit."""
    near = Violation(rule="front-margin", kind="edge_margin", severity="major", item_ids=[1], measured=4.6, required=5.0,
                     unit="cm", message_en="cup #1 is 4.6 ± 1.2 cm from the front edge", message_zh="1号水杯外沿距桌面前沿 4.6 ± 1.2 cm",
                     uncertainty=1.2, decision="conditional_fail")
    item = ReportItem(id=1, **{"class": "cup"}, label_zh="水杯", confidence=0.9, bbox_px=[1, 2, 3, 4],
                      footprint_cm=[[30, 4.6], [38, 4.6], [38, 12.6], [30, 12.6]], center_cm=[34, 8.6], angle_deg=0.0,
                      permitted=True, uncertainty_cm={"front": 1.2, "back": 1.5, "left": 0.9, "right": 1.0})
    return Report(image="check.jpg", camera="window-test", standard=StandardRef(id="front-counter", version="1.0"),
                  model=None, inspected_at="2026-11-20T08:30:00+00:00", compliant=False, verdict="check", score=0.9,
                  items=[item], violations=[near], conditional_passes=[],
                  not_judged=[NotJudged(rule="kept-square", kind="alignment", item_ids=[1],
                                        reason_en="the turn is not seen", reason_zh="无法看出物品的朝向")],
                  warnings=[], timings_ms={})


def _store(settings, report_json: str, compliant: bool, name: str) -> None:
    History(settings.db_url).add(
        key=inspection_key("window-test", name, "batch"), camera_id="window-test", image_name=name, image_sha256=name,
        captured_at=datetime(2026, 11, 20, tzinfo=timezone.utc), inspected_at=datetime(2026, 11, 20, tzinfo=timezone.utc),
        status="ok", compliant=compliant, score=0.9, violation_count=1, message="", report_json=report_json,
        origin="batch")


def test_an_inspection_carries_verdict_uncertainty_and_decisions(client, sample):
    body = _post(client, sample)
    report = body["report"]
    assert report["verdict"] in ("pass", "fail", "check")
    assert body["verdict"] == report["verdict"]
    assert body["compliant"] is report["compliant"] is (report["verdict"] == "pass")
    assert isinstance(report["conditional_passes"], list) and isinstance(report["not_judged"], list)
    for violation in report["violations"]:
        assert violation["decision"] in ("fail", "conditional_fail")
        assert "uncertainty" in violation
    for result in report["conditional_passes"]:
        assert result["decision"] == "conditional_pass"
    for entry in report["not_judged"]:
        assert set(entry) == {"rule", "kind", "item_ids", "reason_en", "reason_zh"}
    for item in report["items"]:
        assert "uncertainty_cm" in item
        if item["uncertainty_cm"] is not None:
            assert set(item["uncertainty_cm"]) == {"front", "back", "left", "right"}
    # the margin measured on a photo comes with its uncertainty
    margins = [v for v in report["violations"] + report["conditional_passes"] if v["kind"] == "edge_margin"]
    assert margins and all(v["uncertainty"] is not None and v["uncertainty"] > 0 for v in margins)
    # the list and the tiles say the verdict too
    listed = client.get("/api/v1/inspections", headers=HEADERS).json()["items"][0]
    assert listed["verdict"] == report["verdict"] and "report" not in listed
    results = report["violations"] + report["conditional_passes"]
    assert listed["fail_count"] == sum(r["decision"] == "fail" for r in results)
    assert listed["check_count"] == sum(r["decision"] != "fail" for r in results)
    tile = client.get("/api/v1/inspections/latest", headers=HEADERS).json()["cameras"][0]["latest"]
    assert tile["verdict"] == report["verdict"]


def test_a_check_verdict_reads_back_with_its_conditional_results(client, settings):
    report = _check_report()
    _store(settings, report.to_json(indent=None), compliant=False, name="check.jpg")
    listed = client.get("/api/v1/inspections", headers=HEADERS).json()["items"][0]
    assert listed["verdict"] == "check" and listed["compliant"] is False
    assert (listed["violation_count"], listed["fail_count"], listed["check_count"]) == (1, 0, 1)
    body = client.get(f"/api/v1/inspections/{listed['id']}", headers=HEADERS).json()
    assert body["report"] == report.to_dict()  # exactly the stored report: nothing lost, nothing added
    assert body["report"]["violations"][0]["decision"] == "conditional_fail"
    assert body["report"]["violations"][0]["uncertainty"] == 1.2
    assert body["report"]["items"][0]["uncertainty_cm"]["front"] == 1.2
    assert body["report"]["not_judged"][0]["reason_zh"] == "无法看出物品的朝向"


def test_a_report_stored_before_verdicts_reads_with_the_verdict_compliant_gave(client, settings):
    old = _check_report().to_dict()
    for key in ("verdict", "conditional_passes", "not_judged"):
        old.pop(key)
    for violation in old["violations"]:
        violation.pop("uncertainty")
        violation.pop("decision")
    for item in old["items"]:
        item.pop("uncertainty_cm")
    _store(settings, json.dumps(old), compliant=False, name="old.jpg")
    listed = client.get("/api/v1/inspections", headers=HEADERS).json()["items"][0]
    assert listed["verdict"] == "fail" and (listed["fail_count"], listed["check_count"]) == (1, 0)
    report = client.get(f"/api/v1/inspections/{listed['id']}", headers=HEADERS).json()["report"]
    assert report["verdict"] == "fail" and report["conditional_passes"] == [] and report["not_judged"] == []
    assert report["violations"][0]["decision"] == "fail" and report["violations"][0]["uncertainty"] is None
    assert report["items"][0]["uncertainty_cm"] is None


def test_a_row_not_judged_has_no_verdict(client, settings):
    History(settings.db_url).add(key=inspection_key("window-test", "dark", "batch"), camera_id="window-test",
                                 image_name="dark.jpg", image_sha256="dark", status="cannot_judge", compliant=None,
                                 origin="batch", inspected_at=datetime(2026, 11, 20, tzinfo=timezone.utc))
    listed = client.get("/api/v1/inspections", headers=HEADERS).json()["items"][0]
    assert listed["verdict"] is None and listed["fail_count"] is None and listed["check_count"] is None
    assert client.get(f"/api/v1/inspections/{listed['id']}", headers=HEADERS).json()["report"] is None


def test_the_openapi_schema_describes_the_new_fields(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    summary = schemas["InspectionSummary"]["properties"]
    assert {"pass", "fail", "check"} <= set(json.dumps(summary["verdict"]).replace('"', " ").split())
    inspection = schemas["Inspection"]["properties"]["report"]
    assert "ReportOut" in json.dumps(inspection)
    report = schemas["ReportOut"]["properties"]
    assert {"verdict", "violations", "conditional_passes", "not_judged", "items", "compliant"} <= set(report)
    assert set(report["verdict"]["enum"]) == {"pass", "fail", "check"}
    violation = schemas["Violation"]["properties"]
    assert set(violation["decision"]["enum"]) == {"fail", "conditional_fail", "conditional_pass"}
    assert "uncertainty" in violation
    assert set(schemas["NotJudged"]["properties"]) == {"rule", "kind", "item_ids", "reason_en", "reason_zh"}
    assert "uncertainty_cm" in schemas["ReportItem"]["properties"]
