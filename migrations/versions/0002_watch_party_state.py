"""watch party state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 02:23:19.628518
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fn_party",
        sa.Column("session_id", GUID(length=16), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["fn_session.id"],
            name=op.f("fk_fn_party_session_id_fn_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_fn_party")),
    )


def downgrade() -> None:
    op.drop_table("fn_party")
