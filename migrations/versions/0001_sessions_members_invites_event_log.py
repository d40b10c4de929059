"""sessions, members, invites, event log

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 01:05:10.430345
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fn_session',
    sa.Column('id', GUID(length=16), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('host_member_id', GUID(length=16), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', DateTimeUTC(timezone=True), nullable=False),
    sa.Column('last_activity_at', DateTimeUTC(timezone=True), nullable=False),
    sa.Column('ended_at', DateTimeUTC(timezone=True), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fn_session'))
    )
    op.create_table('fn_event',
    sa.Column('session_id', GUID(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['fn_session.id'], name=op.f('fk_fn_event_session_id_fn_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'seq', name=op.f('pk_fn_event'))
    )
    op.create_table('fn_invite',
    sa.Column('id', GUID(length=16), nullable=False),
    sa.Column('session_id', GUID(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', DateTimeUTC(timezone=True), nullable=False),
    sa.Column('expires_at', DateTimeUTC(timezone=True), nullable=True),
    sa.Column('max_members', sa.Integer(), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('revoked_at', DateTimeUTC(timezone=True), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['fn_session.id'], name=op.f('fk_fn_invite_session_id_fn_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fn_invite')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_fn_invite_code_hash'))
    )
    with op.batch_alter_table('fn_invite', schema=None) as batch_op:
        batch_op.create_index('ix_fn_invite_session', ['session_id'], unique=False)

    op.create_table('fn_member',
    sa.Column('id', GUID(length=16), nullable=False),
    sa.Column('session_id', GUID(length=16), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('bot', sa.Boolean(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('joined_at', DateTimeUTC(timezone=True), nullable=False),
    sa.Column('left_at', DateTimeUTC(timezone=True), nullable=True),
    sa.Column('invite_id', GUID(length=16), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['fn_session.id'], name=op.f('fk_fn_member_session_id_fn_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fn_member')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_fn_member_token_hash'))
    )
    with op.batch_alter_table('fn_member', schema=None) as batch_op:
        batch_op.create_index('ix_fn_member_session', ['session_id'], unique=False)

    op.create_table('fn_applied_command',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('session_id', GUID(length=16), nullable=False),
    sa.Column('member_id', GUID(length=16), nullable=False),
    sa.Column('command_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('created_at', DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['fn_member.id'], name=op.f('fk_fn_applied_command_member_id_fn_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['fn_session.id'], name=op.f('fk_fn_applied_command_session_id_fn_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fn_applied_command')),
    sa.UniqueConstraint('member_id', 'command_id', name='uq_fn_applied_command')
    )


def downgrade() -> None:
    op.drop_table('fn_applied_command')
    with op.batch_alter_table('fn_member', schema=None) as batch_op:
        batch_op.drop_index('ix_fn_member_session')

    op.drop_table('fn_member')
    with op.batch_alter_table('fn_invite', schema=None) as batch_op:
        batch_op.drop_index('ix_fn_invite_session')

    op.drop_table('fn_invite')
    op.drop_table('fn_event')
    op.drop_table('fn_session')
