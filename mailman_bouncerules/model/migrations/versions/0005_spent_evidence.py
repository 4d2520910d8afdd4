"""Evidence nobody else holds: spent tokens, probe priorities, told holds.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A return or probe token verifies one hard failure, once; probes carry a
priority (members with a history of verified failures first); a hold
records when the owners were told of it (trips after the first of a day
go into one daily digest).
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    op.create_table(
        'bouncerules_spent',
        sa.Column('list_id', sa.String(255), primary_key=True),
        sa.Column('purpose', sa.String(10), primary_key=True),
        sa.Column('ref', sa.Integer(), primary_key=True),
        sa.Column('email', sa.String(255), primary_key=True),
        sa.Column('spent_at', sa.DateTime(), nullable=False))
    with op.batch_alter_table('bouncerules_probe') as batch:
        batch.add_column(sa.Column('priority', sa.Integer(), nullable=False,
                                   server_default='0'))
    op.create_index('ix_bouncerules_probe_address', 'bouncerules_probe',
                    ['email', 'sent_at'])
    with op.batch_alter_table('bouncerules_hold') as batch:
        batch.add_column(sa.Column('told_at', sa.DateTime(), nullable=True))
    # The owners were told of every trip before this revision.
    op.execute('UPDATE bouncerules_hold SET told_at = tripped_at')


def downgrade() -> None:
    with op.batch_alter_table('bouncerules_hold') as batch:
        batch.drop_column('told_at')
    op.drop_index('ix_bouncerules_probe_address', 'bouncerules_probe')
    with op.batch_alter_table('bouncerules_probe') as batch:
        batch.drop_column('priority')
    op.drop_table('bouncerules_spent')
