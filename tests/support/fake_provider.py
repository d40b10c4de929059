"""What the fake TMDb and Kinopoisk servers share: a real HTTP server on a free loopback
port, the films they know, and switches that make them misbehave as real providers do.

Each fake answers its provider's documented JSON (see ``fake_tmdb.py`` and
``fake_kinopoisk.py``).  Switches, set on :attr:`FakeProvider.switches` while a test runs:

- ``rate_limit``: the next N API requests answer 429 with ``Retry-After: retry_after``;
- ``per_second``: at most this many API requests answered in any second (0: no
  limit), as TMDb does (about 40 a second); beyond it 429 with ``Retry-After``, the
  whole seconds until the oldest request of the window leaves it (counted in
  :attr:`FakeProvider.limited`; refused requests do not fill the window);
- ``quota``: every API request answers the provider's quota refusal;
- ``hang``: API requests are read and never answered (until the server stops);
- ``html`` / ``empty``: API requests answer 200 with an HTML page / an empty body;
- ``huge``: API requests answer 200 with 3 MiB of JSON and no ``Content-Length``;
- ``broken``: film (``tmdb_id``) → fields replaced in that film's answers
  (``{"runtime": -5}``; :data:`DROP` removes a field);
- ``slow``: film (``tmdb_id``) → seconds its details (TMDb's ``/3/movie/{id}``) take at
  most: setting :attr:`FakeProvider.release` answers them at once;
- ``posters``: film (``tmdb_id``) → ``"not_image"`` (HTML sent as ``image/jpeg``), ``"text"``
  (a ``text/html`` answer), ``"too_big"`` (``big_poster_bytes`` of JPEG, no
  ``Content-Length``), ``"redirect_off_host"`` (a 302 to another host) or
  ``"redirect_same_host"`` (a 302 to the same host's real poster).

Every request is recorded (path, query and headers) so tests can count calls and
check what was sent.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "DROP",
    "JPEG",
    "PNG",
    "WEBP",
    "Answer",
    "FakeMovie",
    "FakeProvider",
    "Recorded",
    "Switches",
    "png_image",
    "serve",
]

DROP: Any = object()
"""A ``broken`` value that removes the field from the answer."""
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
WEBP = b"RIFF\x00\x01\x00\x00WEBPVP8 " + b"\x00" * 200


def png_image(width: int, height: int, seed: int = 0) -> bytes:
    """A real PNG (8-bit RGB) any decoder opens: bands of colour that vary with ``seed``.

    A poster-sized one (342 × 513, TMDb's ``w342``) is a few kilobytes: small, but the
    bytes a browser would draw.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        band = (y * 8 // max(height, 1) + seed) % 8
        red, green, blue = (
            (band * 31 + seed * 17) % 256,
            (y + seed * 7) % 256,
            (255 - band * 29) % 256,
        )
        stripes = b"".join(
            bytes((red, green, (blue + k) % 256)) * 16 for k in range(width // 16 + 1)
        )
        rows.append(0)  # filter: none
        rows += stripes[: width * 3]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class FakeMovie:
    """A film both fakes can describe (TMDb by ``tmdb_id``, Kinopoisk by ``kinopoisk_id``)."""

    tmdb_id: int
    title: str
    year: int
    original_title: str | None = None
    title_ru: str | None = None
    runtime: int = 100
    genres: tuple[str, ...] = ("Drama",)
    overview: str = "A film."
    overview_ru: str | None = None
    directors: tuple[str, ...] = ("A. Director",)
    imdb_id: str | None = None
    kinopoisk_id: int | None = None
    poster: bytes | None = JPEG
    streaming: tuple[tuple[str, str, tuple[int, ...]], ...] = ()
    """Where TMDb's watch providers say it is: ``(region, "flatrate"|"rent"|"buy", ids)``."""


@dataclass
class Switches:
    rate_limit: int = 0
    retry_after: str = "0"
    per_second: int = 0
    quota: bool = False
    hang: bool = False
    html: bool = False
    empty: bool = False
    huge: bool = False
    broken: dict[int, dict[str, Any]] = field(default_factory=dict)
    posters: dict[int, str] = field(default_factory=dict)
    slow: dict[int, float] = field(default_factory=dict)
    big_poster_bytes: int = 3 * 1024 * 1024


@dataclass(frozen=True)
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float = 0.0
    """When it arrived (``time.monotonic()``)."""


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True
    """Send ``Content-Length`` (else the body ends when the connection closes)."""

    @classmethod
    def json(cls, status: int, value: object, **headers: str) -> Answer:
        return cls(status, json.dumps(value, ensure_ascii=False).encode(), headers=headers)


class FakeProvider:
    """A provider's fake: subclasses answer :meth:`api` and :meth:`poster_path`."""

    api_prefix = "/"
    """Paths under this prefix are API calls (the switches apply to them)."""

    def __init__(self, films: list[FakeMovie], key: str) -> None:
        self.films = list(films)
        self.key = key
        self.switches = Switches()
        self.requests: list[Recorded] = []
        self.release = threading.Event()
        """Set: the ``slow`` films' answers wait no longer."""
        self.limited = 0
        """API requests refused with 429 by the ``per_second`` limit."""
        self._window: list[float] = []
        """Start times (monotonic) of the API requests answered within the last second."""
        self.base_url = ""
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # -- for subclasses
    def authorized(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def refused(self, status: int) -> Answer:
        raise NotImplementedError

    def api(self, path: str, query: dict[str, str]) -> Answer:
        raise NotImplementedError

    def poster_film(self, path: str) -> FakeMovie | None:
        """The film whose poster ``path`` is, or None when ``path`` is not a poster."""
        raise NotImplementedError

    # -- shared
    def api_calls(self, prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(self.api_prefix + prefix)]

    def delay(self, film_id: int) -> None:
        """Hold this answer for the ``slow`` switch's seconds (other requests go on)."""
        seconds = self.switches.slow.get(film_id, 0.0)
        if seconds > 0:
            self.release.wait(seconds)

    def busiest_second(self) -> int:
        """The most API requests received within any one second (refused ones included)."""
        times = sorted(r.at for r in self.api_calls())
        most, start = 0, 0
        for end, now in enumerate(times):
            while times[start] <= now - 1.0:
                start += 1
            most = max(most, end - start + 1)
        return most

    def film_fields(self, film_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """``fields`` with the ``broken`` switch's replacements (:data:`DROP` removes one)."""
        merged = {**fields, **self.switches.broken.get(film_id, {})}
        return {k: v for k, v in merged.items() if v is not DROP}

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        with self._lock:
            self.requests.append(Recorded(path, query, headers, time.monotonic()))
        film = self.poster_film(path)
        if film is not None or not path.startswith(self.api_prefix):
            return self._poster(film, path)
        switches = self.switches
        if switches.hang:
            self._stop.wait(60)
            return Answer(503)
        if not self.authorized(headers):
            return self.refused(401)
        if switches.quota:
            return self.refused(402)
        with self._lock:
            limited = switches.rate_limit > 0
            if limited:
                switches.rate_limit -= 1
        if limited:
            answer = self.refused(429)
            answer.headers["Retry-After"] = switches.retry_after
            return answer
        wait_s = self._over_limit(switches.per_second)
        if wait_s is not None:
            answer = self.refused(429)
            answer.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
            return answer
        if switches.html:
            return Answer(200, b"<html><body>Service temporarily down</body></html>", "text/html")
        if switches.empty:
            return Answer(200, b"")
        if switches.huge:
            padding = b'"' + b"x" * (3 * 1024 * 1024) + b'"'
            return Answer(200, b'{"results": [], "padding": ' + padding + b"}", length=False)
        return self.api(path, query)

    def _over_limit(self, per_second: int) -> float | None:
        """None when this request fits in the last second's ``per_second``; else the wait."""
        if per_second <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            window = self._window
            while window and window[0] <= now - 1.0:
                window.pop(0)
            if len(window) >= per_second:
                self.limited += 1
                return window[0] + 1.0 - now
            window.append(now)
        return None

    def _poster(self, film: FakeMovie | None, path: str) -> Answer:
        if film is None or film.poster is None:
            return Answer(404, b"not found", "text/plain")
        mode = self.switches.posters.get(film.tmdb_id, "")
        if mode == "not_image":
            return Answer(200, b"<html>" + b"x" * 300 + b"</html>", "image/jpeg")
        if mode == "text":
            return Answer(200, film.poster, "text/html")
        if mode == "too_big":
            body = film.poster + b"\x00" * self.switches.big_poster_bytes
            return Answer(200, body, "image/jpeg", length=False)
        if mode == "redirect_off_host":
            return Answer(302, b"", "text/plain", {"Location": "http://images.example.net/p.jpg"})
        if mode == "redirect_same_host" and not path.endswith("/moved"):
            return Answer(302, b"", "text/plain", {"Location": path + "/moved"})
        content_type = {b"\x89P": "image/png", b"RI": "image/webp"}.get(
            film.poster[:2], "image/jpeg"
        )
        return Answer(200, film.poster, content_type)


def _handler(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = fake.answer(parts.path, query, headers)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.length:
                    self.send_header("Content-Length", str(len(answer.body)))
                else:
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a too-big poster, a timeout)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


Fake = TypeVar("Fake", bound=FakeProvider)


@contextlib.contextmanager
def serve(fake: Fake) -> Iterator[Fake]:
    """Run ``fake`` on a free 127.0.0.1 port until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake._stop.set()
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
