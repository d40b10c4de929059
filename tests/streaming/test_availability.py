"""Which of the group's services stream a film (pure), and the offers' stored form."""

from __future__ import annotations

from server.filmdata.tmdb import watch_offers
from server.streaming.availability import (
    MAX_LISTED,
    ServiceChoice,
    ServiceCount,
    film_availability,
    group_availability,
)
from server.streaming.offers import MAX_OFFERS, Offer, RegionOffers, from_json, to_json

NETFLIX, DISNEY, PRIME, MUBI = (
    Offer(8, "Netflix"),
    Offer(337, "Disney Plus"),
    Offer(119, "Amazon Prime Video"),
    Offer(11, "MUBI"),
)
APPLE, GOOGLE, KION = Offer(2, "Apple TV"), Offer(3, "Google Play Movies"), Offer(1803, "Kion")

OFFERS = {
    "US": RegionOffers(flatrate=(NETFLIX, MUBI), rent=(APPLE, GOOGLE), buy=(APPLE,)),
    "GB": RegionOffers(flatrate=(PRIME,), rent=(APPLE,)),
    "RU": RegionOffers(flatrate=(KION,)),
}


def choice(member: str, region: str, *services: Offer) -> ServiceChoice:
    return ServiceChoice(member, region, frozenset(s.id for s in services))


def test_each_service_counts_the_members_who_have_it_where_they_live() -> None:
    group = [
        choice("ana", "US", NETFLIX, DISNEY),
        choice("ben", "US", NETFLIX, MUBI),
        choice("cleo", "GB", NETFLIX, PRIME),  # Netflix UK does not carry it; Prime UK does
        choice("dan", "US", DISNEY),  # Disney does not carry it
    ]
    found = film_availability(OFFERS, group, viewer_region="US")
    assert found.known
    assert found.streams == (
        ServiceCount(8, "Netflix", 2),
        ServiceCount(119, "Amazon Prime Video", 1),
        ServiceCount(11, "MUBI", 1),
    )
    assert not found.everyone  # dan cannot
    # In the viewer's region: subscriptions nobody here has, rent and buy apart.
    assert found.other == ()  # Netflix and MUBI are both someone's
    assert found.rent == ("Apple TV", "Google Play Movies")
    assert found.buy == ("Apple TV",)


def test_everyone_means_every_member_who_chose_can_stream_it() -> None:
    group = [choice("ana", "US", NETFLIX), choice("cleo", "GB", PRIME), choice("eve", "RU", KION)]
    assert film_availability(OFFERS, group, "RU").everyone
    assert film_availability(OFFERS, [*group, choice("dan", "US", DISNEY)], "RU").everyone is False


def test_members_who_chose_nothing_are_not_counted_as_lacking_it() -> None:
    silent = [ServiceChoice("zoe", "US", frozenset()), ServiceChoice("yan", "", frozenset({8}))]
    group = [choice("ana", "US", NETFLIX), *silent]
    assert film_availability(OFFERS, group, "US").everyone
    # With nobody choosing, the filter has nobody to ask: nothing is "everyone's".
    nobody = film_availability(OFFERS, silent, "US")
    assert nobody.known and not nobody.everyone and nobody.streams == ()
    assert nobody.other == ("Netflix", "MUBI")  # what streams it, for a viewer to see


def test_rent_and_buy_never_count_as_streaming() -> None:
    only_rent = {"US": RegionOffers(rent=(APPLE,), buy=(APPLE, GOOGLE))}
    found = film_availability(only_rent, [choice("ana", "US", APPLE)], "US")
    assert found.streams == () and not found.everyone
    assert (found.rent, found.buy) == (("Apple TV",), ("Apple TV", "Google Play Movies"))


def test_unknown_offers_are_unknown_and_no_offers_in_a_region_is_none() -> None:
    group = [choice("ana", "US", NETFLIX)]
    assert film_availability(None, group, "US") == film_availability(None, [], None)
    assert not film_availability(None, group, "US").known
    nowhere = film_availability({}, group, "US")
    assert nowhere.known and not nowhere.everyone and nowhere.streams == ()
    elsewhere = film_availability({"DE": RegionOffers(flatrate=(NETFLIX,))}, group, "US")
    assert elsewhere.streams == () and not elsewhere.everyone
    many = {"US": RegionOffers(rent=tuple(Offer(i, f"S{i:02}") for i in range(1, 20)))}
    assert len(film_availability(many, [], "US").rent) == MAX_LISTED
    assert group_availability({1: OFFERS, 2: None}, group, "US")[2].known is False


def test_stored_form_keeps_names_once_and_reads_back() -> None:
    stored = to_json(OFFERS)
    assert stored["names"]["8"] == "Netflix"
    assert stored["regions"]["US"] == {"flatrate": [8, 11], "rent": [2, 3], "buy": [2]}
    assert from_json(stored) == OFFERS
    assert from_json(None) is None and from_json({"names": []}) is None
    assert from_json(to_json({})) == {}
    # A stored entry out of shape is dropped, not trusted.
    odd = {"names": {"8": "Netflix"}, "regions": {"us": {}, "US": {"flatrate": [8, 9, "x"]}}}
    assert from_json(odd) == {"US": RegionOffers(flatrate=(NETFLIX,))}


def test_tmdb_watch_providers_are_read_entry_by_entry() -> None:
    entry = {
        "provider_id": 8,
        "provider_name": "Netflix",
        "display_priority": 0,
        "logo_path": "/n.jpg",
    }
    answer = {
        "results": {
            "US": {
                "link": "https://www.themoviedb.org/movie/603-the-matrix/watch?locale=US",
                "flatrate": [
                    entry,
                    entry,
                    {"provider_id": -1, "provider_name": "Bad"},
                    {"provider_id": 2, "provider_name": "x" * 500},
                    "junk",
                ],
                "rent": "not a list",
                "ads": [{"provider_id": 300, "provider_name": "Pluto TV"}],
            },
            "Mars": {"flatrate": [entry]},
            "GB": "junk",
        }
    }
    assert watch_offers(answer) == {"US": RegionOffers(flatrate=(NETFLIX,))}
    assert watch_offers(None) is None and watch_offers({"results": []}) is None
    flood = {
        "results": {
            "US": {
                "flatrate": [{"provider_id": i, "provider_name": f"S{i}"} for i in range(1, 500)]
            }
        }
    }
    assert len(watch_offers(flood)["US"].flatrate) == MAX_OFFERS  # type: ignore[index]


def test_the_documented_limits_are_the_servers() -> None:
    from pathlib import Path

    from server.streaming.service import MAX_FILMS, MAX_SERVICES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    doc = " ".join(doc.split())
    section = doc[doc.index("### Where to stream") : doc.index("## WebSocket: connecting")]
    assert f"at most {MAX_SERVICES}" in section
    assert f"more than {MAX_SERVICES} services" in doc
    assert f"at most {MAX_FILMS};" in doc and f"more than {MAX_FILMS} films" in doc
    assert f"{MAX_LISTED_WORDS[MAX_LISTED]} names at most" in section


MAX_LISTED_WORDS = {5: "five", 6: "six", 7: "seven"}
