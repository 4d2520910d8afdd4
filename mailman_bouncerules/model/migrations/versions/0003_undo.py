"""Undo, the circuit breaker, shadow mode and the owner report.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Events remember what an undo restores, who acted, and which hold keeps a
decision back; campaigns remember their recipients per domain; holds are
the circuit breaker's trips; lists and member states know shadow mode.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    with op.batch_alter_table('bouncerules_list') as batch:
        batch.add_column(sa.Column('shadow', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('report', sa.String(10), nullable=False,
                                   server_default='off'))
        batch.add_column(sa.Column('last_report_at', sa.DateTime(),
                                   nullable=True))
    with op.batch_alter_table('bouncerules_member') as batch:
        batch.add_column(sa.Column('shadow', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('bouncerules_event') as batch:
        batch.add_column(sa.Column('snapshot', sa.Text(), nullable=True))
        batch.add_column(sa.Column('actor', sa.String(255), nullable=True))
        batch.add_column(sa.Column('hold_id', sa.Integer(), nullable=True))
    op.create_table(
        'bouncerules_campaign_domain',
        sa.Column('campaign_id', sa.Integer(), primary_key=True),
        sa.Column('domain', sa.String(255), primary_key=True),
        sa.Column('recipients', sa.Integer(), nullable=False))
    op.create_table(
        'bouncerules_failures',
        sa.Column('campaign_id', sa.Integer(), primary_key=True),
        sa.Column('domain', sa.String(255), primary_key=True),
        sa.Column('rule', sa.String(100), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False))
    op.create_table(
        'bouncerules_hold',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('list_id', sa.String(255), nullable=False, index=True),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('domain', sa.String(255), nullable=False),
        sa.Column('rule', sa.String(100), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('sample', sa.Text()),
        sa.Column('tripped_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('decided_at', sa.DateTime()),
        sa.Column('actor', sa.String(255)),
        sa.UniqueConstraint('campaign_id', 'domain'))


def downgrade() -> None:
    op.drop_table('bouncerules_hold')
    op.drop_table('bouncerules_failures')
    op.drop_table('bouncerules_campaign_domain')
    with op.batch_alter_table('bouncerules_member') as batch:
        batch.drop_column('shadow')
    with op.batch_alter_table('bouncerules_list') as batch:
        batch.drop_column('last_report_at')
        batch.drop_column('report')
        batch.drop_column('shadow')
    with op.batch_alter_table('bouncerules_event') as batch:
        batch.drop_column('hold_id')
        batch.drop_column('actor')
        batch.drop_column('snapshot')
