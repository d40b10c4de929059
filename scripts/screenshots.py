"""Screenshots of every stage, desktop and phone, English and Russian, for the README.

    ./scripts/screenshots            (or: uv run python scripts/screenshots.py [--out DIR])

Starts ``filmnight serve`` on the embedded default (SQLite, in-memory channels) on a free
127.0.0.1 port with a temporary data dir, then drives a host on a desktop (1280×800) and
two friends, one on a phone (390×844, touch), through Invite → Lists → Pick (a match, and
its celebration) → Watch, once per language, and writes a PNG of each stage for each
screen size to ``docs/screenshots/{lang}-{n}-{stage}-{desktop|phone}.png``.  The PNGs are
taken at device scale 1 and reduced to 256 colours with Pillow (in the locked environment),
so twenty of them stay near 2 MB.  Film details come from the tests' local fake TMDb
(``tests/support/fake_tmdb.py``) with made-up posters (two-colour PNGs), runtimes, genres,
directors and one-line summaries, so nothing is fetched from outside this machine; one
film is unknown to it and keeps the client's title card.  The chat's emoji need an emoji
font on the machine (Debian: fonts-noto-color-emoji).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.friday import (
    DESKTOP,
    PHONE,
    celebration,
    create_session,
    join_session,
    new_member_context,
    open_stage,
    stage,
    start_match,
    upload_list,
    watch_it_together,
)
from tests.support.fake_provider import FakeMovie
from tests.support.fake_tmdb import fake_tmdb
from tests.support.poster_images import poster_png
from tests.support.server_process import server_process

REPO = Path(__file__).resolve().parents[1]
# Invite links as a real deployment shows them (not this run's random port); the script
# itself opens them on the local server.
PUBLIC_URL = "https://filmnight.example"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# (title, year, Letterboxd id): made-up ids, real titles.
FILMS = [
    ("Paddington 2", 2017, "pad2"),
    ("Spirited Away", 2001, "spra"),
    ("Heat", 1995, "29Vo"),
    ("Parasite", 2019, "hTha"),
    ("Alien", 1979, "2b3S"),
    ("In the Mood for Love", 2000, "itmf"),
    ("Stalker", 1979, "stlk"),
    ("Moonlight", 2016, "mnlt"),
    ("The Thing", 1982, "thng"),
    ("Amélie", 2001, "amel"),
    ("Brief Encounter", 1945, "brfe"),
    ("Solaris", 1972, "1Qeq"),
]


# What the fake TMDb says of them: Russian title, minutes, genres, director, a summary of our
# own, and the poster's two colours (the Russian summaries are in SUMMARIES_RU).
# "Brief Encounter" is left out: it stays a title card.
DETAILS = {
    "Paddington 2": ("Приключения Паддингтона 2", 104, ("Comedy", "Family", "Adventure"),
                     "Paul King", "A bear takes odd jobs to buy a pop-up book.", (196, 120, 40)),
    "Spirited Away": ("Унесённые призраками", 125, ("Animation", "Family", "Fantasy"),
                      "Hayao Miyazaki", "A girl works in a bathhouse for spirits.", (170, 70, 70)),
    "Heat": ("Схватка", 170, ("Crime", "Drama", "Action"),
             "Michael Mann", "A detective and a thief, each the best at it.", (50, 70, 130)),
    "Parasite": ("Паразиты", 133, ("Comedy", "Thriller", "Drama"),
                 "Bong Joon Ho", "A poor family finds work in a rich one's house.", (40, 110, 70)),
    "Alien": ("Чужой", 117, ("Horror", "Science Fiction"),
              "Ridley Scott", "A cargo crew answers a distress call.", (30, 90, 90)),
    "In the Mood for Love": ("Любовное настроение", 98, ("Drama", "Romance"),
                             "Wong Kar-wai", "Two neighbours, two absent spouses.", (150, 30, 40)),
    "Stalker": ("Сталкер", 162, ("Science Fiction", "Drama"),
                "Andrei Tarkovsky", "A guide leads two men through the Zone.", (100, 110, 60)),
    "Moonlight": ("Лунный свет", 111, ("Drama",),
                  "Barry Jenkins", "One life in three chapters, in Miami.", (40, 60, 150)),
    "The Thing": ("Нечто", 109, ("Horror", "Science Fiction", "Mystery"),
                  "John Carpenter", "At a polar station, anyone may be it.", (70, 120, 150)),
    "Amélie": ("Амели", 122, ("Comedy", "Romance"),
               "Jean-Pierre Jeunet", "A waitress quietly mends lives.", (160, 40, 50)),
    "Solaris": ("Солярис", 167, ("Science Fiction", "Drama"),
                "Andrei Tarkovsky", "A station above an ocean that remembers.", (60, 60, 140)),
}  # fmt: skip


SUMMARIES_RU = {
    "Paddington 2": "Медвежонок берётся за любую работу, чтобы купить книжку-раскладушку.",
    "Spirited Away": "Девочка работает в купальне для духов.",
    "Heat": "Сыщик и вор, каждый — лучший в своём деле.",
    "Parasite": "Бедная семья устраивается работать в дом богатой.",
    "Alien": "Экипаж грузового корабля откликается на сигнал бедствия.",
    "In the Mood for Love": "Двое соседей и их вечно отсутствующие супруги.",
    "Stalker": "Проводник ведёт двоих через Зону.",
    "Moonlight": "Одна жизнь в трёх главах, в Майами.",
    "The Thing": "На полярной станции им может оказаться кто угодно.",
    "Amélie": "Официантка тихо чинит чужие жизни.",
    "Solaris": "Станция над океаном, который помнит.",
}


# The first cards' posters have loaded (further ones load lazily, when scrolled to).
POSTERS_SHOWN = """() => [...document.querySelectorAll("li.candidate img.poster")]
    .slice(0, 3).every((img) => img.complete && img.naturalWidth > 0)"""


def fake_films() -> list[FakeMovie]:
    films = []
    for number, (title, year, _) in enumerate(FILMS, 1):
        if title not in DETAILS:
            continue
        russian, minutes, genres, director, summary, colour = DETAILS[title]
        dark = (colour[0] // 6, colour[1] // 6, colour[2] // 6)
        films.append(FakeMovie(
            tmdb_id=number, title=title, year=year or 2000, title_ru=russian, runtime=minutes,
            genres=genres, directors=(director,), overview=summary,
            overview_ru=SUMMARIES_RU.get(title),
            poster=poster_png(colour, dark),
        ))  # fmt: skip
    return films


@dataclass(frozen=True)
class Cast:
    locale: str
    title: str
    names: tuple[str, str, str]
    chat: tuple[str, str]


CASTS = {
    "en": Cast("en-US", "Friday film night", ("Ana", "Ben", "Cleo"), ("Popcorn's on me", "🍿🍿")),
    "ru": Cast("ru-RU", "Кино в пятницу", ("Аня", "Борис", "Вера"), ("Попкорн с меня", "🍿🍿")),
}


def shoot(page: Page, out: Path, name: str) -> Path:
    # Let transitions (the stage switch, the notice) settle; no caret, no animation.
    page.wait_for_timeout(450)
    path = out / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    # 256 colours (an octree palette, so small areas keep their own colour), dithered so the
    # gradients do not band: about 40 % of the bytes.
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    palette = rgb.quantize(256, Image.Quantize.FASTOCTREE)
    small = rgb.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
    small.save(path, optimize=True)
    return path


def night(browser: Browser, base_url: str, lang: str, out: Path) -> list[Path]:
    cast = CASTS[lang]
    host_ctx = new_member_context(browser, DESKTOP, cast.locale)
    phone_ctx = new_member_context(browser, PHONE, cast.locale)
    third_ctx = new_member_context(browser, DESKTOP, cast.locale)
    host, phone, third = host_ctx.new_page(), phone_ctx.new_page(), third_ctx.new_page()
    shots: list[Path] = []

    def both(number: int, name: str) -> None:
        for page, size in ((host, "desktop"), (phone, "phone")):
            page.evaluate("window.scrollTo(0, 0)")
            shots.append(shoot(page, out, f"{lang}-{number}-{name}-{size}"))

    invite = create_session(host, base_url, cast.names[0], cast.title)
    invite = invite.replace(PUBLIC_URL, base_url, 1)
    join_session(phone, invite, cast.names[1])
    join_session(third, invite, cast.names[2])
    expect(host.locator(".member")).to_have_count(3)
    open_stage(phone, "invite")
    both(1, "invite")

    # Lists: the host and the phone friend have imported, the third is about to.
    open_stage(host, "lists")
    open_stage(phone, "lists")
    upload_list(host, FILMS[:10])
    upload_list(phone, FILMS[2:12])
    upload_list(third, [*FILMS[:6], FILMS[8]])
    expect(host.locator(".film-status-text")).not_to_contain_text("…", timeout=60_000)
    host.wait_for_function(POSTERS_SHOWN)
    phone.locator("#chat-input").fill(cast.chat[0])
    phone.locator("#chat-input").press("Enter")
    third.locator("#chat-input").fill(cast.chat[1])
    third.locator("#chat-input").press("Enter")
    expect(host.locator(".chat-log li")).to_have_count(2)
    both(2, "lists")

    # Pick: a match round; everyone is taken to its first card.
    start_match(host, 6)
    for page in (host, phone, third):
        expect(stage(page)).to_have_attribute("data-stage", "pick")
        expect(page.locator(".swipe-card")).to_be_visible()
    both(3, "pick")
    phone.locator(".deck .yes").click()
    host.locator(".deck .yes").click()
    third.locator(".deck .yes").click()
    for page in (host, phone):
        expect(celebration(page)).to_be_visible()
    shots.append(shoot(host, out, f"{lang}-4-match-desktop"))
    shots.append(shoot(phone, out, f"{lang}-4-match-phone"))

    # Watch: everyone follows the host there; all ready, the countdown, then the film runs.
    for page in (phone, third):
        celebration(page).locator("button").click()
    watch_it_together(host)
    for page in (host, phone, third):
        expect(stage(page)).to_have_attribute("data-stage", "watch")
        page.locator(".ready-row button").click()
    expect(phone.locator(".start-now")).not_to_have_text("", timeout=15_000)
    host.wait_for_timeout(2200)  # a running clock, not 0:00
    both(5, "watch")
    for context in (host_ctx, phone_ctx, third_ctx):
        context.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--langs", default="en,ru", help="comma-separated: en,ru")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not on PATH")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        fake_tmdb(fake_films()) as tmdb,
        server_process(
            Path(tmp),
            {
                "FILMNIGHT_PUBLIC_URL": PUBLIC_URL,
                "FILMNIGHT_FILM_DATA": "tmdb",
                "FILMNIGHT_TMDB_URL": tmdb.base_url,
                "FILMNIGHT_FILM_DATA_KEY": tmdb.key,
            },
        ) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        for lang in args.langs.split(","):
            shots += night(browser, server.base_url, lang.strip(), out)
        browser.close()
    total = 0
    for path in shots:
        size = path.stat().st_size
        total += size
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}  {size:>9,} B")
    print(f"{len(shots)} screenshots, {total:,} bytes")


if __name__ == "__main__":
    main()
