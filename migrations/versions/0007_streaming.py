"""where to stream: films' offers per region, members' region and services

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fn_film", schema=None) as batch_op:
        batch_op.add_column(sa.Column("streaming", sa.JSON(), nullable=True))
    op.create_table(
        "fn_streaming_choice",
        sa.Column("member_id", GUID(length=16), nullable=False),
        sa.Column("session_id", GUID(length=16), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["fn_member.id"],
            name=op.f("fk_fn_streaming_choice_member_id_fn_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["fn_session.id"],
            name=op.f("fk_fn_streaming_choice_session_id_fn_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_fn_streaming_choice")),
    )
    op.create_index(
        op.f("ix_fn_streaming_choice_session_id"),
        "fn_streaming_choice",
        ["session_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_fn_streaming_choice_session_id"), table_name="fn_streaming_choice")
    op.drop_table("fn_streaming_choice")
    with op.batch_alter_table("fn_film", schema=None) as batch_op:
        batch_op.drop_column("streaming")
