"""Corrections of stored inspections (SPEC "Corrections and model versions") through the REST API."""

from __future__ import annotations

import json

import pytest

from inspector.history import History
from tests.service.conftest import HEADERS, inspect_files, stored_state


def _inspect(client, sample) -> dict:
    response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id},
                           files=inspect_files(sample), headers=HEADERS)
    assert response.status_code == 201, response.text
    return response.json()


def _correct(client, inspection_id: int, **body):
    return client.post(f"/api/v1/inspections/{inspection_id}/corrections", json=body, headers=HEADERS)


def test_the_uploaded_photo_is_kept_for_corrections(client, settings, sample):
    inspection = _inspect(client, sample)
    row = History(settings.db_url).get(inspection["id"])
    assert row.image_path and row.image_path.endswith(".photo.jpg")
    assert (settings.data_dir / row.image_path).read_bytes() == sample.photo


def test_delete_relabel_add_and_confirm_re_evaluate_the_report(client, sample):
    inspection = _inspect(client, sample)
    items = inspection["report"]["items"]
    first, second = items[0], items[1]
    response = _correct(client, inspection["id"], author="王主管", verdict_confirmed=True, base_revision=0, items=[
        {"action": "delete", "item_id": first["id"]},
        {"action": "relabel", "item_id": second["id"], "class": "bag"},
        {"action": "add", "class": "cup", "bbox_px": [10, 10, 60, 70]},
    ])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["revision"] == 1
    assert body["original_report"] == inspection["report"] | {"timings_ms": body["original_report"]["timings_ms"]}
    corrected = {item["id"]: item for item in body["corrected_report"]["items"]}
    new_id = max(i["id"] for i in items) + 1
    assert first["id"] not in corrected  # deleted
    assert corrected[second["id"]]["class"] == "bag"  # relabelled, same id
    assert corrected[new_id]["class"] == "cup" and corrected[new_id]["confidence"] == 1.0
    # a bag is not permitted on the counter: the corrected report says so, the original did not
    assert any(second["id"] in v["item_ids"] for v in body["corrected_report"]["violations"])
    assert body["corrected_verdict"] == body["corrected_report"]["verdict"] == "fail"
    correction = body["corrections"][0]
    assert correction["author"].startswith("王主管 (key ")
    assert correction["verdict_confirmed"] is True
    assert correction["model"] == {"name": None, "version": None}  # detections came with the upload
    # the GET gives the same
    again = client.get(f"/api/v1/inspections/{inspection['id']}/corrections", headers=HEADERS).json()
    assert again["corrected_report"] == body["corrected_report"] and again["revision"] == 1


def test_a_correction_on_an_old_revision_is_refused_with_the_newer_one(client, settings, sample):
    inspection = _inspect(client, sample)
    item = inspection["report"]["items"][0]
    first = _correct(client, inspection["id"], author="A", base_revision=0,
                     items=[{"action": "relabel", "item_id": item["id"], "class": "pen"}])
    assert first.status_code == 201
    before = stored_state(settings)
    second = _correct(client, inspection["id"], author="B", base_revision=0,
                      items=[{"action": "delete", "item_id": item["id"]}])
    assert second.status_code == 409
    body = second.json()
    assert "corrected by A (key" in body["detail"]
    assert body["latest"]["revision"] == 1 and body["latest"]["author"].startswith("A ")
    assert stored_state(settings) == before
    # made on the latest revision it applies; ids stay the same across revisions
    third = _correct(client, inspection["id"], author="B", base_revision=1,
                     items=[{"action": "delete", "item_id": item["id"]}])
    assert third.status_code == 201 and third.json()["revision"] == 2
    assert item["id"] not in {i["id"] for i in third.json()["corrected_report"]["items"]}


def test_concurrent_corrections_of_one_revision_store_one_and_refuse_the_other(client, settings, sample):
    """Two people press save on the same revision at the same moment: the database's unique
    (inspection, revision) lets one in and tells the other."""
    from concurrent.futures import ThreadPoolExecutor

    inspection = _inspect(client, sample)
    item = inspection["report"]["items"][0]
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda who: _correct(client, inspection["id"], author=who, base_revision=0, items=[
            {"action": "relabel", "item_id": item["id"], "class": "pen"}]), ["A", "B", "C", "D"]))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409]
    assert len(client.get(f"/api/v1/inspections/{inspection['id']}/corrections", headers=HEADERS).json()["corrections"]) == 1


