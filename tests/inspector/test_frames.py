import cv2
import numpy as np
import pytest

from inspector.errors import ImageError
from inspector.frames import collect_images, decode_image, read_image_file


def _jpeg(width=64, height=48) -> bytes:
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def test_good_jpeg_and_png_decode():
    assert decode_image(_jpeg(), "a.jpg").shape == (48, 64, 3)
    png = cv2.imencode(".png", np.zeros((5, 7, 3), np.uint8))[1].tobytes()
    assert decode_image(png, "a.png").shape == (5, 7, 3)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"hello, not an image at all", "not an image"),
        (_jpeg(640, 480)[:20000], "truncated JPEG"),
        (cv2.imencode(".png", np.zeros((50, 50, 3), np.uint8))[1].tobytes()[:60], "PNG"),
        (b"\xff\xd8\xff" + b"\x00" * 100 + b"\xff\xd9", "JPEG"),
    ],
)
def test_bad_bytes_are_image_errors(data, message):
    with pytest.raises(ImageError, match=message) as error:
        decode_image(data, "upload.jpg")
    assert "upload.jpg" in str(error.value)


def test_decompression_bomb_is_refused_before_decoding():
    big = cv2.imencode(".png", np.zeros((2000, 3000), np.uint8))[1].tobytes()  # small file, 6 Mpx
    with pytest.raises(ImageError, match="over the 1,000,000 limit"):
        decode_image(big, "bomb.png", max_pixels=1_000_000)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        read_image_file(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="folder"):
        read_image_file(tmp_path)


def test_folders_expand_to_sorted_images(tmp_path):
    (tmp_path / "b.jpg").write_bytes(_jpeg())
    (tmp_path / "a.PNG").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in collect_images([tmp_path])] == ["a.PNG", "b.jpg"]


def _damaged(how: str) -> bytes:
    good = _jpeg(640, 480)
    if how == "header only":  # cut after the start of scan, closed with an end marker
        return good[: good.index(b"\xff\xda") + 40] + b"\xff\xd9"
    damaged = bytearray(good)
    middle = len(damaged) // 2
    fill = bytes(3000) if how == "zeroed middle" else np.random.default_rng(1).integers(0, 256, 3000, np.uint8).tobytes()
    damaged[middle:middle + 3000] = fill
    return bytes(damaged)


@pytest.mark.parametrize("how", ["header only", "zeroed middle", "random middle"])
def test_a_jpeg_damaged_inside_is_refused_not_judged(how):
    """OpenCV decodes these to grey or smeared pixels with a warning on stderr; they must never be judged."""
    data = _damaged(how)
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None  # what used to be judged
    with pytest.raises(ImageError, match="corrupt JPEG data"):
        decode_image(data, "upload.jpg")


def test_a_good_jpeg_decodes_to_the_same_pixels_as_opencv():
    data = _jpeg(320, 240)
    assert np.array_equal(decode_image(data, "a.jpg"), cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
