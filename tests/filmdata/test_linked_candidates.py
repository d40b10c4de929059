"""Catalogue rows linked to one provider film are one candidate (pure ranking)."""

from __future__ import annotations

from server.watchlists.candidates import MemberList, rank_candidates


def test_films_linked_to_one_provider_film_are_one_candidate() -> None:
    # 5 is a Letterboxd row and 9 an IMDb row of the same TMDb film (9 is same_as 5).
    lists = {
        "ana": MemberList([9, 1]),
        "ben": MemberList([5, 2]),
        "cleo": MemberList([5, 9, 3], watched=[]),
    }
    ranking = rank_candidates(lists, aliases={9: 5})
    assert [(r.film_id, r.wanted_by) for r in ranking.films][:1] == [(5, 3)]
    assert ranking.total == 4  # 5, 1, 2, 3: film 9 is film 5
    unmerged = rank_candidates(lists)
    assert unmerged.total == 5
    seen = rank_candidates({"ana": MemberList([9, 1]), "ben": MemberList([2], watched=[5])},
                           aliases={9: 5})  # fmt: skip
    assert sorted(r.film_id for r in seen.films) == [1, 2]  # seen in one source, seen in both
    nominated = rank_candidates({"ana": MemberList([5])}, nominated=[9], aliases={9: 5})
    assert [(r.film_id, r.nominated) for r in nominated.films] == [(5, True)]
