"""Apply Alembic migrations programmatically (``filmnight db upgrade`` and ``serve``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["MIGRATIONS_DIR", "alembic_config", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``.  Runs its own event loop: call it off the server's loop."""
    if database_url.startswith("sqlite"):
        from server.db.engine import _prepare_sqlite_file

        _prepare_sqlite_file(database_url)
    command.upgrade(alembic_config(database_url), revision)
