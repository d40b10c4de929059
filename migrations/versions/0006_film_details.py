"""film details from a provider: runtimes, genres, ids, posters, when they were fetched

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fn_film", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tmdb_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("kinopoisk_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("same_as", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("original_title", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("localized_title", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("runtime_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("genres", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("directors", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("overview", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("poster_file", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("details_source", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("details_fetched_at", DateTimeUTC(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_fn_film_tmdb_id"), ["tmdb_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_fn_film_kinopoisk_id"), ["kinopoisk_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fn_film_same_as"), ["same_as"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fn_film", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fn_film_same_as"))
        batch_op.drop_index(batch_op.f("ix_fn_film_kinopoisk_id"))
        batch_op.drop_index(batch_op.f("ix_fn_film_tmdb_id"))
        for column in (
            "details_fetched_at",
            "details_source",
            "poster_file",
            "overview",
            "directors",
            "genres",
            "runtime_minutes",
            "localized_title",
            "original_title",
            "same_as",
            "kinopoisk_id",
            "tmdb_id",
        ):
            batch_op.drop_column(column)
