"""``IN`` lists padded to a few lengths (server/db/in_lists.py)."""

from __future__ import annotations

import pytest

from server.db.in_lists import padded


@pytest.mark.parametrize(
    ("count", "length"), [(1, 1), (2, 2), (3, 4), (5, 8), (64, 64), (65, 128), (500, 512)]
)
def test_a_list_is_padded_to_the_next_power_of_two_with_its_last_value(
    count: int, length: int
) -> None:
    values = [f"id{n}" for n in range(count)]
    shaped = padded(values)
    assert len(shaped) == length
    assert shaped[:count] == values  # the values first, in their order
    assert set(shaped[count:]) <= {values[-1]}  # then only repeats, which IN ignores


def test_any_iterable_is_taken_and_500_ids_take_ten_shapes() -> None:
    assert padded({7}) == [7]
    assert padded(iter([1, 2, 3])) == [1, 2, 3, 3]
    assert len({len(padded(range(n))) for n in range(1, 501)}) == 10
