"""Open tracking: per-list switch, campaign sizes, opens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'


def upgrade() -> None:
    with op.batch_alter_table('bouncerules_list') as batch:
        batch.add_column(sa.Column('tracking', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('bouncerules_campaign') as batch:
        batch.add_column(sa.Column('recipients', sa.Integer(), nullable=True))
    op.create_table(
        'bouncerules_open',
        sa.Column('campaign_id', sa.Integer(), primary_key=True),
        sa.Column('email', sa.String(255), primary_key=True),
        sa.Column('first_at', sa.DateTime(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False))


def downgrade() -> None:
    op.drop_table('bouncerules_open')
    with op.batch_alter_table('bouncerules_campaign') as batch:
        batch.drop_column('recipients')
    with op.batch_alter_table('bouncerules_list') as batch:
        batch.drop_column('tracking')
