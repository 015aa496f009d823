"""Every kind of bad upload gets a 4xx with a clear JSON message, and nothing is written."""

from __future__ import annotations

import json
import struct
import zlib

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.service.conftest import HEADERS, inspect_files, make_settings, stored_state


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A real, complete PNG of 10000 x 10000 black pixels: 100 MB decoded from ~100 kB."""
    width = height = 10_000
    row = b"\x00" + bytes(width)  # filter byte + grey pixels
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def _jpeg(width: int, height: int) -> bytes:
    return cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))[1].tobytes()


def _post(client, sample, camera_id=None, headers=HEADERS, **files_kwargs):
    return client.post("/api/v1/inspections", data={"camera_id": camera_id or sample.camera_id},
                       files=inspect_files(sample, **files_kwargs), headers=headers)


@pytest.fixture
def unchanged(client, settings):
    """Asserts after the test that no history row and no file was added."""
    before = stored_state(settings)
    yield
    assert stored_state(settings) == before


@pytest.mark.usefixtures("unchanged")
class TestRejectedUploads:
    def test_not_an_image(self, client, sample):
        response = _post(client, sample, photo=b"%PDF-1.4 this is a document, not a photo" * 10)
        assert response.status_code == 422
        assert response.json() == {"detail": "desk.jpg: not an image (expected JPEG, PNG, BMP, WebP or TIFF)"}

    def test_truncated_jpeg(self, client, sample):
        response = _post(client, sample, photo=sample.photo[: len(sample.photo) // 2])
        assert response.status_code == 422
        assert response.json() == {"detail": "desk.jpg: truncated JPEG (no end-of-image marker)"}

    def test_empty_file(self, client, sample):
        response = _post(client, sample, photo=b"")
        assert response.status_code == 422
        assert response.json() == {"detail": "desk.jpg: the file is empty"}

    @pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
    def test_decompression_bomb(self, client, sample, bomb):
        assert len(bomb) < 200_000
        response = _post(client, sample, photo=bomb, name="bomb.png", content_type="image/png")
        assert response.status_code == 422
        assert response.json() == {"detail": "bomb.png: image is 10000x10000 = 100,000,000 pixels, over the 50,000,000 limit"}

    def test_image_size_not_matching_the_camera(self, client, sample):
        response = _post(client, sample, photo=_jpeg(640, 360))
        assert response.status_code == 422
        assert response.json() == {
            "detail": "desk.jpg: image is 640x360 px but camera 'window-test' was calibrated at 1280x720 px"}

    def test_unknown_camera(self, client, sample):
        response = _post(client, sample, camera_id="window-99")
        assert response.status_code == 404
        assert response.json() == {"detail": "unknown camera 'window-99' (cameras: window-test)"}

    def test_image_part_of_a_wrong_content_type(self, client, sample):
        response = _post(client, sample, content_type="text/plain")
        assert response.status_code == 415
        assert response.json() == {
            "detail": "image: content type text/plain is not an image type (JPEG, PNG, BMP, WebP, TIFF)"}

    def test_detections_part_of_a_wrong_content_type(self, client, sample):
        files = inspect_files(sample)
        files["detections"] = ("d.json", sample.detections, "image/png")
        response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id}, files=files, headers=HEADERS)
        assert response.status_code == 415
        assert response.json() == {"detail": "detections: content type image/png is not JSON"}

    @pytest.mark.parametrize("content_type, body", [
        ("application/json", json.dumps({"camera_id": "window-test", "image": "aGVsbG8="})),
        ("application/x-www-form-urlencoded", "camera_id=window-test&image=abc"),
        ("image/jpeg", None),
    ])
    def test_request_that_is_not_multipart(self, client, sample, content_type, body):
        content = sample.photo if body is None else body.encode()
        response = client.post("/api/v1/inspections", content=content,
                               headers={**HEADERS, "Content-Type": content_type})
        assert response.status_code == 415
        assert response.json() == {"detail": f"send the upload as multipart/form-data (got content type {content_type})"}

    def test_over_the_size_limit_by_content_length(self, site, sample):
        settings = make_settings(site, upload_limit_bytes=50_000, detections_limit_bytes=10_000)
        before = stored_state(settings)
        app = create_app(settings)
        with TestClient(app) as client:
            big = sample.photo + bytes(200_000)
            response = _post(client, sample, photo=big)
        assert response.status_code == 413
        assert response.json() == {
            "detail": f"request body of {int(response.request.headers['content-length']):,} bytes is over the 125,536 byte limit"}
        assert stored_state(settings) == before and app.state.unexpected_errors == 0

    def test_over_the_size_limit_while_streaming(self, site, sample):
        """No Content-Length (chunked upload): the body is counted as it arrives and cut off."""
        settings = make_settings(site, upload_limit_bytes=50_000, detections_limit_bytes=10_000)
        before = stored_state(settings)
        app = create_app(settings)
        boundary = "b0undary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"camera_id\"\r\n\r\nwindow-test\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
                f"Content-Type: image/jpeg\r\n\r\n").encode() + bytes(300_000) + f"\r\n--{boundary}--\r\n".encode()

        def chunks():
            for start in range(0, len(body), 16_384):
                yield body[start:start + 16_384]

        with TestClient(app) as client:
            response = client.post("/api/v1/inspections", content=chunks(),
                                   headers={**HEADERS, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert "content-length" not in response.request.headers
        assert response.status_code == 413
        assert response.json() == {"detail": "request body is over the 125,536 byte limit"}
        assert stored_state(settings) == before and app.state.unexpected_errors == 0

    def test_image_part_over_the_limit_inside_an_allowed_body(self, site, sample):
        settings = make_settings(site, upload_limit_bytes=len(sample.photo) - 1)
        before = stored_state(settings)
        with TestClient(create_app(settings)) as client:
            response = _post(client, sample)
        assert response.status_code == 413
        assert response.json() == {"detail": f"image is over the {len(sample.photo) - 1:,} byte limit"}
        assert stored_state(settings) == before

    @pytest.mark.parametrize("detections, detail", [
        (b"{not json", "desk.json: not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (b"\xff\xfe\x00", "desk.json: not UTF-8 text"),
        (b'[{"class": "cup", "confidence": 1.5, "bbox_px": [0, 0, 10, 10]}]',
         "desk.json: [0.confidence]: Input should be less than or equal to 1 (1 problem(s))"),
        (b'{"class": "cup"}', "desk.json: [(top level)]"),
    ])
    def test_bad_detections(self, client, sample, detections, detail):
        response = _post(client, sample, detections=detections)
        assert response.status_code == 422
        assert response.json()["detail"].startswith(detail.split("[(top level)]")[0])

    def test_no_model_and_no_detections(self, client, sample):
        response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id},
                               files={"image": ("desk.jpg", sample.photo, "image/jpeg")}, headers=HEADERS)
        assert response.status_code == 409
        assert response.json() == {"detail": "detections: no detector model is loaded on this server: "
                                             "send a detections file (SPEC detections JSON) with the image"}

    @pytest.mark.parametrize("data, files, fragment", [
        ({}, None, "camera_id: Field required"),
        ({"camera_id": "window-test"}, {}, "image: Field required"),
        ({"camera_id": ""}, None, "camera_id: Field required"),
        ({"camera_id": "w" * 129}, None, "camera_id: String should have at most 128 characters"),
        ({"camera_id": "window-test", "captured_at": "soon"}, None, "captured_at: Input should be a valid datetime"),
        ({"camera_id": "window-test", "captured_at": "9999-12-31T23:59:59-23:00"}, None,
         "captured_at: out of the representable time range"),
    ])
    def test_missing_or_malformed_fields(self, client, sample, data, files, fragment):
        response = client.post("/api/v1/inspections", data=data,
                               files=inspect_files(sample) if files is None else {"x": ("x.txt", b"x", "text/plain")},
                               headers=HEADERS)
        assert response.status_code == 422
        assert fragment in response.json()["detail"]

    def test_a_garbled_multipart_body(self, client):
        response = client.post("/api/v1/inspections", content=b"--x\r\nContent-Disposition: garbage\r\n\r\n--x",
                               headers={**HEADERS, "Content-Type": "multipart/form-data; boundary=x"})
        assert 400 <= response.status_code < 500
        assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("filename", [
    "../../../etc/passwd.jpg",
    "..\\..\\windows\\win.ini.jpg",
    "/absolute/path/desk.jpg",
    "C:\\Users\\x\\desk.jpg",
    "..",
    "~/.ssh/id_rsa.jpg",
])
def test_path_like_file_names_are_only_labels(client, settings, sample, filename):
    """The client's file name is shown in the report, never used in a path."""
    response = _post(client, sample, name=filename)
    assert response.status_code == 201, response.text
    image = response.json()["report"]["image"]
    assert "/" not in image and "\\" not in image and "\x00" not in image and image not in ("", ".", "..")
    assert image == {"..": "upload"}.get(filename, image)
    # everything written lies inside the data folder, named by the server (the report and the photo;
    # the pictures when first asked for)
    for link in ("annotated", "desk_map"):
        assert client.get(response.json()["links"][link], headers=HEADERS).status_code == 200
    _, files = stored_state(settings)
    assert len(files) == 4 and all(name.startswith("inspections/") and ".." not in name for name in files)
    assert all(image.split(".")[0] not in name.rsplit("/", 1)[-1] for name in files if image != "desk.jpg")


def test_an_unnamed_empty_detections_part_counts_as_absent(client, sample):
    files = {"image": ("desk.jpg", sample.photo, "image/jpeg"), "detections": ("", b"", "application/octet-stream")}
    response = client.post("/api/v1/inspections", data={"camera_id": sample.camera_id}, files=files, headers=HEADERS)
    assert response.status_code in (409, 422)  # no model here: asks for detections, never a 500


@pytest.mark.parametrize("given, shown", [
    ("../../x.jpg", "x.jpg"), ("a\\b\\c.png", "c.png"), ("desk\x00\x07.jpg", "desk.jpg"), ("..", "upload"),
    ("", "upload"), (None, "upload"), ("/", "upload"), ("x" * 500 + ".jpg", "x" * 200),
])
def test_display_name(given, shown):
    from service.inspecting import display_name

    assert display_name(given) == shown
