"""watchlists, catalogue, imports, rounds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 04:07:28.900481
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fn_film",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lid", sa.String(length=16), nullable=True),
        sa.Column("slug", sa.String(length=200), nullable=True),
        sa.Column("imdb_id", sa.String(length=16), nullable=True),
        sa.Column("letterboxd_id", sa.String(length=20), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("poster_url", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fn_film")),
        sa.UniqueConstraint("imdb_id", name=op.f("uq_fn_film_imdb_id")),
        sa.UniqueConstraint("lid", name=op.f("uq_fn_film_lid")),
        sa.UniqueConstraint("slug", name=op.f("uq_fn_film_slug")),
    )
    with op.batch_alter_table("fn_film", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fn_film_title_key"), ["title_key"], unique=False)

    op.create_table(
        "fn_nomination",
        sa.Column("session_id", GUID(length=16), nullable=False),
        sa.Column("film_id", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["film_id"], ["fn_film.id"], name=op.f("fk_fn_nomination_film_id_fn_film")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["fn_session.id"],
            name=op.f("fk_fn_nomination_session_id_fn_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "film_id", name=op.f("pk_fn_nomination")),
    )
    op.create_table(
        "fn_round",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("session_id", GUID(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("due_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("closed_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["fn_session.id"],
            name=op.f("fk_fn_round_session_id_fn_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fn_round")),
    )
    with op.batch_alter_table("fn_round", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fn_round_due_at_ms"), ["due_at_ms"], unique=False)
        batch_op.create_index("ix_fn_round_session", ["session_id"], unique=False)

    op.create_table(
        "fn_import",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("session_id", GUID(length=16), nullable=False),
        sa.Column("member_id", GUID(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("films", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("finished_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["fn_member.id"],
            name=op.f("fk_fn_import_member_id_fn_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["fn_session.id"],
            name=op.f("fk_fn_import_session_id_fn_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fn_import")),
    )
    with op.batch_alter_table("fn_import", schema=None) as batch_op:
        batch_op.create_index("ix_fn_import_member", ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fn_import_session_id"), ["session_id"], unique=False)

    op.create_table(
        "fn_watchlist",
        sa.Column("member_id", GUID(length=16), nullable=False),
        sa.Column("session_id", GUID(length=16), nullable=False),
        sa.Column("kid", sa.String(length=32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("films", sa.Integer(), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["fn_member.id"],
            name=op.f("fk_fn_watchlist_member_id_fn_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["fn_session.id"],
            name=op.f("fk_fn_watchlist_session_id_fn_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_fn_watchlist")),
    )
    with op.batch_alter_table("fn_watchlist", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fn_watchlist_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("fn_watchlist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fn_watchlist_session_id"))

    op.drop_table("fn_watchlist")
    with op.batch_alter_table("fn_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fn_import_session_id"))
        batch_op.drop_index("ix_fn_import_member")

    op.drop_table("fn_import")
    with op.batch_alter_table("fn_round", schema=None) as batch_op:
        batch_op.drop_index("ix_fn_round_session")
        batch_op.drop_index(batch_op.f("ix_fn_round_due_at_ms"))

    op.drop_table("fn_round")
    op.drop_table("fn_nomination")
    with op.batch_alter_table("fn_film", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fn_film_title_key"))

    op.drop_table("fn_film")
