"""What the spider yields: one film of a watchlist (public catalogue data only)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FilmItem"]


@dataclass(frozen=True, slots=True)
class FilmItem:
    """One film as a watchlist page shows it; older markup leaves some fields ``None``."""

    title: str
    year: int | None = None
    slug: str | None = None
    lid: str | None = None
    """The ``boxd.it`` short id: the key that links scraped pages and export files."""
    film_id: str | None = None
    """Letterboxd's numeric film id, as a string."""
    poster_url: str | None = None

    @property
    def key(self) -> str:
        """Identity within one crawl (never the title alone: titles repeat)."""
        return self.lid or self.slug or self.film_id or self.title
