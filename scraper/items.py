"""What the spider yields: one film of a watchlist (public catalogue data only)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FilmItem"]


@dataclass(frozen=True, slots=True)
class FilmItem:
    title: str
    year: int | None = None
    slug: str | None = None
    lid: str | None = None
    """The ``boxd.it`` short id: the key that links scraped pages and export files."""
    film_id: str | None = None
    """Letterboxd's numeric film id."""
    poster_url: str | None = None

    @property
    def key(self) -> str:
        """Identity within one crawl (the list can shift while it is read)."""
        return self.lid or self.slug or self.film_id or self.title
