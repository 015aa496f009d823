"""The page's CJK font: the bundled collection's first face, served as a TrueType font browsers accept."""

from __future__ import annotations

import io
import struct

from PIL import ImageFont

from service.fonts import CJK_FONT, first_face


def test_the_font_is_served_and_well_formed(client):
    response = client.get("/fonts/cjk.ttf")
    assert response.status_code == 200 and response.headers["content-type"] == "font/ttf"
    assert "max-age" in response.headers["cache-control"]
    data = response.content
    assert data == first_face(CJK_FONT.read_bytes())
    # a plain TrueType font with 4-byte aligned tables and no FontForge stamp (what Chromium's OTS refused)
    assert data[:4] == b"\x00\x01\x00\x00"
    (count,) = struct.unpack(">H", data[4:6])
    tags = []
    for i in range(count):
        tag, _, offset, length = struct.unpack(">4sIII", data[12 + 16 * i:28 + 16 * i])
        tags.append(tag)
        assert offset % 4 == 0 and offset + length <= len(data)
    assert b"FFTM" not in tags and {b"glyf", b"cmap", b"head"} <= set(tags)
    font = ImageFont.truetype(io.BytesIO(data), 24)
    assert font.getname()[0] == "WenQuanYi Micro Hei"
    assert font.getbbox("检")[2] > 10


def test_the_page_asks_for_it(client):
    css = client.get("/static/style.css").text
    assert 'url("/fonts/cjk.ttf")' in css and '"Desk CJK"' in css
