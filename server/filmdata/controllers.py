"""``GET /posters/{name}``: the posters the server kept, from our own origin."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import File

from server.errors import ApiError
from server.filmdata.posters import MEDIA_TYPES, PosterStore

__all__ = ["poster"]

CACHE_FOREVER = "public, max-age=31536000, immutable"
"""A name is the hash of its source address: its bytes never change."""


@get("/posters/{name:str}", include_in_schema=False, sync_to_thread=False)
def poster(name: FromPath[str], posters: NamedDependency[PosterStore]) -> File:
    path = posters.path(name)
    if path is None:
        raise ApiError(404, "poster_not_found", "No such poster.")
    return File(
        path,
        media_type=MEDIA_TYPES[path.suffix.lstrip(".")],
        content_disposition_type="inline",
        headers={"Cache-Control": CACHE_FOREVER},
    )
