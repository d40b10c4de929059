"""index the event log by type, so a welcome reads the recent chat in one range

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fn_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fn_event_session_type_seq", ["session_id", "type", "seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("fn_event", schema=None) as batch_op:
        batch_op.drop_index("ix_fn_event_session_type_seq")
