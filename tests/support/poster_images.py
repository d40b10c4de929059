"""Real, small poster images for browser tests: a 2:3 PNG in two colours, made with zlib alone.

The fakes' default poster bytes only carry a signature (enough for the server's checks); a
browser must be able to draw what it shows, so the Playwright tests give films these.
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["poster_png"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def poster_png(
    top: tuple[int, int, int], bottom: tuple[int, int, int], width: int = 120, height: int = 180
) -> bytes:
    """A vertical gradient from ``top`` to ``bottom`` with a lighter band: a poster-like PNG."""
    rows = bytearray()
    for y in range(height):
        share = y / max(1, height - 1)
        colour = [round(a + (b - a) * share) for a, b in zip(top, bottom, strict=True)]
        if height * 0.62 < y < height * 0.7:  # a title band
            colour = [min(255, c + 90) for c in colour]
        rows += b"\x00" + bytes(colour) * width  # filter type 0, then RGB pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )
