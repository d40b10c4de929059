"""``IN`` lists in a few lengths, so that a statement takes few shapes.

An expanding ``IN`` parameter renders its statement anew for each length of list,
and each text is a statement of its own: compiled once per text, and on PostgreSQL
prepared (parsed and planned) once per text on each pooled connection, whose cache
keeps the last hundred.  Batches of 1 to 500 ids would make as many texts; padded to
the next power of two, by repeating the last id (an ``IN`` ignores repeats), they
make at most ten.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

__all__ = ["padded"]

T = TypeVar("T")


def padded(values: Iterable[T]) -> list[T]:
    """``values`` (at least one), the last repeated up to the next power of two."""
    listed = list(values)
    size = 1 << (len(listed) - 1).bit_length()
    return listed + listed[-1:] * (size - len(listed))
