"""Film details in the browser: a list imported on a server whose film data comes from a local
fake TMDb shows posters, runtimes, genres, directors and overviews, in English on a desktop and
in Russian on a phone, with the look-up's progress, the host's notes and TMDb's credit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.e2e.checks import assert_accessible, assert_no_horizontal_scroll
from tests.e2e.friday import (
    DESKTOP,
    PHONE,
    create_session,
    csv_file,
    join_session,
    new_member_context,
    open_stage,
    stage,
    start_match,
)
from tests.filmdata.test_enrichment import imdb_csv
from tests.support.fake_kinopoisk import fake_kinopoisk
from tests.support.fake_provider import FakeMovie
from tests.support.fake_tmdb import FakeTmdb, fake_tmdb
from tests.support.poster_images import poster_png
from tests.support.server_process import ServerProcess, server_process

KNOWN = [
    FakeMovie(tmdb_id=949, title="Heat", year=1995, title_ru="Схватка", runtime=170,
              genres=("Crime", "Drama", "Action"), directors=("Michael Mann",),
              overview="Obsessive master thief Neil McCauley leads a top-notch crew.",
              overview_ru="Вор-профессионал Нил Макколи и его команда берутся за последнее дело.",
              imdb_id="tt0113277", poster=poster_png((40, 60, 110), (10, 10, 30))),
    FakeMovie(tmdb_id=496243, title="Parasite", year=2019, title_ru="Паразиты", runtime=133,
              genres=("Comedy", "Thriller", "Drama"), directors=("Bong Joon Ho",),
              overview="All unemployed, Ki-taek's family takes peculiar interest in the Parks.",
              imdb_id="tt6751668", poster=poster_png((30, 90, 60), (5, 20, 10))),
    FakeMovie(tmdb_id=348, title="Alien", year=1979, title_ru="Чужой", runtime=117,
              genres=("Horror", "Science Fiction"), directors=("Ridley Scott",),
              overview="During its return to the earth, commercial spaceship Nostromo "
              "intercepts a distress signal from a distant planet.",
              imdb_id="tt0078748", poster=poster_png((20, 70, 70), (0, 10, 10))),
    FakeMovie(tmdb_id=129, title="Spirited Away", year=2001, title_ru="Унесённые призраками",
              original_title="千と千尋の神隠し", runtime=125,
              genres=("Animation", "Family", "Fantasy"), directors=("Hayao Miyazaki",),
              overview="A young girl wanders into a world ruled by gods and witches.",
              imdb_id="tt0245429", poster=poster_png((150, 70, 60), (40, 10, 20))),
    FakeMovie(tmdb_id=346698, title="Paddington 2", year=2017,
              title_ru="Приключения Паддингтона 2", runtime=104,
              genres=("Comedy", "Family", "Adventure"), directors=("Paul King",),
              overview="Paddington picks up a series of odd jobs to buy the perfect present.",
              imdb_id="tt4468740", poster=poster_png((160, 110, 40), (60, 30, 10))),
    FakeMovie(tmdb_id=1398, title="Stalker", year=1979, title_ru="Сталкер", runtime=162,
              genres=("Science Fiction", "Drama"), directors=("Andrei Tarkovsky",),
              overview="Near a gray and unnamed city is the Zone.",
              imdb_id="tt0079944", poster=poster_png((90, 100, 60), (20, 25, 10))),
]  # fmt: skip
BROKEN = FakeMovie(tmdb_id=593, title="Solaris", year=1972, title_ru="Солярис", runtime=167,
                   imdb_id="tt0069293", poster=poster_png((60, 60, 140), (10, 10, 40)))  # fmt: skip
UNKNOWN = [(f"A film nobody knows {n}", 2000 + n % 20, f"unk{n:02d}") for n in range(40)]
FILMS = [(f.title, f.year, f"k{f.tmdb_id}") for f in [*KNOWN, BROKEN]] + UNKNOWN
TOTAL = len(FILMS)

# Every text the status line showed, so a run too quick to watch is still seen.
RECORD_STATUS = """() => {
    window.statusTexts = [];
    new MutationObserver(() => {
        const text = document.querySelector(".film-status-text")?.textContent;
        if (text && window.statusTexts.at(-1) !== text) window.statusTexts.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


# Every poster on the cards is loaded and drawn (the fake's PNGs are 120 px wide).
POSTERS_DRAWN = """() => [...document.querySelectorAll("li.candidate img.poster")]
    .every((img) => img.complete && img.naturalWidth === 120)"""


@pytest.fixture(scope="module")
def tmdb() -> Iterator[FakeTmdb]:
    with fake_tmdb([*KNOWN, BROKEN]) as fake:
        fake.switches.broken[BROKEN.tmdb_id] = {"runtime": -5}  # an absurd answer: skipped
        yield fake


def _with_tmdb(tmp: Path, tmdb: FakeTmdb, key: str) -> Any:
    return server_process(tmp, {
        "FILMNIGHT_FILM_DATA": "tmdb",
        "FILMNIGHT_TMDB_URL": tmdb.base_url,
        "FILMNIGHT_FILM_DATA_KEY": key,
        # slow enough that the progress is seen between batches
        "FILMNIGHT_FILM_DATA_REQUESTS_PER_SECOND": "8",
    })  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tmdb: FakeTmdb) -> Iterator[ServerProcess]:
    with _with_tmdb(tmp_path_factory.mktemp("film-details"), tmdb, tmdb.key) as running:
        yield running


def shot(page: Page, out: Path, name: str) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True, animations="disabled")


def card(page: Page, title: str) -> Any:
    return page.locator("li.candidate").filter(has=page.locator(".film-title", has_text=title))


def test_posters_runtimes_genres_and_progress_in_english_and_russian(
    browser: Browser, server: ServerProcess, tmp_path: Path
) -> None:
    host_ctx = new_member_context(browser, DESKTOP, "en-US")
    phone_ctx = new_member_context(browser, PHONE, "ru-RU")
    host, phone = host_ctx.new_page(), phone_ctx.new_page()
    try:
        invite = create_session(host, server.base_url, "Ana", "Friday")
        join_session(phone, invite, "Борис")
        for page in (host, phone):
            open_stage(page, "lists")
            page.evaluate(RECORD_STATUS)
        # Борис brings an IMDb list first; Ana's Letterboxd list then has the same Heat as
        # another catalogue row, until the look-up links the two.
        imdb: FilePayload = {
            "name": "list.csv",
            "mimeType": "text/csv",
            "buffer": imdb_csv(KNOWN[0], KNOWN[2]),
        }
        phone.set_input_files("#import-file", files=[imdb])
        expect(phone.locator(".film-status-text")).to_have_text("Подробности найдены для 2 фильмов")
        host.set_input_files("#import-file", files=[csv_file(FILMS)])

        # The look-up runs after the list is in: its progress, then what it found.
        expect(host.locator(".film-status-text")).to_have_text(
            "Film details: 6 films found", timeout=60_000
        )
        expect(phone.locator(".film-status-text")).to_have_text("Подробности найдены для 6 фильмов")
        running = host.evaluate("window.statusTexts")
        assert any(
            re.fullmatch(rf"Fetching film details… \d+ of {TOTAL} · .+", t) for t in running
        ), running
        running_ru = phone.evaluate("window.statusTexts")
        assert any(
            re.fullmatch(rf"Загружаем подробности о фильмах… \d+ из {TOTAL} · .+", t)
            for t in running_ru
        ), running_ru
        # The host reads the skipped film and the films the provider could not tell apart.
        notes = host.locator(".film-status-host")
        expect(notes).to_contain_text("Details of 1 film were skipped")
        expect(notes).to_contain_text("40 films could not be told apart or were not found")
        expect(phone.locator(".film-status-host")).to_be_hidden()  # a guest is not troubled
        # One Heat, on both lists: everyone wants it.
        expect(card(host, "Heat")).to_have_count(1)
        expect(card(host, "Heat")).to_have_class(re.compile(r"\beveryone\b"))
        expect(card(phone, "Схватка")).to_have_class(re.compile(r"\beveryone\b"))

        # English, desktop: the poster from our own origin, its box reserved, lazy.
        heat = card(host, "Heat")
        poster = heat.locator("img.poster")
        expect(poster).to_have_attribute("src", re.compile(r"^/posters/[0-9a-f]{32}\.png$"))
        expect(poster).to_have_attribute("loading", "lazy")
        expect(poster).to_have_attribute("width", "56")
        expect(poster).to_have_attribute("height", "84")
        host.wait_for_function(POSTERS_DRAWN)
        expect(heat.locator(".film-facts")).to_have_text("2 hr 50 min · Crime, Drama, Action")
        heat.locator("details.film-more summary").click()
        expect(heat.locator(".film-directors")).to_have_text("Director: Michael Mann")
        expect(heat.locator(".film-overview")).to_contain_text("Neil McCauley")
        expect(heat.locator(".film-credit")).to_have_text("Details: TMDB")
        # A film nobody could find keeps a title card.
        unknown = card(host, "A film nobody knows 7")
        expect(unknown.locator(".title-card")).to_be_visible()
        expect(unknown.locator(".film-facts")).to_have_count(0)
        expect(host.locator(".film-about")).to_contain_text(
            "This product uses the TMDB API but is not endorsed or certified by TMDB"
        )

        # Russian, phone: Russian titles, Intl runtimes, genres in Russian.
        schvatka = card(phone, "Схватка")
        expect(schvatka.locator(".film-facts")).to_have_text("2 ч 50 мин · криминал, драма, боевик")
        expect(card(phone, "Унесённые призраками")).to_have_count(1)
        expect(phone.locator(".film-about")).to_contain_text("не одобрен и не сертифицирован TMDB")
        schvatka.locator("details.film-more summary").click()
        expect(schvatka.locator(".film-directors")).to_have_text("Режиссёр: Michael Mann")
        expect(schvatka.locator(".film-overview")).to_contain_text("Нил Макколи")
        expect(schvatka.locator(".film-credit")).to_have_text("Данные: TMDB")

        for page, where in (
            (host, "film details, lists, desktop (en)"),
            (phone, "film details, lists, phone (ru)"),
        ):
            assert_accessible(page, where)
            assert_no_horizontal_scroll(page, where)
        shot(host, tmp_path, "en-lists-desktop")
        shot(phone, tmp_path, "ru-lists-phone")
        # And the other way round: English on a phone's width, Russian on a desktop's.
        host.set_viewport_size(PHONE["viewport"])
        phone.set_viewport_size(DESKTOP["viewport"])
        for page, where in (
            (host, "lists, phone width (en)"),
            (phone, "lists, desktop width (ru)"),
        ):
            expect(
                card(page, "Heat" if page is host else "Схватка").locator("img.poster")
            ).to_be_visible()
            assert_no_horizontal_scroll(page, where)
        shot(host, tmp_path, "en-lists-phone")
        shot(phone, tmp_path, "ru-lists-desktop")
        host.set_viewport_size(DESKTOP["viewport"])
        phone.set_viewport_size(PHONE["viewport"])

        # The match card: poster with alt text, facts, director, overview, credit.
        start_match(host, 4)
        for page in (host, phone):
            expect(stage(page)).to_have_attribute("data-stage", "pick")
        swipe = host.locator(".swipe-card")
        expect(swipe.locator("img.poster.large")).to_have_attribute(
            "alt", re.compile(r"^Poster of ")
        )
        expect(swipe.locator(".film-facts")).to_have_text(re.compile(r"^\d{4} · \d+ hr \d+ min · "))
        expect(swipe.locator(".film-overview")).not_to_be_empty()
        expect(swipe.locator(".film-credit")).to_have_text("Details: TMDB")
        phone_card = phone.locator(".swipe-card")
        expect(phone_card.locator("img.poster.large")).to_have_attribute(
            "alt", re.compile(r"^Постер: ")
        )
        expect(phone_card.locator(".film-facts")).to_have_text(
            re.compile(r"^\d{4} · \d+ ч \d+ мин · ")
        )
        for page, where in ((host, "match card, desktop (en)"), (phone, "match card, phone (ru)")):
            assert_accessible(page, where)
            assert_no_horizontal_scroll(page, where)
        # The card fits the phone's screen width, its poster drawn.
        box = phone_card.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        phone.wait_for_function(
            "() => document.querySelector('.swipe-card img.poster').naturalWidth > 0"
        )
        shot(host, tmp_path, "en-match-desktop")
        shot(phone, tmp_path, "ru-match-phone")
    finally:
        host_ctx.close()
        phone_ctx.close()


def test_the_host_reads_a_refused_key_in_plain_words_and_voting_goes_on(
    browser: Browser, tmdb: FakeTmdb, tmp_path: Path
) -> None:
    with _with_tmdb(tmp_path, tmdb, "not-the-key") as refused:
        context = new_member_context(browser, DESKTOP, "en-US")
        host = context.new_page()
        try:
            create_session(host, refused.base_url, "Ana", "Friday")
            open_stage(host, "lists")
            host.set_input_files("#import-file", files=[csv_file(FILMS[:5])])
            failure = host.locator(".film-status-failure")
            expect(failure).to_have_text(
                re.compile(r"^The film-data provider refused the server's key"), timeout=30_000
            )
            expect(host.locator(".film-status-text")).to_have_text(
                "No film details found for these films."
            )
            expect(host.locator("li.candidate")).to_have_count(5)  # the list is there all the same
            host.locator(".language").select_option("ru")
            expect(host.locator(".film-status-failure")).to_have_text(
                re.compile(r"^Источник данных о фильмах не принял ключ сервера")
            )
            assert_accessible(host, "provider failure (ru)")
        finally:
            context.close()


def test_kinopoisk_titles_follow_each_members_language_and_kinopoisk_is_credited(
    browser: Browser, tmp_path: Path
) -> None:
    matrix = FakeMovie(tmdb_id=603, title="The Matrix", year=1999, title_ru="Матрица",
                       runtime=136, genres=("Action", "Science Fiction"), imdb_id="tt0133093",
                       kinopoisk_id=301, poster=poster_png((20, 90, 40), (0, 15, 5)))  # fmt: skip
    with (
        fake_kinopoisk([matrix]) as kinopoisk,
        server_process(
            tmp_path,
            {
                "FILMNIGHT_FILM_DATA": "kinopoisk",
                "FILMNIGHT_KINOPOISK_URL": kinopoisk.base_url,
                "FILMNIGHT_FILM_DATA_KEY": kinopoisk.key,
            },
        ) as server,  # fmt: skip
    ):
        english = new_member_context(browser, DESKTOP, "en-US")
        russian = new_member_context(browser, PHONE, "ru-RU")
        host, guest = english.new_page(), russian.new_page()
        try:
            invite = create_session(host, server.base_url, "Ana", "Friday")
            join_session(guest, invite, "Борис")
            for page in (host, guest):
                open_stage(page, "lists")
            upload: FilePayload = {
                "name": "list.csv", "mimeType": "text/csv", "buffer": imdb_csv(matrix),
            }  # fmt: skip
            host.set_input_files("#import-file", files=[upload])
            expect(host.locator(".film-status-text")).to_have_text("Film details: 1 film found")
            # Kinopoisk's nameEn for English, nameRu for Russian; its genres translated.
            english_card = card(host, "The Matrix")
            expect(english_card.locator(".film-facts")).to_have_text(
                "2 hr 16 min · Action, Science Fiction"
            )
            russian_card = card(guest, "Матрица")
            expect(russian_card.locator(".film-facts")).to_have_text(
                "2 ч 16 мин · боевик, фантастика"
            )
            expect(russian_card.locator("img.poster")).to_have_attribute(
                "src", re.compile(r"^/posters/")
            )
            expect(host.locator(".film-about")).to_have_text(re.compile(r"from Kinopoisk"))
            expect(guest.locator(".film-about")).to_have_text(re.compile(r"с Кинопоиска"))
            expect(host.locator(".film-about")).not_to_contain_text("TMDB")
        finally:
            english.close()
            russian.close()


def test_without_a_provider_nothing_is_credited(
    browser: Browser, server_none: ServerProcess
) -> None:
    context = new_member_context(browser, DESKTOP, "en-US")
    page = context.new_page()
    try:
        create_session(page, server_none.base_url, "Ana", "Friday")
        open_stage(page, "lists")
        page.set_input_files("#import-file", files=[csv_file(FILMS[:3])])
        expect(page.locator("li.candidate")).to_have_count(3)
        expect(page.locator(".film-about")).to_be_hidden()
        expect(page.locator(".film-status")).to_be_hidden()  # nothing is looked up
        expect(page.locator("li.candidate .title-card")).to_have_count(3)
    finally:
        context.close()


@pytest.fixture(scope="module")
def server_none(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(tmp_path_factory.mktemp("no-film-data")) as running:
        yield running
