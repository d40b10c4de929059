"""Posters: fetched once from the provider's image host, checked, kept, never taken blindly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.filmdata import PosterRefused, PosterStore
from server.filmdata.posters import image_kind
from server.filmdata.tmdb import TmdbProvider
from tests.support.fake_provider import JPEG, PNG, WEBP
from tests.support.fake_tmdb import FakeTmdb


@pytest.fixture
async def posters(tmp_path: Path) -> AsyncIterator[PosterStore]:
    store = PosterStore(tmp_path / "posters", max_bytes=64 * 1024, timeout_s=2)
    yield store
    await store.aclose()


async def poster_of(tmdb: TmdbProvider, film_id: int) -> tuple[str, str]:
    film = await tmdb.details(film_id)
    assert film.poster_url is not None and tmdb.image_origin is not None
    return film.poster_url, tmdb.image_origin


async def test_a_poster_is_kept_once_under_a_safe_name(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb, posters: PosterStore
) -> None:
    url, origin = await poster_of(tmdb, 603)
    name = await posters.fetch(url, origin)
    assert name.endswith(".jpg") and len(name) == 36
    path = posters.path(name)
    assert path is not None and path.read_bytes() == JPEG
    assert await posters.fetch(url, origin) == name
    assert len([r for r in tmdb_site.requests if r.path.startswith("/t/p/")]) == 1
    assert "authorization" not in tmdb_site.requests[-1].headers  # the key stays with the API


async def test_the_type_comes_from_the_bytes(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb, posters: PosterStore
) -> None:
    url, origin = await poster_of(tmdb, 194)  # a PNG served as image/png
    assert (await posters.fetch(url, origin)).endswith(".png")


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("not_image", "not_image"),  # HTML sent as image/jpeg
        ("text", "not_image"),  # real JPEG bytes sent as text/html
        ("too_big", "too_big"),  # no Content-Length, counted while reading
        ("redirect_off_host", "off_host"),
    ],
)
async def test_a_bad_poster_is_refused_and_not_kept(
    mode: str, reason: str, tmdb: TmdbProvider, tmdb_site: FakeTmdb, posters: PosterStore
) -> None:
    tmdb_site.switches.posters[603] = mode
    url, origin = await poster_of(tmdb, 603)
    with pytest.raises(PosterRefused) as caught:
        await posters.fetch(url, origin)
    assert caught.value.reason == reason
    assert not posters.directory.exists() or list(posters.directory.iterdir()) == []


async def test_a_redirect_within_the_image_host_is_followed(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb, posters: PosterStore
) -> None:
    tmdb_site.switches.posters[603] = "redirect_same_host"
    url, origin = await poster_of(tmdb, 603)
    name = await posters.fetch(url, origin)
    assert posters.path(name) is not None


async def test_an_address_off_the_image_host_is_never_fetched(
    tmdb_site: FakeTmdb, posters: PosterStore
) -> None:
    with pytest.raises(PosterRefused) as caught:
        await posters.fetch(
            f"{tmdb_site.base_url}/t/p/w342/poster603.jpg", "https://image.tmdb.org"
        )
    assert caught.value.reason == "off_host"
    assert tmdb_site.requests == []


async def test_a_poster_host_that_is_down_is_refused(posters: PosterStore) -> None:
    with pytest.raises(PosterRefused) as caught:
        await posters.fetch("http://127.0.0.1:9/p.jpg", "http://127.0.0.1:9")
    assert caught.value.reason == "down"


@pytest.mark.parametrize(
    "name", ["../master.key", "x.jpg", "0" * 32 + ".svg", "0" * 32 + ".jpg/..", "A" * 32 + ".jpg"]
)
def test_a_name_that_is_not_ours_is_no_file(name: str, posters: PosterStore) -> None:
    assert posters.path(name) is None


def test_image_signatures() -> None:
    assert (image_kind(JPEG), image_kind(PNG), image_kind(WEBP)) == ("jpg", "png", "webp")
    assert image_kind(b"<svg xmlns=") is None
    assert image_kind(b"GIF89a") is None


async def test_one_poster_fetched_twice_at_once_is_kept_once(
    tmdb: TmdbProvider, tmdb_site: FakeTmdb, posters: PosterStore
) -> None:
    url, origin = await poster_of(tmdb, 603)
    names = await asyncio.gather(*(posters.fetch(url, origin) for _ in range(8)))
    assert len(set(names)) == 1
    assert [p.name for p in posters.directory.iterdir()] == [names[0]]  # no stray part files
