"""The version ranges ``pyproject.toml`` pins (for the code that checks them at start-up)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

__all__ = ["pinned_range"]

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def pinned_range(package: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(first, end)`` of a dependency pinned as ``package>=first,<end``."""
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    for requirement in dependencies:
        found = re.fullmatch(rf"{re.escape(package)}(\[[^\]]*\])?>=([\d.]+),<([\d.]+)", requirement)
        if found:
            return _version(found.group(2)), _version(found.group(3))
    raise AssertionError(f"{package} is not pinned to a range in pyproject.toml")
