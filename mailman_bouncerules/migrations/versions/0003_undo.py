"""Undo: what a removal or confirmation changed, and who acted.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'


def upgrade():
    with op.batch_alter_table('bouncerules_event') as batch:
        batch.add_column(sa.Column('snapshot', sa.Text(), nullable=True))
        batch.add_column(sa.Column('actor', sa.String(255), nullable=True))


def downgrade():
    with op.batch_alter_table('bouncerules_event') as batch:
        batch.drop_column('actor')
        batch.drop_column('snapshot')
