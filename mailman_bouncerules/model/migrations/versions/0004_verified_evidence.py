"""Verified evidence: probes, evidence levels, window and cap holds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Events and member states say how far a bounce can be trusted; probes are
the mail that verifies unverified evidence; the circuit breaker keeps
hourly failure counts per list and can hold without a campaign.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'


def upgrade() -> None:
    with op.batch_alter_table('bouncerules_event') as batch:
        batch.add_column(sa.Column('evidence', sa.String(12), nullable=True))
    op.create_index('ix_bouncerules_event_kind', 'bouncerules_event',
                    ['list_id', 'event', 'at'])
    with op.batch_alter_table('bouncerules_member') as batch:
        batch.add_column(sa.Column('last_evidence', sa.String(12),
                                   nullable=True))
    with op.batch_alter_table('bouncerules_hold') as batch:
        batch.alter_column('campaign_id', existing_type=sa.Integer(),
                           nullable=True)
        batch.add_column(sa.Column('scope', sa.String(10), nullable=False,
                                   server_default='campaign'))
    op.create_table(
        'bouncerules_window',
        sa.Column('list_id', sa.String(255), primary_key=True),
        sa.Column('hour', sa.Integer(), primary_key=True),
        sa.Column('bucket', sa.String(10), primary_key=True),
        sa.Column('domain', sa.String(255), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False))
    op.create_table(
        'bouncerules_probe',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('list_id', sa.String(255), nullable=False),
        sa.Column('email', sa.String(255), nullable=False),
        sa.Column('change', sa.String(10), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime()),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('decided_at', sa.DateTime()),
        sa.Column('event_id', sa.Integer()),
        sa.Column('campaign', sa.String(998)))
    op.create_index('ix_bouncerules_probe_open', 'bouncerules_probe',
                    ['status', 'due_at'])
    op.create_index('ix_bouncerules_probe_member', 'bouncerules_probe',
                    ['list_id', 'email'])


def downgrade() -> None:
    op.drop_table('bouncerules_probe')
    op.drop_table('bouncerules_window')
    with op.batch_alter_table('bouncerules_hold') as batch:
        batch.drop_column('scope')
        batch.alter_column('campaign_id', existing_type=sa.Integer(),
                           nullable=False)
    with op.batch_alter_table('bouncerules_member') as batch:
        batch.drop_column('last_evidence')
    op.drop_index('ix_bouncerules_event_kind', 'bouncerules_event')
    with op.batch_alter_table('bouncerules_event') as batch:
        batch.drop_column('evidence')
