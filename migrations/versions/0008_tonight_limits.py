"""the host's limits for tonight, kept with the session

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fn_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("limits", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fn_session", schema=None) as batch_op:
        batch_op.drop_column("limits")
