"""film titles and overviews in each web-client language (read in each member's language)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fn_film", schema=None) as batch_op:
        batch_op.add_column(sa.Column("titles", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("overviews", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fn_film", schema=None) as batch_op:
        batch_op.drop_column("overviews")
        batch_op.drop_column("titles")
