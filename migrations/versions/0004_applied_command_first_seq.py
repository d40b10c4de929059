"""an applied command remembers every event it caused (first_seq…seq)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fn_applied_command", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fn_applied_command", schema=None) as batch_op:
        batch_op.drop_column("first_seq")
