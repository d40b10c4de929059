"""A film's streaming offers per region, as TMDb's watch providers give them (JustWatch data).

``GET /3/movie/{id}/watch/providers`` (or ``append_to_response=watch/providers``) answers
``{"results": {"US": {"link", "flatrate": [{"provider_id", "provider_name",
"display_priority", "logo_path"}], "rent": [...], "buy": [...]}}}``; ``flatrate`` is a
subscription, ``rent`` and ``buy`` a payment per film (``ads`` and ``free`` are not used).

Pure: the catalogue keeps :func:`to_json`'s compact form (names once, then ids per
region: a popular film has offers in about 150 regions) and reads it with
:func:`from_json`.  Anything out of shape is dropped, never stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

__all__ = [
    "KINDS",
    "MAX_NAME",
    "MAX_OFFERS",
    "MAX_REGIONS",
    "FilmOffers",
    "Offer",
    "RegionOffers",
    "from_json",
    "is_region",
    "to_json",
]

KINDS: tuple[Literal["flatrate", "rent", "buy"], ...] = ("flatrate", "rent", "buy")
MAX_REGIONS = 300
"""More regions than ISO 3166-1 has: an answer past it is not a real one."""
MAX_OFFERS = 100
"""Services of one kind in one region kept at most."""
MAX_NAME = 120
_REGION = re.compile(r"[A-Z]{2}")


def is_region(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code, as TMDb writes them (upper case)."""
    return bool(_REGION.fullmatch(code))


class Offer(msgspec.Struct, frozen=True):
    """A streaming service (TMDb's ``provider_id`` and ``provider_name``)."""

    id: int
    name: str


class RegionOffers(msgspec.Struct, frozen=True, kw_only=True):
    """Who offers a film in one region: by subscription, to rent, to buy."""

    flatrate: tuple[Offer, ...] = ()
    rent: tuple[Offer, ...] = ()
    buy: tuple[Offer, ...] = ()


FilmOffers = dict[str, RegionOffers]
"""Region code → offers; a film known to have none anywhere is ``{}``."""


def usable_offer(provider_id: object, name: object) -> Offer | None:
    """A service as the provider described it, or None when it is out of shape."""
    if not isinstance(provider_id, int) or isinstance(provider_id, bool):
        return None
    if not 0 < provider_id < 2**31 or not isinstance(name, str):
        return None
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_NAME or any(ord(ch) < 32 for ch in clean):
        return None
    return Offer(provider_id, clean)


def _unique(offers: Iterable[Offer]) -> tuple[Offer, ...]:
    seen: dict[int, Offer] = {}
    for offer in offers:
        seen.setdefault(offer.id, offer)
        if len(seen) >= MAX_OFFERS:
            break
    return tuple(seen.values())


def region_offers(kinds: Mapping[str, Iterable[Offer]]) -> RegionOffers:
    return RegionOffers(**{kind: _unique(kinds.get(kind, ())) for kind in KINDS})


def to_json(offers: Mapping[str, RegionOffers]) -> dict[str, Any]:
    """The compact form kept in the catalogue: ``{"names": {id: name}, "regions":
    {code: {"flatrate": [id], "rent": [id], "buy": [id]}}}``."""
    names: dict[str, str] = {}
    regions: dict[str, dict[str, list[int]]] = {}
    for code, region in sorted(offers.items())[:MAX_REGIONS]:
        if not is_region(code):
            continue
        entry: dict[str, list[int]] = {}
        for kind in KINDS:
            listed = getattr(region, kind)
            if listed:
                entry[kind] = [o.id for o in listed]
                names.update((str(o.id), o.name) for o in listed)
        regions[code] = entry
    return {"names": names, "regions": regions}


def from_json(data: object) -> FilmOffers | None:
    """The offers :func:`to_json` wrote; None for nothing stored or anything out of shape."""
    if not isinstance(data, dict):
        return None
    names, regions = data.get("names"), data.get("regions")
    if not isinstance(names, dict) or not isinstance(regions, dict):
        return None
    found: FilmOffers = {}
    for code, entry in regions.items():
        if not isinstance(code, str) or not is_region(code) or not isinstance(entry, dict):
            continue
        kinds: dict[str, list[Offer]] = {}
        for kind in KINDS:
            ids = entry.get(kind, [])
            listed = ids if isinstance(ids, list) else []
            kinds[kind] = [
                offer
                for offer in (usable_offer(i, names.get(str(i))) for i in listed)
                if offer is not None
            ]
        found[code] = region_offers(kinds)
    return found
