"""The bundled CJK font for the web page.

The project bundles WenQuanYi Micro Hei as a TrueType collection (.ttc) for the pictures (Pillow
reads it as is). Browsers check web fonts strictly (OTS) and refuse this collection: its tables are
not 4-byte aligned. The page gets the collection's first face as a plain TrueType font, tables
re-aligned, the FontForge time stamp table (FFTM) left out, checksums recomputed."""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path

CJK_FONT = Path(__file__).resolve().parents[1] / "inspector" / "fonts" / "wqy-microhei.ttc"
_SKIP = {b"FFTM", b"DSIG"}  # a time stamp, and a signature the rewrite would break


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF


def first_face(collection: bytes) -> bytes:
    """The first font of a TrueType collection (or a plain TrueType font) as a web-safe .ttf."""
    if collection[:4] == b"ttcf":
        (offset,) = struct.unpack(">I", collection[12:16])
    else:
        offset = 0
    sfnt_version, count = struct.unpack(">IH", collection[offset:offset + 6])
    tables = []
    for i in range(count):
        tag, _, start, length = struct.unpack(">4sIII", collection[offset + 12 + 16 * i:offset + 28 + 16 * i])
        if tag not in _SKIP:
            tables.append((tag, collection[start:start + length]))
    tables.sort()
    n = len(tables)
    power = 1 << (n.bit_length() - 1)
    header = struct.pack(">IHHHH", sfnt_version, n, power * 16, power.bit_length() - 1, n * 16 - power * 16)
    position = 12 + 16 * n
    directory, body = b"", b""
    for tag, data in tables:
        if tag == b"head":
            data = data[:8] + b"\0\0\0\0" + data[12:]  # checkSumAdjustment: filled in below
        directory += struct.pack(">4sIII", tag, _checksum(data), position + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    head = next(i for i, (tag, _) in enumerate(tables) if tag == b"head")
    (head_at,) = struct.unpack(">I", font[12 + 16 * head + 8:12 + 16 * head + 12])
    font[head_at + 8:head_at + 12] = struct.pack(">I", (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)


@lru_cache(maxsize=1)
def page_font() -> bytes:
    return first_face(CJK_FONT.read_bytes())
