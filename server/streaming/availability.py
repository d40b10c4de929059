"""Which of the group's streaming services stream a film, and for how many of them (pure).

Rules (docs/protocol.md, "Where to stream", quotes them):

- A member *chooses* by saving a region and at least one service.  A member who saved
  none (or only a region) is not counted as lacking anything: nobody knows what they
  have.
- ``streams``: each subscription (``flatrate``) service that streams the film in the
  region of at least one choosing member who has it, with how many such members
  (``Netflix · 3 of 4 of you``); most members first, then by name.
- ``everyone``: every choosing member has at least one service that streams the film
  by subscription in their own region.  False while nobody has chosen (so the filter
  "only films all of us can stream" is off until somebody chooses), and false for a
  film whose offers are unknown (not looked up, or not linked to TMDb).
- ``other``, ``rent``, ``buy``: the film's subscription services nobody here has, and
  where it can be rented or bought, in the viewer's region.  Renting and buying never
  count as streaming.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from server.streaming.offers import FilmOffers, Offer, RegionOffers

__all__ = [
    "MAX_LISTED",
    "FilmAvailability",
    "ServiceChoice",
    "ServiceCount",
    "choosing",
    "film_availability",
    "group_availability",
]

MAX_LISTED = 6
"""Names in ``other``, ``rent`` and ``buy`` at most (a card has one line for each)."""


@dataclass(frozen=True, slots=True)
class ServiceChoice:
    """A member's region and the services they have there."""

    member_id: str
    region: str
    services: Collection[int]


@dataclass(frozen=True, slots=True)
class ServiceCount:
    service_id: int
    name: str
    members: int
    """Choosing members who have the service and can stream the film on it in their region."""


@dataclass(frozen=True, slots=True)
class FilmAvailability:
    known: bool
    """The film's offers were looked up (with TMDb); False: nothing below is known."""
    streams: tuple[ServiceCount, ...] = ()
    everyone: bool = False
    other: tuple[str, ...] = ()
    rent: tuple[str, ...] = ()
    buy: tuple[str, ...] = ()


def choosing(choices: Sequence[ServiceChoice]) -> list[ServiceChoice]:
    """The members whose choice counts: a region and at least one service."""
    return [c for c in choices if c.region and c.services]


def _names(offers: Sequence[Offer], leave_out: Collection[int] = ()) -> tuple[str, ...]:
    return tuple(o.name for o in offers if o.id not in leave_out)[:MAX_LISTED]


def film_availability(
    offers: FilmOffers | None,
    choices: Sequence[ServiceChoice],
    viewer_region: str | None,
) -> FilmAvailability:
    """The film's availability for the group (see the module's rules)."""
    if offers is None:
        return FilmAvailability(known=False)
    counted = choosing(choices)
    counts: dict[int, int] = {}
    names: dict[int, str] = {}
    everyone = bool(counted)
    for choice in counted:
        region = offers.get(choice.region)
        streaming = [o for o in (region.flatrate if region else ()) if o.id in choice.services]
        if not streaming:
            everyone = False
        for offer in streaming:
            counts[offer.id] = counts.get(offer.id, 0) + 1
            names.setdefault(offer.id, offer.name)
    streams = tuple(
        sorted(
            (ServiceCount(i, names[i], n) for i, n in counts.items()),
            key=lambda s: (-s.members, s.name.casefold(), s.service_id),
        )
    )
    here: RegionOffers = offers.get(viewer_region or "", RegionOffers())
    return FilmAvailability(
        known=True,
        streams=streams,
        everyone=everyone,
        other=_names(here.flatrate, leave_out=counts),
        rent=_names(here.rent),
        buy=_names(here.buy),
    )


def group_availability(
    offers: Mapping[int, FilmOffers | None],
    choices: Sequence[ServiceChoice],
    viewer_region: str | None,
) -> dict[int, FilmAvailability]:
    """:func:`film_availability` for every film of ``offers``."""
    return {film: film_availability(o, choices, viewer_region) for film, o in offers.items()}