@pytest.mark.parametrize("action, fragment", [
    ({"action": "add", "class": "cup", "bbox_px": [-5, 10, 60, 70]}, "outside the"),
    ({"action": "add", "class": "cup", "bbox_px": [10, 10, 5000, 70]}, "outside the"),
    ({"action": "add", "class": "cup", "bbox_px": [60, 10, 10, 70]}, "is empty"),
    ({"action": "add", "class": "unicorn", "bbox_px": [10, 10, 60, 70]}, "unknown class 'unicorn'"),
    ({"action": "add", "bbox_px": [10, 10, 60, 70]}, "needs a class"),
    ({"action": "add", "class": "cup"}, "needs bbox_px"),
    ({"action": "delete", "item_id": 999}, "no item 999"),
    ({"action": "delete"}, "needs item_id"),
    ({"action": "relabel", "item_id": 1, "class": "unicorn"}, "unknown class"),
])
def test_bad_actions_are_422_and_nothing_is_written(client, settings, sample, action, fragment):
    inspection = _inspect(client, sample)
    before = stored_state(settings)
    response = _correct(client, inspection["id"], items=[action])
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]
    assert stored_state(settings) == before
    assert client.get(f"/api/v1/inspections/{inspection['id']}/corrections", headers=HEADERS).json()["revision"] == 0


@pytest.mark.parametrize("body", [
    {"items": [{"action": "explode", "item_id": 1}]},
    {"items": [{"action": "add", "class": "cup", "bbox_px": [1, 2, 3]}]},
    {"items": [], "base_revision": -1},
    {"items": [], "unexpected": 1},
    {"items": [], "author": "a\nb"},
])
def test_malformed_bodies_are_422(client, sample, body):
    inspection = _inspect(client, sample)
    assert _correct(client, inspection["id"], **body).status_code == 422


def test_nan_in_a_box_is_422(client, sample):
    inspection = _inspect(client, sample)
    response = client.post(f"/api/v1/inspections/{inspection['id']}/corrections", headers={**HEADERS, "content-type": "application/json"},
                           content=b'{"items": [{"action": "add", "class": "cup", "bbox_px": [NaN, 1, 2, 3]}]}')
    assert response.status_code == 422


def test_unknown_inspection_is_404_and_a_deleted_photo_is_410(client, settings, sample):
    assert _correct(client, 424242, items=[]).status_code == 404
    inspection = _inspect(client, sample)
    row = History(settings.db_url).get(inspection["id"])
    (settings.data_dir / row.image_path).unlink()
    response = _correct(client, inspection["id"], items=[{"action": "delete", "item_id": 1}])
    assert response.status_code == 410
    assert "no longer on this server" in response.json()["detail"]


def test_base_revision_ahead_of_the_latest_is_422(client, sample):
    inspection = _inspect(client, sample)
    response = _correct(client, inspection["id"], base_revision=3, items=[])
    assert response.status_code == 422 and "does not exist" in response.json()["detail"]


def test_list_corrections_filters_by_camera_and_time(client, sample):
    inspection = _inspect(client, sample)
    assert _correct(client, inspection["id"], verdict_confirmed=False, items=[]).status_code == 201
    page = client.get("/api/v1/corrections", headers=HEADERS).json()
    assert page["total"] == 1 and page["items"][0]["camera_id"] == sample.camera_id
    assert page["items"][0]["correction"]["verdict_confirmed"] is False
    assert client.get("/api/v1/corrections", params={"camera": "elsewhere"}, headers=HEADERS).json()["total"] == 0
    assert client.get("/api/v1/corrections", params={"since": "2999-01-01T00:00:00Z"}, headers=HEADERS).json()["total"] == 0


def test_review_queue_ranks_uncorrected_inspections_and_caps_the_day(client, sample, settings):
    ids = [_inspect(client, sample)["id"] for _ in range(3)]
    queue = client.get("/api/v1/review-queue", headers=HEADERS).json()
    assert queue["cap"] == settings.review_per_day
    listed = [entry["inspection"]["id"] for entry in queue["items"]]
    assert set(listed) <= set(ids)
    for entry in queue["items"]:
        assert entry["priority"] == pytest.approx(sum(r["points"] for r in entry["reasons"]))
    assert listed, "the hand-made scene has a conditional result: worth a look"
    assert queue["items"][0]["reasons"][0]["code"] == "conditional"
    # a corrected inspection leaves the queue
    assert _correct(client, listed[0], verdict_confirmed=True, items=[]).status_code == 201
    after = client.get("/api/v1/review-queue", headers=HEADERS).json()
    assert listed[0] not in [e["inspection"]["id"] for e in after["items"]]
    assert after["candidates"] == queue["candidates"] - 1
    capped = client.get("/api/v1/review-queue", params={"limit": 1}, headers=HEADERS).json()
    assert len(capped["items"]) <= 1
    empty_day = client.get("/api/v1/review-queue", params={"day": "2001-01-01"}, headers=HEADERS).json()
    assert empty_day["items"] == [] and empty_day["day"] == "2001-01-01"
