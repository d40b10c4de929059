"""The README shows each stage on a desktop and a phone in both languages, and every image it
shows is a committed PNG (made by scripts/screenshots), all of them under 3 MB."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHOTS = [("1", "invite"), ("2", "lists"), ("3", "pick"), ("4", "match"), ("5", "watch")]


def test_the_readme_shows_each_stage_desktop_and_phone_in_both_languages() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\((docs/screenshots/[^)]+\.png)\)", readme))
    expected = {
        f"docs/screenshots/{lang}-{n}-{stage}-{size}.png"
        for lang in ("en", "ru")
        for n, stage in SHOTS
        for size in ("desktop", "phone")
    }
    assert shown == expected
    for path in sorted(expected):
        data = (REPO / path).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), path
    total = sum((REPO / path).stat().st_size for path in expected)
    assert total < 3_000_000, f"the screenshots weigh {total:,} bytes"
