"""One pass per bounce: what a bounce needs is on the member's row; what
is old can be pruned by time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

The member's row says when its mail last failed on verified evidence (a
probe of such a member goes first) and when it was last probed, so a
bounce no longer reads the history, nor the probes of a member never
probed, to decide; it counts the unverified bounces its history keeps, so
that their bound costs nothing until a flood reaches it.  History, seen
bounces and probes get an index on their time, so that the runner's
pruning pass deletes old rows in bounded batches whatever the size of the
table.  When the owners were last told of a once-a-day notice is on the
list's row, not a history row of its own; what a circuit-breaker hold
keeps back is in a table of its own, and what a probe waits to carry out
on the probe's row (both were read from history rows).
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'

# EvidenceLevel's verified values, as this revision knew them.
_VERIFIED = "('token', 'smtp', 'probe')"


def upgrade() -> None:
    op.create_table(
        'bouncerules_held',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('hold_id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.String(255), nullable=False),
        sa.Column('email', sa.String(255), nullable=False),
        sa.Column('change', sa.String(10), nullable=False),
        sa.Column('held_at', sa.DateTime(), nullable=False),
        sa.Column('classification', sa.String(10)),
        sa.Column('action', sa.String(12)),
        sa.Column('rule', sa.String(100)),
        sa.Column('reason', sa.String(40)),
        sa.Column('status', sa.String(20)),
        sa.Column('smtp_code', sa.String(3)),
        sa.Column('diagnostic', sa.Text()),
        sa.Column('campaign', sa.String(998)),
        sa.Column('evidence', sa.String(12)))
    op.create_index('ix_bouncerules_held_hold_id', 'bouncerules_held',
                    ['hold_id'])
    # A probe keeps the decision it waits to carry out (it was read from
    # the history row its event_id named).
    kept = (('rule', sa.String(100), 'rule'),
            ('reason', sa.String(40), 'reason'),
            ('classification', sa.String(10), 'classification'),
            ('action', sa.String(12), 'action'),
            ('reply_status', sa.String(20), 'status'),
            ('smtp_code', sa.String(3), 'smtp_code'),
            ('diagnostic', sa.Text(), 'diagnostic'),
            ('evidence', sa.String(12), 'evidence'))
    with op.batch_alter_table('bouncerules_probe') as batch:
        for column, type_, _source in kept:
            batch.add_column(sa.Column(column, type_, nullable=True))
    op.execute('UPDATE bouncerules_probe SET %s' % ', '.join(
        '%s = (SELECT e.%s FROM bouncerules_event e '
        'WHERE e.id = bouncerules_probe.event_id)' % (column, source)
        for column, _type, source in kept))
    with op.batch_alter_table('bouncerules_probe') as batch:
        batch.drop_column('event_id')
    # What open holds keep back was in their history rows ("would remove").
    op.execute(
        'INSERT INTO bouncerules_held (hold_id, list_id, email, change, '
        'held_at, classification, action, rule, reason, status, smtp_code, '
        'diagnostic, campaign, evidence) '
        "SELECT e.hold_id, e.list_id, e.email, CASE WHEN e.detail = "
        "'would remove' THEN 'remove' ELSE 'confirm' END, e.at, "
        'e.classification, e.action, e.rule, e.reason, e.status, '
        'e.smtp_code, e.diagnostic, e.campaign, e.evidence '
        'FROM bouncerules_event e JOIN bouncerules_hold h ON h.id = e.hold_id '
        "WHERE e.event = 'held' AND h.status = 'held' ORDER BY e.id")
    with op.batch_alter_table('bouncerules_member') as batch:
        batch.add_column(sa.Column('verified_failure_at', sa.DateTime(),
                                   nullable=True))
        batch.add_column(sa.Column('probed_at', sa.DateTime(),
                                   nullable=True))
        batch.add_column(sa.Column('unverified_kept', sa.Integer(),
                                   nullable=False, server_default='0'))
    with op.batch_alter_table('bouncerules_list') as batch:
        batch.add_column(sa.Column('budget_told_at', sa.DateTime(),
                                   nullable=True))
        batch.add_column(sa.Column('suspicious_told_at', sa.DateTime(),
                                   nullable=True))
    op.execute(
        'UPDATE bouncerules_member SET verified_failure_at = ('
        'SELECT max(e.at) FROM bouncerules_event e '
        'WHERE e.list_id = bouncerules_member.list_id '
        'AND e.email = bouncerules_member.email '
        "AND e.event = 'bounce' "
        'AND e.evidence IN %s)' % _VERIFIED)
    op.execute(
        'UPDATE bouncerules_member SET probed_at = ('
        'SELECT max(p.created_at) FROM bouncerules_probe p '
        'WHERE p.list_id = bouncerules_member.list_id '
        'AND p.email = bouncerules_member.email)')
    op.execute(
        'UPDATE bouncerules_member SET unverified_kept = ('
        'SELECT count(*) FROM bouncerules_event e '
        'WHERE e.list_id = bouncerules_member.list_id '
        'AND e.email = bouncerules_member.email '
        "AND e.event = 'bounce' AND e.evidence = 'unverified' "
        'AND e.counted = %s)' % ('false' if op.get_context().dialect.name
                                  == 'postgresql' else '0'))
    op.create_index('ix_bouncerules_event_at', 'bouncerules_event', ['at'])
    op.create_index('ix_bouncerules_seen_at', 'bouncerules_seen', ['seen_at'])
    op.create_index('ix_bouncerules_probe_decided', 'bouncerules_probe',
                    ['decided_at'])


def downgrade() -> None:
    with op.batch_alter_table('bouncerules_probe') as batch:
        batch.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        for column in ('rule', 'reason', 'classification', 'action',
                       'reply_status', 'smtp_code', 'diagnostic', 'evidence'):
            batch.drop_column(column)
    op.drop_index('ix_bouncerules_held_hold_id', 'bouncerules_held')
    op.drop_table('bouncerules_held')
    op.drop_index('ix_bouncerules_probe_decided', 'bouncerules_probe')
    op.drop_index('ix_bouncerules_seen_at', 'bouncerules_seen')
    op.drop_index('ix_bouncerules_event_at', 'bouncerules_event')
    with op.batch_alter_table('bouncerules_list') as batch:
        batch.drop_column('suspicious_told_at')
        batch.drop_column('budget_told_at')
    with op.batch_alter_table('bouncerules_member') as batch:
        batch.drop_column('unverified_kept')
        batch.drop_column('probed_at')
        batch.drop_column('verified_failure_at')
