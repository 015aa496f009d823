"""The service takes an uploaded photo's capture time from its file name or EXIF, else the upload
time; `latest` is the latest captured."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from PIL import Image

from tests.service.conftest import HEADERS, inspect_files

_EXIF_IFD, _DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x8769, 36867, 36881


def _post(client, sample, name="desk.jpg", photo=None, data=None):
    response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id, **(data or {})},
                           files=inspect_files(sample, name=name, photo=photo), headers=HEADERS)
    assert response.status_code == 201, response.text
    return response.json()


def _with_exif(photo: bytes, when: str, offset: str | None = None) -> bytes:
    image = Image.open(io.BytesIO(photo))
    exif = Image.Exif()
    sub = {_DATETIME_ORIGINAL: when}
    if offset:
        sub[_OFFSET_TIME_ORIGINAL] = offset
    exif.get_ifd(_EXIF_IFD).update(sub)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=datetime.now().astimezone().tzinfo).astimezone(timezone.utc)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_capture_time_from_the_file_name(client, sample):
    body = _post(client, sample, name="window-test_2026-11-20T08-30-00.jpg")
    assert _utc(body["captured_at"]) == _local("2026-11-20T08:30:00")
    body = _post(client, sample, name="2026-11-21 07:15:02.jpg")
    assert _utc(body["captured_at"]) == _local("2026-11-21T07:15:02")


def test_capture_time_from_exif(client, sample):
    photo = _with_exif(sample.photo, "2026:11:19 21:05:30", "+08:00")
    body = _post(client, sample, name="IMG_0001.jpg", photo=photo)
    assert _utc(body["captured_at"]) == datetime(2026, 11, 19, 13, 5, 30, tzinfo=timezone.utc)
    # without an offset it is this machine's local time
    body = _post(client, sample, name="IMG_0002.jpg", photo=_with_exif(sample.photo, "2026:11:19 21:05:30"))
    assert _utc(body["captured_at"]) == _local("2026-11-19T21:05:30")


def test_an_explicit_time_wins_and_else_the_upload_time(client, sample):
    body = _post(client, sample, name="2026-11-20T08-30-00.jpg", data={"captured_at": "2026-11-22T10:00:00Z"})
    assert body["captured_at"] == "2026-11-22T10:00:00Z"
    before = datetime.now(timezone.utc)
    body = _post(client, sample, name="desk.jpg")
    assert before - timedelta(seconds=1) <= _utc(body["captured_at"]) <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_latest_means_latest_captured(client, sample):
    taken_late = _post(client, sample, name="2026-11-20T18-00-00.jpg")
    _post(client, sample, name="2026-11-20T09-00-00.jpg")  # uploaded after, taken before
    tiles = client.get("/api/v1/inspections/latest", headers=HEADERS).json()["cameras"]
    (tile,) = [t for t in tiles if t["camera_id"] == sample.camera_id]
    assert tile["latest"]["id"] == taken_late["id"]
