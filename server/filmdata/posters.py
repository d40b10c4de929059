"""Posters, fetched by the server once and served from our own origin.

Members' browsers never contact a provider: the server fetches a poster from the
provider's image host, checks it, keeps it under ``{data_dir}/posters/`` and the
client loads ``/posters/{name}`` (so the CSP stays ``img-src 'self'``).

A poster is kept only when every check passes:

- its address, and every redirect's, is on the provider's image host (scheme, host
  and port; at most :data:`MAX_REDIRECTS` redirects), so a provider's answer cannot
  make the server fetch an address of its choosing;
- the answer is 200 with a ``Content-Type`` of ``image/*``;
- its first bytes are a JPEG, PNG or WebP signature (the type is taken from them,
  not from the header);
- it is at most ``max_bytes``, counted while reading (a missing or false
  ``Content-Length`` changes nothing).

The name is the SHA-256 of the provider's address (32 hex digits) plus the
extension the bytes showed, so the same poster is fetched once, and a name in a
request is checked against :data:`NAME` before it touches the file system.

A poster no catalogue row names any more (its film's details were refreshed with
another poster or none, or the row is gone) is deleted by the periodic sweep
(:meth:`PosterStore.sweep`, run by ``FilmEnricher.run_poster_sweep``).  A file younger
than :data:`SWEEP_GRACE_S` is left alone: a look-up writes its poster before the
transaction that names it commits.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import time
from collections.abc import Collection
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx
import structlog

__all__ = ["NAME", "PosterRefused", "PosterStore", "image_kind"]

NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
MAX_REDIRECTS = 3
SWEEP_GRACE_S = 3600.0
"""A poster file this young is never swept (its row may not be committed yet)."""
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

log = structlog.get_logger(__name__)

RefusalReason = Literal["off_host", "not_image", "too_big", "down"]


class PosterRefused(Exception):
    """A poster that was not kept, and why (a fixed word, never the address)."""

    def __init__(self, reason: RefusalReason) -> None:
        super().__init__(reason)
        self.reason: RefusalReason = reason


def image_kind(head: bytes) -> str | None:
    """``jpg``, ``png`` or ``webp`` from the file's signature; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class PosterStore:
    """The posters directory, and the fetching that fills it."""

    def __init__(self, directory: Path, *, max_bytes: int, timeout_s: float = 10.0) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        # No auth header: image hosts need no key, so the key never leaves for them.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False
        )

    @staticmethod
    def name_for(url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()[:32]

    def path(self, name: str) -> Path | None:
        """The file of a served poster name, or None when the name is not one of ours."""
        if not NAME.match(name):
            return None
        path = self.directory / name
        return path if path.is_file() else None

    def _kept(self, stem: str) -> str | None:
        for extension in MEDIA_TYPES:
            if (self.directory / f"{stem}.{extension}").is_file():
                return f"{stem}.{extension}"
        return None

    async def fetch(self, url: str, image_origin: str) -> str:
        """Keep the poster at ``url`` (once) and return its name; :class:`PosterRefused`."""
        stem = self.name_for(url)
        kept = self._kept(stem)
        if kept is not None:
            return kept
        data, extension = await self._download(url, image_origin.lower())
        name = f"{stem}.{extension}"
        await asyncio.to_thread(self._write, name, data)
        return name

    async def keep(self, url: str | None, image_origin: str | None) -> str | None:
        """:meth:`fetch`, for callers that go on without a poster: the name, or None when
        there is no poster, it was refused (logged) or the disk would not take it."""
        if not url or image_origin is None:
            return None
        try:
            return await self.fetch(url, image_origin)
        except PosterRefused as refused:
            log.info("filmdata.poster_refused", reason=refused.reason)
        except OSError as exc:  # the data dir is full or read-only: details without a poster
            log.warning("filmdata.poster_not_kept", error=type(exc).__name__)
        return None

    async def _download(self, url: str, image_origin: str) -> tuple[bytes, str]:
        for _ in range(MAX_REDIRECTS + 1):
            if _origin(url) != image_origin:
                raise PosterRefused("off_host")
            try:
                async with self._client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code != 200:
                        raise PosterRefused("down")
                    content_type = response.headers.get("content-type", "")
                    if not content_type.lower().startswith("image/"):
                        raise PosterRefused("not_image")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise PosterRefused("too_big")
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > self.max_bytes:
                            raise PosterRefused("too_big")
            except httpx.HTTPError:
                raise PosterRefused("down") from None
            extension = image_kind(bytes(data[:16]))
            if extension is None:
                raise PosterRefused("not_image")
            return bytes(data), extension
        raise PosterRefused("off_host")  # a redirect chain longer than any image host's

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Two look-ups of one poster may finish at once (linked rows, two imports): each
        # writes its own file, and the second rename just replaces identical bytes.
        temporary = self.directory / f".{name}.{secrets.token_hex(8)}.part"
        temporary.write_bytes(data)
        os.replace(temporary, self.directory / name)

    def sweep(self, referenced: Collection[str], *, grace_s: float = SWEEP_GRACE_S) -> int:
        """Delete the posters (and left-over partial files) not in ``referenced``; how many."""
        if not self.directory.is_dir():
            return 0
        cutoff = time.time() - grace_s
        removed = 0
        for path in self.directory.iterdir():
            name = path.name
            ours = NAME.match(name) or (name.startswith(".") and name.endswith(".part"))
            if not ours or name in referenced or not path.is_file():
                continue
            try:
                if path.stat().st_mtime > cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:  # another process swept it first
                continue
            removed += 1
        return removed

    async def aclose(self) -> None:
        await self._client.aclose()
